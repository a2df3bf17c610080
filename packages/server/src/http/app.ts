import { isUtf8 } from "node:buffer";
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ServerOptions } from "node:https";
import { createServer as createHttpsServer } from "node:https";
import cookie from "@fastify/cookie";
import swagger from "@fastify/swagger";
import { actionKind, isAction } from "@patchpilot/domain";
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from "fastify";
import type { Config } from "../config/config.js";
import type { Database } from "../db/database.js";
import { authenticate, type DeviceAuthenticator } from "./authenticate.js";
import { handleError, handleFrameworkError, handleNotFound } from "./error-handler.js";
import { ErrorSchema } from "./error-schema.js";
import { AppError } from "./errors.js";
import { createHotPath } from "./hot-path.js";
import {
  type DeviceCaller,
  isAgentPermission,
  isStateChanging,
  type RegisteredRoute,
  type RequestContext,
  type RouteDefinition,
} from "./route.js";
import { securityHeaders } from "./security-headers.js";
import { findNulString, mayHoldNul, validatorCompiler } from "./validation.js";

declare module "fastify" {
  interface FastifyContextConfig {
    route?: RouteDefinition;
  }
  interface FastifyRequest {
    ctx: RequestContext;
    /** Whether the raw JSON body spells a NUL (`\u0000`); only then is the parsed body searched. */
    bodyMayHoldNul: boolean;
  }
  interface FastifyInstance {
    /** Every route, as the router registered it (the isolation and audit tests walk this). */
    readonly routeCatalog: RegisteredRoute[];
    /** How many requests the hot path answered (null without HTTPS: in-process tests). */
    readonly hotPathStats: { taken: number } | null;
  }
}

export interface AppDeps {
  db: Database;
  config: Config;
  /** TLS for the listener; omitted in tests that call the app in-process. */
  https?: ServerOptions;
  /** Log destination; the default is standard output. */
  logStream?: NodeJS.WritableStream;
  /** Checks device tokens on agent routes (the devices capability provides it). */
  deviceAuthenticator?: DeviceAuthenticator;
  /** The device a token belongs to, when this process already knows it (the hot path serves only those). */
  cachedDevice?: (token: string, deviceId: string) => DeviceCaller | null;
}

export type App = FastifyInstance;

const REDACTED_PATHS = [
  "req.headers.cookie",
  "req.headers.authorization",
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
];

/** Builds the HTTP application from the capabilities' route lists. */
export async function buildApp(deps: AppDeps, routes: RouteDefinition[]): Promise<App> {
  const { config } = deps;
  const headers = securityHeaders();
  let closing = false;
  const options = {
    logger: {
      level: config.logLevel,
      redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
      ...(deps.logStream ? { stream: deps.logStream } : {}),
    },
    genReqId: () => randomUUID(),
    trustProxy: config.trustedProxies.length > 0 ? [...config.trustedProxies] : false,
    bodyLimit: config.bodyLimit,
    ...(deps.https
      ? {
          serverFactory: httpsWithHotPath(
            deps,
            routes,
            headers,
            () => closing,
            () => appLog,
            (s) => (hotStats = s),
          ),
        }
      : {}),
    return503OnClosing: true,
    forceCloseConnections: "idle" as const,
    routerOptions: { maxParamLength: 200 },
    // Requests the router itself refuses (over-long or badly encoded paths) get the same error
    // shape and headers as every other answer, and echo nothing back.
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) =>
      handleFrameworkError(error, request, reply),
  };
  let appLog: FastifyInstance["log"] | null = null;
  let hotStats: { taken: number } | null = null;
  const app = Fastify(options) as unknown as FastifyInstance;
  appLog = app.log;
  app.decorate("hotPathStats", { getter: () => hotStats });
  const catalog: RegisteredRoute[] = [];
  app.decorate("routeCatalog", catalog);
  app.decorateRequest("ctx", null as unknown as RequestContext);
  app.decorateRequest("bodyMayHoldNul", false);
  app.setValidatorCompiler(validatorCompiler);
  // JSON only: a text/plain body is refused as an unsupported media type, not parsed as a string.
  app.removeContentTypeParser("text/plain");
  // Bytes that are not UTF-8 would otherwise be decoded into U+FFFD and stored as if sent so.
  const parseJson = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (request, body, done) => {
    const bytes = body as Buffer;
    if (!isUtf8(bytes)) {
      done(new AppError("request.invalid_encoding", { field: "body" }), undefined);
      return;
    }
    const text = bytes.toString("utf8");
    request.bodyMayHoldNul = mayHoldNul(text);
    parseJson(request, text, done);
  });
  // Form bodies only for the route that declares another site posts it a form (SAML's assertion
  // consumer); everywhere else a form is an unsupported media type, as before.
  app.addContentTypeParser(
    "application/x-www-form-urlencoded",
    { parseAs: "buffer" },
    (request, body, done) => {
      if (!request.routeOptions.config.route?.crossOriginForm) {
        done(new AppError("request.unsupported_media_type", { field: "body" }), undefined);
        return;
      }
      const bytes = body as Buffer;
      if (!isUtf8(bytes)) {
        done(new AppError("request.invalid_encoding", { field: "body" }), undefined);
        return;
      }
      const fields: Record<string, string> = {};
      for (const [name, value] of new URLSearchParams(bytes.toString("utf8"))) {
        if (Object.hasOwn(fields, name)) {
          done(
            new AppError("request.invalid", { field: `body/${name}`, message: `${name} is given twice.` }),
            undefined,
          );
          return;
        }
        fields[name] = value;
        if (value.includes("\u0000") || name.includes("\u0000")) request.bodyMayHoldNul = true;
      }
      done(null, fields);
    },
  );

  // Every route declares who may call it; one that does not is refused at start.
  app.addHook("onRoute", (options) => {
    if (options.method === "HEAD") return;
    const route = options.config?.route;
    if (!route)
      throw new Error(`route ${String(options.method)} ${options.url} does not declare a permission`);
    assertPermissionFits(route);
    catalog.push({ method: route.method, url: route.url, route });
  });

  await app.register(cookie);
  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "PatchPilot API",
        version: "1",
        description: "Patch and vulnerability management. Every answer is JSON; errors share one shape.",
      },
      components: {
        securitySchemes: {
          session: { type: "apiKey", in: "cookie", name: "__Host-pp_session" },
          csrf: { type: "apiKey", in: "header", name: "X-CSRF-Token" },
          deviceToken: {
            type: "http",
            scheme: "bearer",
            description: "An agent's device token (ppdt_…); enrolment uses an enrolment token (ppk_…).",
          },
          apiToken: {
            type: "http",
            scheme: "bearer",
            description:
              "An organisation's API token (ppat_…) as `Authorization: Bearer ppat_…`: organisation routes only, with the token's role; no CSRF token.",
          },
        },
      },
    },
  });

  app.addHook("onRequest", async (request, reply) => {
    reply.headers(headers);
    reply.header("x-request-id", request.id);
    reply.header("cache-control", "no-store");
    const route = request.routeOptions.config.route;
    if (route) request.ctx = await authenticate(deps, request, route);
  });
  app.addHook("preValidation", async (request) => {
    const inBody = request.bodyMayHoldNul ? findNulString(request.body) : null;
    const inQuery = inBody === null ? findNulString(request.query) : null;
    const field = inBody !== null ? `body${inBody}` : inQuery !== null ? `querystring${inQuery}` : null;
    if (field !== null) {
      throw new AppError("request.invalid", { field, message: "Text may not contain NUL characters." });
    }
  });
  // While shutting down, answers close their connection so that keep-alive clients let go and
  // the server can stop as soon as the requests in flight are answered.
  app.addHook("preClose", async () => {
    closing = true;
  });
  app.addHook("onSend", async (_request, reply) => {
    if (closing) reply.header("connection", "close");
  });
  app.setErrorHandler<FastifyError>((error, request, reply) => handleError(deps, error, request, reply));
  app.setNotFoundHandler((request, reply) => handleNotFound(request, reply));

  for (const route of routes) registerRoute(app, route);
  return app;
}

/**
 * The HTTPS server, with the hot path in front of the framework's router: a request the hot path
 * does not take reaches the router exactly as it arrived.
 */
function httpsWithHotPath(
  deps: AppDeps,
  routes: RouteDefinition[],
  headers: Readonly<Record<string, string>>,
  closing: () => boolean,
  log: () => FastifyInstance["log"] | null,
  exposeStats: (stats: { taken: number }) => void,
) {
  return (handler: (request: IncomingMessage, response: ServerResponse) => void) => {
    const { cachedDevice } = deps;
    // Behind a trusted proxy the client's address needs the framework's forwarding rules.
    const hot =
      cachedDevice && deps.config.trustedProxies.length === 0
        ? createHotPath({
            routes,
            cachedDevice,
            headers,
            bodyLimit: deps.config.bodyLimit,
            closing,
            onError: (error, requestId) => log()?.error({ err: error, reqId: requestId }, "request failed"),
          })
        : null;
    if (hot) exposeStats(hot.stats);
    return createHttpsServer(deps.https ?? {}, (request, response) => {
      if (!hot?.take(request, response)) handler(request, response);
    });
  };
}

/**
 * Rules that keep the permission matrix honest: an organisation route declares an action of the
 * matrix, and a state-changing route declares a write action (so read-only roles never get it).
 */
function assertPermissionFits(route: RouteDefinition): void {
  const where = `${route.method} ${route.url}`;
  const scoped = route.url.includes(":orgId");
  const permission = route.permission;
  const agentUrl = route.url.startsWith("/api/v1/agent/");
  if (agentUrl !== isAgentPermission(permission)) {
    throw new Error(`${where}: agent routes, and only they, live under /api/v1/agent/`);
  }
  if (permission === "device" && !route.url.includes(":deviceId")) {
    throw new Error(`${where}: a device route names its device with :deviceId`);
  }
  if (isAgentPermission(permission)) {
    if (scoped) throw new Error(`${where}: an agent route takes its organisation from its token`);
    return;
  }
  if (route.crossOriginForm !== undefined && (permission !== "public" || route.method !== "POST")) {
    throw new Error(`${where}: only a public POST may accept another site's form`);
  }
  const action = isAction(permission) ? permission : null;
  if (scoped !== (action !== null)) {
    throw new Error(
      `${where}: organisation routes, and only they, declare an action of the permission matrix`,
    );
  }
  if (action && isStateChanging(route.method) && actionKind(action) !== "write") {
    throw new Error(`${where} changes state but declares the read action ${route.permission}`);
  }
}

function registerRoute(app: FastifyInstance, route: RouteDefinition): void {
  const s = route.schema;
  const agent = isAgentPermission(route.permission);
  const secured = route.permission !== "public" && !agent;
  app.route({
    method: route.method,
    url: route.url,
    config: { route },
    ...(route.bodyLimit ? { bodyLimit: route.bodyLimit } : {}),
    schema: {
      summary: route.summary,
      tags: route.tags,
      ...(s.params ? { params: s.params } : {}),
      ...(s.querystring ? { querystring: s.querystring } : {}),
      ...(s.body ? { body: route.example ? { ...s.body, examples: [route.example] } : s.body } : {}),
      response: { ...s.response, "4xx": ErrorSchema, "5xx": ErrorSchema },
      ...(secured
        ? {
            security: [
              isStateChanging(route.method) ? { session: [], csrf: [] } : { session: [] },
              // Organisation routes also take an API token instead of the session.
              ...(isAction(route.permission) ? [{ apiToken: [] }] : []),
            ],
          }
        : {}),
      ...(agent ? { security: [{ deviceToken: [] }] } : {}),
      ...(secured && route.permission !== "authenticated"
        ? { description: `Requires the \`${route.permission}\` permission in the organisation.` }
        : {}),
    },
    handler: async (request: FastifyRequest, reply: FastifyReply) => {
      const result = await route.handler({
        params: request.params,
        query: request.query,
        body: request.body,
        ctx: request.ctx,
        request,
        reply,
      });
      // A streaming route (server-sent events) has answered on the raw response itself.
      if (reply.sent) return reply;
      if (route.contentType) reply.type(route.contentType);
      const status = route.successStatus ?? 200;
      if (status === 204) return reply.code(204).send();
      return reply.code(status).send(result);
    },
  });
}
