import Type from "typebox";
import { AppError } from "../../http/errors.js";
import { defineRoute, type RouteDefinition } from "../../http/route.js";
import { NoContent, OrgParams } from "../../http/schemas.js";
import { setSessionCookie } from "../session-cookie.js";
import { deleteSamlSettings, getSamlSettings, putSamlSettings } from "./saml-settings.js";
import {
  assertSamlResponseShape,
  finishSamlSignIn,
  type SamlDeps,
  serviceProviderMetadata,
  startSamlSignIn,
} from "./saml-sign-in.js";
import { clearBrowserBindingCookie, SSO_BROWSER_COOKIE, setBrowserBindingCookie } from "./sso-flows.js";
import { AllowedDomains, DefaultRole, SsoParams } from "./sso-schemas.js";

const SamlSettings = Type.Object({
  idpEntityId: Type.String(),
  idpSsoUrl: Type.String(),
  idpCertificates: Type.Integer({ description: "How many signing certificates were imported." }),
  allowedDomains: Type.Array(Type.String()),
  defaultRole: Type.String(),
  enabled: Type.Boolean(),
  ssoRequired: Type.Boolean(),
  spEntityId: Type.String(),
  acsUrl: Type.String(),
  signInUrl: Type.String(),
  updatedAt: Type.String(),
});

const Redirect = Type.Null({ description: "A redirect (Location header)" });

export function samlRoutes(deps: SamlDeps): RouteDefinition[] {
  const { db, config } = deps;
  return [
    defineRoute({
      method: "GET",
      url: "/api/v1/orgs/:orgId/sso/saml",
      summary: "The organisation's SAML identity provider, and what to register there",
      tags: ["sso"],
      permission: "sso.manage",
      schema: { params: OrgParams, response: { 200: SamlSettings } },
      handler: ({ ctx }) => getSamlSettings(db, config, ctx),
    }),
    defineRoute({
      method: "PUT",
      url: "/api/v1/orgs/:orgId/sso/saml",
      summary:
        "Sign members in through a SAML 2.0 identity provider, from its metadata (Enterprise plan and up)",
      tags: ["sso"],
      permission: "sso.manage",
      schema: {
        params: OrgParams,
        body: Type.Object(
          {
            metadataXml: Type.String({ minLength: 20, maxLength: 200_000 }),
            allowedDomains: AllowedDomains,
            defaultRole: DefaultRole,
            enabled: Type.Boolean({ default: true }),
            ssoRequired: Type.Boolean({ default: false }),
          },
          { additionalProperties: false },
        ),
        response: { 200: SamlSettings },
      },
      example: {
        metadataXml:
          '<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.com">…</EntityDescriptor>',
        allowedDomains: ["example.com"],
        defaultRole: "operator",
        enabled: true,
        ssoRequired: false,
      },
      handler: ({ ctx, body }) => putSamlSettings(db, config, ctx, body),
    }),
    defineRoute({
      method: "DELETE",
      url: "/api/v1/orgs/:orgId/sso/saml",
      summary: "Stop signing members in through SAML",
      tags: ["sso"],
      permission: "sso.manage",
      successStatus: 204,
      schema: { params: OrgParams, response: { 204: NoContent } },
      handler: ({ ctx }) => deleteSamlSettings(db, ctx),
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/auth/sso/:organizationId/saml/metadata",
      summary: "Our SAML service provider metadata for the organisation (entity id, assertion consumer)",
      tags: ["auth"],
      permission: "public",
      contentType: "application/samlmetadata+xml; charset=utf-8",
      isolationExempt:
        "public by design (identity providers fetch it unauthenticated): our own addresses, built from the organisation id the caller named, and nothing the organisation holds",
      schema: { params: SsoParams, response: { 200: Type.String({ description: "SAML 2.0 metadata XML" }) } },
      async handler({ params }) {
        const exists = await db.systemReader
          .selectFrom("organizations")
          .select("id")
          .where("id", "=", params.organizationId)
          .executeTakeFirst();
        if (!exists) throw new AppError("organization.not_found");
        return serviceProviderMetadata(config, params.organizationId);
      },
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/auth/sso/:organizationId/saml/start",
      summary: "Start signing in through the organisation's SAML identity provider (redirects to it)",
      tags: ["auth"],
      permission: "public",
      schema: { params: SsoParams, response: { 302: Redirect } },
      async handler({ ctx, params, reply }) {
        const { redirectTo, browser } = await startSamlSignIn(deps, ctx, params.organizationId);
        setBrowserBindingCookie(reply, browser);
        return reply.redirect(redirectTo, 302);
      },
    }),
    defineRoute({
      method: "POST",
      url: "/api/v1/auth/sso/:organizationId/saml/acs",
      summary: "SAML assertion consumer: the identity provider's page posts the signed answer here",
      tags: ["auth"],
      permission: "public",
      crossOriginForm:
        "the SAML HTTP-POST binding: the identity provider's page submits this form from its own origin; the signed, single-use assertion bound to this browser's sign-in is the proof",
      schema: {
        params: SsoParams,
        body: Type.Object(
          {
            SAMLResponse: Type.String({ minLength: 1, maxLength: 500_000 }),
            RelayState: Type.Optional(Type.String({ maxLength: 1000 })),
          },
          { additionalProperties: false },
        ),
        response: { 303: Redirect },
      },
      example: { SAMLResponse: "PHNhbWxwOlJlc3BvbnNlIC4uLg==" },
      async handler({ ctx, params, body, request, reply }) {
        assertSamlResponseShape(body.SAMLResponse);
        const browser = request.cookies[SSO_BROWSER_COOKIE];
        clearBrowserBindingCookie(reply);
        const signedIn = await finishSamlSignIn(deps, ctx, params.organizationId, body.SAMLResponse, browser);
        setSessionCookie(reply, signedIn.token);
        return reply.redirect("/", 303);
      },
    }),
  ];
}
