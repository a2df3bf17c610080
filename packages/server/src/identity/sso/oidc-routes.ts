import Type from "typebox";
import { defineRoute, type RouteDefinition } from "../../http/route.js";
import { NoContent, OrgParams } from "../../http/schemas.js";
import { setSessionCookie } from "../session-cookie.js";
import { deleteOidcSettings, getOidcSettings, putOidcSettings } from "./oidc-settings.js";
import { finishOidcSignIn, type OidcDeps, startOidcSignIn } from "./oidc-sign-in.js";
import { clearBrowserBindingCookie, SSO_BROWSER_COOKIE, setBrowserBindingCookie } from "./sso-flows.js";
import { AllowedDomains, DefaultRole, SsoParams } from "./sso-schemas.js";

const OidcSettings = Type.Object({
  issuer: Type.String(),
  clientId: Type.String(),
  hasClientSecret: Type.Boolean({ description: "The secret itself is sealed and never returned." }),
  allowedDomains: Type.Array(Type.String()),
  defaultRole: Type.String(),
  enabled: Type.Boolean(),
  ssoRequired: Type.Boolean(),
  redirectUri: Type.String(),
  signInUrl: Type.String(),
  updatedAt: Type.String(),
});

const Redirect = Type.Null({ description: "A redirect (Location header)" });

export function oidcRoutes(deps: OidcDeps): RouteDefinition[] {
  const { db, config, secrets } = deps;
  return [
    defineRoute({
      method: "GET",
      url: "/api/v1/orgs/:orgId/sso/oidc",
      summary: "The organisation's OpenID Connect provider (never its client secret)",
      tags: ["sso"],
      permission: "sso.manage",
      schema: { params: OrgParams, response: { 200: OidcSettings } },
      handler: ({ ctx }) => getOidcSettings(db, config, ctx),
    }),
    defineRoute({
      method: "PUT",
      url: "/api/v1/orgs/:orgId/sso/oidc",
      summary: "Sign members in through an OpenID Connect provider (Business plan and up)",
      tags: ["sso"],
      permission: "sso.manage",
      schema: {
        params: OrgParams,
        body: Type.Object(
          {
            issuer: Type.String({ minLength: 9, maxLength: 500 }),
            clientId: Type.String({ minLength: 1, maxLength: 255, pattern: "^[\\x21-\\x7e]+$" }),
            clientSecret: Type.Optional(Type.String({ minLength: 1, maxLength: 1000 })),
            allowedDomains: AllowedDomains,
            defaultRole: DefaultRole,
            enabled: Type.Boolean({ default: true }),
            ssoRequired: Type.Boolean({ default: false }),
          },
          { additionalProperties: false },
        ),
        response: { 200: OidcSettings },
      },
      example: {
        issuer: "https://login.example.com",
        clientId: "patchpilot",
        clientSecret: "client-secret-from-the-provider",
        allowedDomains: ["example.com"],
        defaultRole: "operator",
        enabled: true,
        ssoRequired: false,
      },
      handler: ({ ctx, body }) => putOidcSettings(db, config, ctx, secrets, body),
    }),
    defineRoute({
      method: "DELETE",
      url: "/api/v1/orgs/:orgId/sso/oidc",
      summary: "Stop signing members in through OpenID Connect",
      tags: ["sso"],
      permission: "sso.manage",
      successStatus: 204,
      schema: { params: OrgParams, response: { 204: NoContent } },
      handler: ({ ctx }) => deleteOidcSettings(db, ctx),
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/auth/sso/:organizationId/oidc/start",
      summary: "Start signing in through the organisation's OpenID Connect provider (redirects to it)",
      tags: ["auth"],
      permission: "public",
      schema: { params: SsoParams, response: { 302: Redirect } },
      async handler({ ctx, params, reply }) {
        const { redirectTo, browser } = await startOidcSignIn(deps, ctx, params.organizationId);
        setBrowserBindingCookie(reply, browser);
        return reply.redirect(redirectTo, 302);
      },
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/auth/sso/:organizationId/oidc/callback",
      summary:
        "Where the OpenID Connect provider sends the browser back; opens a session and goes to the console",
      tags: ["auth"],
      permission: "public",
      schema: {
        params: SsoParams,
        querystring: Type.Object(
          {
            state: Type.String({ minLength: 1, maxLength: 500 }),
            code: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })),
            iss: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
            session_state: Type.Optional(Type.String({ maxLength: 500 })),
            error: Type.Optional(Type.String({ maxLength: 200 })),
            error_description: Type.Optional(Type.String({ maxLength: 1000 })),
          },
          { additionalProperties: false },
        ),
        response: { 303: Redirect },
      },
      async handler({ ctx, params, query, request, reply }) {
        const browser = request.cookies[SSO_BROWSER_COOKIE];
        clearBrowserBindingCookie(reply);
        const signedIn = await finishOidcSignIn(deps, ctx, params.organizationId, query, browser);
        setSessionCookie(reply, signedIn.token);
        return reply.redirect("/", 303);
      },
    }),
  ];
}
