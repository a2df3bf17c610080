import type { IncomingMessage, ServerResponse } from "node:http";
import helmet from "helmet";
import { HSTS_MAX_AGE_SECONDS } from "../tls/server-options.js";

/**
 * The security headers every answer carries (helmet's, with our CSP), worked out once at start:
 * they do not depend on the request, and recomputing them per request was a measurable share of a
 * check-in's cost. Both the route framework and the hot path send this same set.
 */
export function securityHeaders(): Readonly<Record<string, string>> {
  const headers: Record<string, string> = {};
  const response = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : String(value);
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  const middleware = helmet({
    hsts: { maxAge: HSTS_MAX_AGE_SECONDS, includeSubDomains: false },
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        frameAncestors: ["'none'"],
        formAction: ["'self'"],
      },
    },
    crossOriginEmbedderPolicy: false,
  });
  let failed: unknown = null;
  middleware({} as IncomingMessage, response as unknown as ServerResponse, (error?: unknown) => {
    failed = error ?? null;
  });
  if (failed) throw failed;
  return Object.freeze(headers);
}
