import { Agent, request } from "node:https";
import { MIN_TLS_VERSION } from "./pinned-tls.js";

/** The server refused the request: a 4xx with the API's error code. Retrying will not help. */
export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The server could not be reached, timed out, or failed (5xx): try again later. */
export class UnreachableError extends Error {
  override name = "UnreachableError";
}

export interface ClientOptions {
  serverUrl: URL;
  /** The one root the agent trusts: PatchPilot's CA, given or pinned at enrolment. */
  caPem: string;
  timeoutMs?: number;
}

const MAX_ANSWER_BYTES = 8 * 1024 * 1024;

/**
 * HTTPS to the PatchPilot server and nowhere else: the operating system's trust store is not
 * consulted (`ca` replaces it), TLS below 1.2 is refused, connections are kept alive (a check-in
 * a minute over one connection costs no handshakes) and TLS sessions are resumed.
 */
export class AgentClient {
  readonly #agent: Agent;
  readonly #base: URL;
  readonly #timeoutMs: number;

  constructor(options: ClientOptions) {
    this.#base = options.serverUrl;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#agent = new Agent({
      keepAlive: true,
      maxSockets: 4,
      ca: options.caPem,
      minVersion: MIN_TLS_VERSION,
      rejectUnauthorized: true,
    });
  }

  close(): void {
    this.#agent.destroy();
  }

  /** One JSON request; `token` goes in `Authorization: Bearer`. */
  send<T>(
    method: "GET" | "POST" | "PUT",
    path: string,
    options: { token?: string; body?: unknown; timeoutMs?: number } = {},
  ): Promise<T> {
    const url = new URL(path, this.#base);
    const payload = options.body === undefined ? null : Buffer.from(JSON.stringify(options.body));
    const headers: Record<string, string> = { accept: "application/json", "user-agent": "patchpilot-agent" };
    if (payload) {
      headers["content-type"] = "application/json";
      headers["content-length"] = String(payload.length);
    }
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    return new Promise<T>((resolve, reject) => {
      const req = request(
        url,
        { method, headers, agent: this.#agent, timeout: options.timeoutMs ?? this.#timeoutMs },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on("data", (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_ANSWER_BYTES)
              req.destroy(new UnreachableError("the server's answer is too large"));
            else chunks.push(chunk);
          });
          res.on("error", (error) => reject(new UnreachableError(error.message)));
          res.on("end", () => {
            const status = res.statusCode ?? 0;
            const text = Buffer.concat(chunks).toString("utf8");
            let parsed: unknown = null;
            try {
              parsed = text === "" ? null : JSON.parse(text);
            } catch {
              parsed = null;
            }
            if (status >= 200 && status < 300) return resolve(parsed as T);
            const error = (parsed as { error?: { code?: string; message?: string } } | null)?.error;
            if (status >= 400 && status < 500) {
              return reject(
                new ApiError(status, error?.code ?? "unknown", error?.message ?? `HTTP ${status}`),
              );
            }
            reject(
              new UnreachableError(
                `the server answered ${status}${error?.message ? `: ${error.message}` : ""}`,
              ),
            );
          });
        },
      );
      req.on("timeout", () =>
        req.destroy(new UnreachableError(`no answer from ${url.host} within the timeout`)),
      );
      req.on("error", (error) =>
        reject(error instanceof UnreachableError ? error : new UnreachableError(describeNetworkError(error))),
      );
      req.end(payload ?? undefined);
    });
  }
}

/** Says plainly why a connection failed, TLS trust problems above all. */
function describeNetworkError(error: Error & { code?: string }): string {
  switch (error.code) {
    case "UNABLE_TO_VERIFY_LEAF_SIGNATURE":
    case "SELF_SIGNED_CERT_IN_CHAIN":
    case "DEPTH_ZERO_SELF_SIGNED_CERT":
    case "UNABLE_TO_GET_ISSUER_CERT_LOCALLY":
    case "CERT_SIGNATURE_FAILURE":
      return `the server's certificate is not from the PatchPilot CA this agent trusts (${error.code})`;
    case "ERR_TLS_CERT_ALTNAME_INVALID":
      return `the server's certificate does not name this server (${error.message})`;
    case "ERR_SSL_UNSUPPORTED_PROTOCOL":
    case "ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION":
    case "ERR_SSL_NO_PROTOCOLS_AVAILABLE":
      return `the server offers only TLS older than 1.2, which this agent refuses (${error.code})`;
    default:
      return error.code ? `${error.code}: ${error.message}` : error.message;
  }
}
