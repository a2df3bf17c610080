import { COMPLIANCE_ERRORS } from "../compliance/errors.js";
import { DEVICE_ERRORS } from "../devices/errors.js";
import { IDENTITY_ERRORS } from "../identity/identity-errors.js";
import { ALERT_ERRORS } from "../ops/alerts/errors.js";
import { PATCHING_ERRORS } from "../patching/errors.js";
import { VULN_ERRORS } from "../vulns/errors.js";

/**
 * The closed set of errors the API returns. Each has a stable code (clients and tests match on
 * it), an HTTP status, and a sentence for people. Anything not listed here is answered as a
 * generic 500 with the request id and no detail.
 */
const CORE_ERRORS = {
  "request.invalid": { status: 400, message: "The request is not valid." },
  "request.malformed_json": { status: 400, message: "The request body is not valid JSON." },
  "request.invalid_encoding": { status: 400, message: "The request body is not valid UTF-8." },
  "request.body_too_large": { status: 413, message: "The request body is larger than the server accepts." },
  "request.unsupported_media_type": { status: 415, message: "Send the request body as application/json." },
  "route.not_found": { status: 404, message: "There is no such API route." },
  "auth.required": { status: 401, message: "Sign in to continue." },
  "auth.invalid_credentials": { status: 401, message: "The email address or password is not correct." },
  "auth.rate_limited": {
    status: 429,
    message: "Too many sign-in attempts. Wait a few minutes and try again.",
  },
  "auth.forbidden": { status: 403, message: "Your role does not allow this action." },
  "auth.csrf_failed": {
    status: 403,
    message: "This request did not come from the PatchPilot console (missing or wrong CSRF token or origin).",
  },
  "auth.password_incorrect": { status: 403, message: "The current password is not correct." },
  "auth.password_too_weak": { status: 400, message: "Choose a password of at least 12 characters." },
  "auth.password_too_long": { status: 400, message: "A password may be at most 72 bytes long." },
  "organization.not_found": { status: 404, message: "There is no such organisation." },
  "setup.already_done": { status: 409, message: "PatchPilot is already set up; sign in instead." },
  "setup.invalid_token": { status: 401, message: "This setup link is not valid or has expired." },
  "users.not_found": { status: 404, message: "There is no such user in this organisation." },
  "users.email_taken": { status: 409, message: "Someone with this email address is already a member." },
  "users.last_owner": {
    status: 409,
    message: "An organisation must keep at least one Owner: make someone else Owner first.",
  },
  "users.owner_only": { status: 403, message: "Only an Owner may grant, change or remove the Owner role." },
  "invitations.not_found": { status: 404, message: "There is no such invitation." },
  "invitations.invalid_token": {
    status: 401,
    message: "This invitation is not valid, was used, or has expired.",
  },
  "invitations.already_member": {
    status: 409,
    message: "This person is already a member of the organisation.",
  },
  "invitations.sign_in_required": {
    status: 401,
    message: "An account with this email address exists: sign in as that person to accept the invitation.",
  },
  "sessions.not_found": { status: 404, message: "There is no such session." },
  "audit.not_found": { status: 404, message: "There is no such audit event." },
  "plans.upgrade_required": {
    status: 402,
    message: "This organisation's plan does not include this feature.",
  },
  "plans.device_limit_reached": {
    status: 402,
    message: "This organisation's plan allows no more devices.",
  },
  "service.unavailable": { status: 503, message: "PatchPilot is not ready to serve requests." },
  internal: {
    status: 500,
    message: "Something went wrong on the server. Quote the request id when reporting it.",
  },
} as const satisfies Record<string, { status: number; message: string }>;

/** Each capability keeps its own errors beside its code; this is the one place they meet. */
export const ERRORS = {
  ...CORE_ERRORS,
  ...DEVICE_ERRORS,
  ...VULN_ERRORS,
  ...PATCHING_ERRORS,
  ...IDENTITY_ERRORS,
  ...COMPLIANCE_ERRORS,
  ...ALERT_ERRORS,
} as const;

export type ErrorCode = keyof typeof ERRORS;

export class AppError extends Error {
  override name = "AppError";
  readonly status: number;

  readonly field: string | undefined;
  /** For 429 answers: when the client may try again. */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    readonly code: ErrorCode,
    options: { message?: string; field?: string; retryAfterSeconds?: number } = {},
  ) {
    super(options.message ?? ERRORS[code].message);
    this.status = ERRORS[code].status;
    this.field = options.field;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

export interface ErrorBody {
  error: { code: string; message: string; field?: string; requestId: string };
}
