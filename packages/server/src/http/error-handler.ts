import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import type { Database } from "../db/database.js";
import { AuditMissingError } from "../db/unit-of-work.js";
import { HSTS_HEADER_VALUE } from "../tls/server-options.js";
import { AppError, type ErrorBody, type ErrorCode } from "./errors.js";
import { isAgentPermission, isStateChanging } from "./route.js";

interface ValidationIssue {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** The field a validation error is about, as a JSON pointer into the request part. */
function fieldOf(issue: ValidationIssue, context: string | undefined): string {
  const base = `${context ?? "body"}${issue.instancePath ?? ""}`;
  const params = issue.params ?? {};
  if (typeof params.missingProperty === "string") return `${base}/${params.missingProperty}`;
  if (typeof params.additionalProperty === "string") return `${base}/${params.additionalProperty}`;
  return base;
}

function describe(issue: ValidationIssue, field: string): string {
  if (issue.keyword === "additionalProperties") return `${field} is not a field this request accepts.`;
  if (issue.keyword === "required") return `${field} is required.`;
  return `${field} ${issue.message ?? "is not valid"}.`;
}

// Database errors that a client can cause, by SQLSTATE.
const DATABASE_CODES: Record<string, ErrorCode> = {
  "22P02": "request.invalid", // invalid text representation
  "22001": "request.invalid", // string too long for its column
  "23514": "request.invalid", // check constraint
};

/** The first schema violation of a request part, as the API reports it: the field, and why. */
export function validationError(issues: readonly ValidationIssue[], context: string | undefined): AppError {
  const issue = issues[0] ?? {};
  const field = fieldOf(issue, context);
  return new AppError("request.invalid", { field, message: describe(issue, field) });
}

function toAppError(error: FastifyError & { code?: string }): AppError | null {
  if (error instanceof AppError) return error;
  if (error.validation) return validationError(error.validation, error.validationContext);
  switch (error.code) {
    case "FST_ERR_CTP_INVALID_JSON_BODY":
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return new AppError("request.malformed_json", { field: "body" });
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new AppError("request.body_too_large", { field: "body" });
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new AppError("request.unsupported_media_type", { field: "body" });
  }
  // Malformed JSON and forbidden keys (__proto__) are reported by the body parser as a 400.
  if (error.statusCode === 400 && error.code?.startsWith("FST_")) {
    return new AppError("request.malformed_json", { field: "body" });
  }
  if (error instanceof SyntaxError && error.statusCode === 400) return new AppError("request.malformed_json");
  const mapped = error.code ? DATABASE_CODES[error.code] : undefined;
  if (mapped) return new AppError(mapped);
  return null;
}

export async function handleError(
  deps: { db: Database },
  raw: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const error = toAppError(raw);
  if (!error) {
    if (raw instanceof AuditMissingError) request.log.error({ err: raw }, "refused an unaudited change");
    else request.log.error({ err: raw }, "request failed");
    return send(reply, request, new AppError("internal"));
  }
  await recordRefusal(deps.db, request, error);
  if (error.retryAfterSeconds) reply.header("retry-after", String(error.retryAfterSeconds));
  return send(reply, request, error);
}

/**
 * A member's state-changing request that was refused (their role does not allow it, or a rule
 * such as "keep one Owner" stopped it) is itself an audit event, with its error code.
 */
async function recordRefusal(db: Database, request: FastifyRequest, error: AppError): Promise<void> {
  const ctx = request.ctx;
  const route = request.routeOptions.config.route;
  if (!route || !ctx?.organizationId || !isStateChanging(route.method)) return;
  // Agents' refusals are device events, written by the devices capability where they happen.
  if (isAgentPermission(route.permission)) return;
  if (error.status !== 403 && error.status !== 409) return;
  try {
    await db.withOrganization(ctx.organizationId, ctx, async (tx) => {
      tx.audit({
        action: route.permission,
        result: "failure",
        errorCode: error.code,
        details: { method: route.method, route: route.url },
      });
    });
  } catch (auditError) {
    request.log.error({ err: auditError }, "could not record a refused request");
  }
}

function send(reply: FastifyReply, request: FastifyRequest, error: AppError): FastifyReply {
  const body: ErrorBody = {
    error: {
      code: error.code,
      message: error.message,
      ...(error.field ? { field: error.field } : {}),
      requestId: request.id,
    },
  };
  return reply.code(error.status).type("application/json; charset=utf-8").send(body);
}

export function handleNotFound(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return send(reply, request, new AppError("route.not_found"));
}

export function handleFrameworkError(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  reply.header("x-request-id", request.id);
  reply.header("cache-control", "no-store");
  reply.header("strict-transport-security", HSTS_HEADER_VALUE);
  const code = error.code === "FST_ERR_MAX_PARAM_LENGTH" ? "route.not_found" : "request.invalid";
  return send(reply, request, new AppError(code, code === "request.invalid" ? { field: "path" } : {}));
}
