import type { Action, Role } from "@patchpilot/domain";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { Static, TSchema } from "typebox";
import type { AuditContext } from "../db/unit-of-work.js";

/**
 * Who may call a route. An `Action` is checked against the caller's role in the organisation
 * named by the route's `:orgId`; `authenticated` needs only a signed-in person (their own
 * account and sessions); `public` needs nothing (sign-in, setup, health). Agents: `device` needs
 * the device token of the device named by the route's `:deviceId`; `enrollment` is called with
 * an organisation's enrolment token, which the enrolment service checks itself.
 */
export type RoutePermission = Action | "authenticated" | "public" | "device" | "enrollment";

/** The device an agent request was authenticated as (by its device token). */
export interface DeviceCaller {
  readonly deviceId: string;
  readonly organizationId: string;
}

export interface RequestContext extends AuditContext {
  readonly user: { id: string; email: string; name: string } | null;
  readonly session: { id: string; tokenHash: Buffer } | null;
  /** Set on organisation routes, after membership was checked. */
  readonly organizationId: string | null;
  readonly role: Role | null;
  /** Set on agent routes, once the device token was checked against the route's `:deviceId`. */
  readonly device: DeviceCaller | null;
}

export interface RouteSchemas {
  params?: TSchema;
  querystring?: TSchema;
  body?: TSchema;
  response: Record<number, TSchema>;
}

type Maybe<S> = S extends TSchema ? Static<S> : undefined;

/** What a handler that needs neither the raw request nor the reply gets (the hot path serves it). */
export interface HotRouteInput<S extends RouteSchemas> {
  params: Maybe<S["params"]>;
  query: Maybe<S["querystring"]>;
  body: Maybe<S["body"]>;
  ctx: RequestContext;
}

export interface RouteInput<S extends RouteSchemas> extends HotRouteInput<S> {
  request: FastifyRequest;
  reply: FastifyReply;
}

export interface RouteDefinition<S extends RouteSchemas = RouteSchemas> {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  url: string;
  summary: string;
  tags: string[];
  permission: RoutePermission;
  schema: S;
  /** A valid request body, shown in the OpenAPI document and used by the route-walking tests. */
  example?: Maybe<S["body"]>;
  /** Largest body this route accepts, when it must differ from the server-wide limit (inventories). */
  bodyLimit?: number;
  /** Status of a successful answer (default 200). */
  successStatus?: number;
  /** Not JSON (an HTML page, security.txt): the content type it answers with. */
  contentType?: string;
  /**
   * Only for routes that show nothing of any organisation (health, the OpenAPI document):
   * why the cross-tenant isolation harness may leave the route out.
   */
  isolationExempt?: string;
  /**
   * Only for a public POST that another site's page submits as a form by design (SAML's assertion
   * consumer, posted by the identity provider's page): why it may skip the same-origin check and
   * take an `application/x-www-form-urlencoded` body. No other route accepts either.
   */
  crossOriginForm?: string;
  handler(input: RouteInput<S>): Promise<unknown>;
  /**
   * The same work as `handler`, for the hot path (http/hot-path.ts): agent routes called far more
   * often than the rest may be answered straight off the HTTP server in their common case.
   */
  hotPath?(input: HotRouteInput<S>): Promise<unknown>;
}

/** Declares a route; the generic ties the handler's input types to its schemas. */
export function defineRoute<S extends RouteSchemas>(route: RouteDefinition<S>): RouteDefinition {
  return route as unknown as RouteDefinition;
}

/** Agent routes authenticate with a bearer token, never with the console's cookie. */
export function isAgentPermission(permission: RoutePermission): permission is "device" | "enrollment" {
  return permission === "device" || permission === "enrollment";
}

export function isStateChanging(method: string): boolean {
  return method !== "GET" && method !== "HEAD" && method !== "OPTIONS";
}

export interface RegisteredRoute {
  method: RouteDefinition["method"];
  url: string;
  route: RouteDefinition;
}

/** The organisation and role of an organisation route, which authentication has already checked. */
export function scopeOf(ctx: RequestContext): { organizationId: string; role: Role } {
  if (!ctx.organizationId || !ctx.role) throw new Error("organisation route without organisation context");
  return { organizationId: ctx.organizationId, role: ctx.role };
}
