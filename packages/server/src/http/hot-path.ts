import { isUtf8 } from "node:buffer";
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ValidateFunction } from "ajv";
import sjson from "secure-json-parse";
import { bearerToken } from "./bearer.js";
import { validationError } from "./error-handler.js";
import { AppError, type ErrorBody } from "./errors.js";
import type { DeviceCaller, RequestContext, RouteDefinition } from "./route.js";
import { compileBodyValidator, findNulString, mayHoldNul } from "./validation.js";

/**
 * The agents' check-in is most of the server's traffic (a fleet of 100,000 checks in 1,700 times a
 * second). For the common case — a device token this process already knows, a JSON body of the
 * usual size — the hot path serves a route declared `hotPath` directly on the HTTP server: the
 * route's own authenticator, body schema and handler, the same headers and error shape, without
 * the framework's per-request machinery. Anything else (a token not yet cached, another device's
 * id, an unusual request) goes to the framework untouched, before a byte of the body is read.
 */
export interface HotPathDeps {
  routes: readonly RouteDefinition[];
  /** The device of a token this process already knows, for that device id; otherwise null. */
  cachedDevice(token: string, deviceId: string): DeviceCaller | null;
  headers: Readonly<Record<string, string>>;
  bodyLimit: number;
  /** While the server shuts down the framework answers, so connections close as they should. */
  closing(): boolean;
  /** An unexpected failure: logged with the request id, answered as a 500 without detail. */
  onError(error: unknown, requestId: string): void;
}

interface HotRoute {
  route: RouteDefinition;
  method: string;
  pattern: RegExp;
  params: string[];
  validate: ValidateFunction | null;
  bodyLimit: number;
}

function compile(route: RouteDefinition, bodyLimit: number): HotRoute {
  const params: string[] = [];
  const source = route.url.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/:(\w+)/g, (_m, name: string) => {
    params.push(name);
    return "([0-9a-fA-F-]{36})";
  });
  return {
    route,
    method: route.method,
    pattern: new RegExp(`^${source}$`),
    params,
    validate: route.schema.body ? compileBodyValidator(route.schema.body) : null,
    bodyLimit: route.bodyLimit ?? bodyLimit,
  };
}

/** Takes a request (true) or leaves it to the framework (false); counts what it took. */
export interface HotPath {
  take(request: IncomingMessage, response: ServerResponse): boolean;
  readonly stats: { taken: number };
}

export function createHotPath(deps: HotPathDeps): HotPath {
  const routes = deps.routes.filter((r) => r.hotPath !== undefined).map((r) => compile(r, deps.bodyLimit));
  const stats = { taken: 0 };
  const take = (request: IncomingMessage, response: ServerResponse): boolean => {
    if (routes.length === 0 || deps.closing()) return false;
    const hot = routes.find((r) => r.method === request.method && r.pattern.test(request.url ?? ""));
    if (!hot) return false;
    const length = Number(request.headers["content-length"]);
    const type = request.headers["content-type"] ?? "";
    if (!Number.isInteger(length) || length > hot.bodyLimit || !/^application\/json(;|$)/i.test(type))
      return false;
    const token = bearerToken(request.headers.authorization);
    const match = hot.pattern.exec(request.url ?? "");
    const params = Object.fromEntries(hot.params.map((name, i) => [name, match?.[i + 1] ?? ""]));
    const device = token === null ? null : deps.cachedDevice(token, params.deviceId ?? "");
    if (device === null) return false;
    stats.taken++;
    void serve(deps, hot, request, response, device, params);
    return true;
  };
  return { take, stats };
}

async function serve(
  deps: HotPathDeps,
  hot: HotRoute,
  request: IncomingMessage,
  response: ServerResponse,
  device: DeviceCaller,
  params: Record<string, string>,
): Promise<void> {
  const requestId = randomUUID();
  try {
    const raw = await readBody(request, hot.bodyLimit);
    const text = raw.toString("utf8");
    const body = parse(raw, text);
    const nul = mayHoldNul(text) ? findNulString(body) : null;
    if (nul !== null)
      throw new AppError("request.invalid", {
        field: `body${nul}`,
        message: "Text may not contain NUL characters.",
      });
    if (hot.validate && !hot.validate(body)) throw validationError(hot.validate.errors ?? [], "body");
    const ctx: RequestContext = {
      requestId,
      ip: request.socket.remoteAddress ?? null,
      userAgent: request.headers["user-agent"]?.slice(0, 500) ?? null,
      actor: { type: "device", id: device.deviceId },
      user: null,
      session: null,
      organizationId: device.organizationId,
      role: null,
      device,
    };
    const serveRoute = hot.route.hotPath;
    if (!serveRoute) throw new Error("a hot route without its hot handler");
    const result = await serveRoute({ params, query: undefined, body, ctx });
    send(deps, response, requestId, hot.route.successStatus ?? 200, JSON.stringify(result));
  } catch (error) {
    const appError = error instanceof AppError ? error : new AppError("internal");
    if (!(error instanceof AppError)) deps.onError(error, requestId);
    const answer: ErrorBody = {
      error: {
        code: appError.code,
        message: appError.message,
        ...(appError.field ? { field: appError.field } : {}),
        requestId,
      },
    };
    send(deps, response, requestId, appError.status, JSON.stringify(answer));
  }
}

function send(
  deps: HotPathDeps,
  response: ServerResponse,
  requestId: string,
  status: number,
  text: string,
): void {
  if (response.headersSent || response.destroyed) return;
  response.writeHead(status, {
    ...deps.headers,
    "x-request-id": requestId,
    "cache-control": "no-store",
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
  });
  response.end(text);
}

function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        request.destroy();
        reject(new AppError("request.body_too_large", { field: "body" }));
      } else chunks.push(chunk);
    });
    request.on("end", () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
    request.on("error", reject);
  });
}

/** JSON as the framework parses it: UTF-8 only, and no prototype-poisoning keys. */
function parse(raw: Buffer, text: string): unknown {
  if (!isUtf8(raw)) throw new AppError("request.invalid_encoding", { field: "body" });
  try {
    return sjson.parse(text, undefined, { protoAction: "error", constructorAction: "error" });
  } catch {
    throw new AppError("request.malformed_json", { field: "body" });
  }
}
