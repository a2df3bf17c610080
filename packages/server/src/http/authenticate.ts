import { type Action, can, isAction } from "@patchpilot/domain";
import type { FastifyRequest } from "fastify";
import type { Config } from "../config/config.js";
import type { Database } from "../db/database.js";
import { authenticateApiToken } from "../identity/api-tokens/api-tokens-service.js";
import { csrfTokenMatches, findActiveSession, SESSION_COOKIE } from "../identity/sessions.js";
import { requiresSecondFactor } from "../identity/two-factor/security-settings.js";
import { bearerToken } from "./bearer.js";
import { AppError } from "./errors.js";
import {
  type DeviceCaller,
  isAgentPermission,
  isStateChanging,
  type RequestContext,
  type RouteDefinition,
} from "./route.js";

/** Checks an agent's device token against the device its request names (the devices capability). */
export type DeviceAuthenticator = (
  token: string | null,
  deviceId: string,
  client: ClientInfo,
) => Promise<DeviceCaller>;

export interface ClientInfo {
  requestId: string | null;
  ip: string | null;
  userAgent: string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Runs before the body is parsed: who is calling, may they, and did the request come from our
 * own pages. Anonymous callers get 401 and outsiders 404 before any validation detail is shown.
 */
export async function authenticate(
  deps: { db: Database; config: Config; deviceAuthenticator?: DeviceAuthenticator },
  request: FastifyRequest,
  route: RouteDefinition,
): Promise<RequestContext> {
  const client: ClientInfo = {
    requestId: request.id,
    ip: request.ip ?? null,
    userAgent: request.headers["user-agent"]?.slice(0, 500) ?? null,
  };
  if (isAgentPermission(route.permission)) return authenticateAgent(deps, request, route, client);
  const changing = isStateChanging(route.method);
  // A form another site posts by design (declared on the route, public only) is the one exception.
  if (changing && !route.crossOriginForm) assertSameOrigin(deps.config, request);

  const token = request.cookies[SESSION_COOKIE];
  const params = request.params as Record<string, string | undefined>;
  const orgParam = route.url.includes(":orgId") ? (params.orgId ?? "") : null;
  if (orgParam !== null && !UUID.test(orgParam)) throw new AppError("organization.not_found");

  // Automation calls organisation routes with an API token instead of a session.
  if (request.headers.authorization !== undefined && orgParam !== null && isAction(route.permission)) {
    return authenticateWithApiToken(deps.db, request, route, route.permission, orgParam, client);
  }

  // A public page or asset never acts as anyone, so it costs no session lookup.
  const needsSession = route.permission !== "public" || changing;
  const found = token && needsSession ? await findActiveSession(deps.db, token, orgParam) : null;
  const csrfOk =
    !changing || (token !== undefined && csrfTokenMatches(token, headerValue(request, "x-csrf-token")));
  if (route.permission !== "public") {
    if (!found) throw new AppError("auth.required");
    if (!csrfOk) throw new AppError("auth.csrf_failed");
  }
  // A public route acts as the cookie's owner only when the request also proves it came from our
  // own pages; otherwise it is served as anonymous.
  const session = csrfOk ? found : null;
  const ctx: RequestContext = {
    ...client,
    actor: session ? { type: "user", id: session.user.id } : { type: "anonymous", id: null },
    // An MSP technician's rows in a client name the MSP they act for.
    ...(session?.msp && orgParam !== null
      ? { actorDetails: { type: "msp_technician", msp: session.msp.id, mspName: session.msp.name } }
      : {}),
    user: session?.user ?? null,
    session: session ? { id: session.id, tokenHash: session.tokenHash } : null,
    organizationId: orgParam !== null && session?.role ? orgParam : null,
    role: orgParam !== null ? (session?.role ?? null) : null,
    device: null,
  };
  if (route.permission === "public" || route.permission === "authenticated") return ctx;

  // Not a member looks exactly like no such organisation. MSP staff naming a client they are not
  // assigned to are recorded in their MSP's chain.
  if (orgParam !== null && session && !session.role && session.mspHome) {
    await recordMspRefusal(deps.db, ctx, session.mspHome, orgParam, route);
  }
  if (orgParam === null || !session?.role) throw new AppError("organization.not_found");
  // An organisation that requires a second factor shows nothing to a member without one; the
  // person's own account routes (to turn it on) are not organisation routes, so stay open.
  if (
    !session.secondFactor &&
    !session.identityProviderVerified &&
    requiresSecondFactor(session.twoFactorRequired, session.role)
  ) {
    request.ctx = ctx;
    throw new AppError("two_factor.required_by_organization");
  }
  if (!can(session.role, route.permission)) {
    request.ctx = ctx;
    throw new AppError("auth.forbidden");
  }
  return ctx;
}

/** An API token acts with its own role in its own organisation; it needs no CSRF token (no cookie). */
async function authenticateWithApiToken(
  db: Database,
  request: FastifyRequest,
  route: RouteDefinition,
  action: Action,
  organizationId: string,
  client: ClientInfo,
): Promise<RequestContext> {
  const caller = await authenticateApiToken(
    db,
    bearerToken(request.headers.authorization),
    organizationId,
    { method: route.method, route: route.url },
    client,
  );
  const ctx: RequestContext = {
    ...client,
    actor: { type: "api_token", id: caller.tokenId },
    actorDetails: { type: "api_token", name: caller.name },
    user: null,
    session: null,
    organizationId,
    role: caller.role,
    device: null,
  };
  if (!can(caller.role, action)) {
    request.ctx = ctx;
    throw new AppError("auth.forbidden");
  }
  return ctx;
}

/**
 * Agents present a bearer token; cookies are ignored, so a browser cannot be made to act as a
 * device. Enrolment passes the token on to the enrolment service; a device route must name the
 * token's own device.
 */
async function authenticateAgent(
  deps: { deviceAuthenticator?: DeviceAuthenticator },
  request: FastifyRequest,
  route: RouteDefinition,
  client: ClientInfo,
): Promise<RequestContext> {
  const anonymous: RequestContext = {
    ...client,
    actor: { type: "anonymous", id: null },
    user: null,
    session: null,
    organizationId: null,
    role: null,
    device: null,
  };
  if (route.permission === "enrollment") return anonymous;
  if (!deps.deviceAuthenticator) throw new Error("device routes need a device authenticator");
  const deviceId = (request.params as Record<string, string | undefined>).deviceId ?? "";
  const device = await deps.deviceAuthenticator(bearerToken(request.headers.authorization), deviceId, client);
  return {
    ...anonymous,
    actor: { type: "device", id: device.deviceId },
    organizationId: device.organizationId,
    device,
  };
}

async function recordMspRefusal(
  db: Database,
  ctx: RequestContext,
  mspId: string,
  organizationId: string,
  route: RouteDefinition,
): Promise<void> {
  await db.system(ctx, async (tx) => {
    tx.audit(mspId, {
      action: "msp.tenant_refused",
      target: { type: "organization", id: organizationId },
      result: "failure",
      errorCode: "organization.not_found",
      details: { method: route.method, route: route.url },
    });
  });
}

function headerValue(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * A browser names the page that sent a request in Origin. A state-changing request from any
 * other site is refused, whether or not it carries our cookie (this also stops sign-in CSRF).
 */
function assertSameOrigin(config: Config, request: FastifyRequest): void {
  const origin = headerValue(request, "origin");
  if (origin === undefined) return;
  const host = headerValue(request, "host");
  if (origin === config.publicUrl.origin || (host !== undefined && origin === `https://${host}`)) return;
  throw new AppError("auth.csrf_failed");
}
