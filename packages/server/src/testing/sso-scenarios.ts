import { SSO_BROWSER_COOKIE } from "../identity/sso/sso-flows.js";
import { call, type TestApp, type TestPerson } from "./app.js";
import type { Scenarios } from "./audit-walk.js";
import { makeSigningIdentity, TestSamlIdp } from "./saml-idp.js";
import { cookieFrom } from "./sso.js";

/** Happy paths of the single sign-on routes, for the audit walk (the organisation is put on Enterprise). */
export function ssoScenarios(t: TestApp, orgId: () => string, me: () => TestPerson): Scenarios {
  const enterprise = () =>
    t.db.owner.query("UPDATE organizations SET plan = 'enterprise' WHERE id = $1", [orgId()]);
  const oidcBody = {
    issuer: "https://login.example.test",
    clientId: "walked",
    clientSecret: "walked-secret",
    allowedDomains: ["example.test"],
    defaultRole: "auditor",
  };
  let idp: TestSamlIdp | null = null;
  const samlIdp = async () => {
    idp ??= new TestSamlIdp(await makeSigningIdentity("Walked IdP"));
    return idp;
  };
  const configureSaml = async () => {
    await enterprise();
    const provider = await samlIdp();
    await call(t.app, {
      method: "PUT",
      url: `/api/v1/orgs/${orgId()}/sso/saml`,
      as: me(),
      body: { metadataXml: provider.metadataXml(), allowedDomains: ["example.test"], defaultRole: "auditor" },
    });
    return provider;
  };
  return {
    "PUT /api/v1/orgs/:orgId/sso/oidc": async () => {
      await enterprise();
      return { as: me(), url: `/api/v1/orgs/${orgId()}/sso/oidc`, body: oidcBody };
    },
    "DELETE /api/v1/orgs/:orgId/sso/oidc": async () => {
      await enterprise();
      await call(t.app, { method: "PUT", url: `/api/v1/orgs/${orgId()}/sso/oidc`, as: me(), body: oidcBody });
      return { as: me(), url: `/api/v1/orgs/${orgId()}/sso/oidc` };
    },
    "PUT /api/v1/orgs/:orgId/sso/saml": async () => {
      await enterprise();
      const provider = await samlIdp();
      return {
        as: me(),
        url: `/api/v1/orgs/${orgId()}/sso/saml`,
        body: {
          metadataXml: provider.metadataXml(),
          allowedDomains: ["example.test"],
          defaultRole: "auditor",
        },
      };
    },
    "DELETE /api/v1/orgs/:orgId/sso/saml": async () => {
      await configureSaml();
      return { as: me(), url: `/api/v1/orgs/${orgId()}/sso/saml` };
    },
    "POST /api/v1/auth/sso/:organizationId/saml/acs": async () => {
      const provider = await configureSaml();
      const base = `/api/v1/auth/sso/${orgId()}/saml`;
      const started = await t.app.inject({ method: "GET", url: `${base}/start` });
      const response = provider.signedResponse({
        requestId: TestSamlIdp.requestIdOf(String(started.headers.location)),
        email: `walked-${crypto.randomUUID()}@example.test`,
        audience: new URL(`${base}/metadata`, t.config.publicUrl).href,
        recipient: new URL(`${base}/acs`, t.config.publicUrl).href,
        issuer: provider.entityId,
      });
      return {
        as: null,
        url: `${base}/acs`,
        body: { SAMLResponse: Buffer.from(response).toString("base64") },
        headers: {
          cookie: `${SSO_BROWSER_COOKIE}=${cookieFrom(started.headers, SSO_BROWSER_COOKIE)}`,
          origin: "https://idp.example.test",
        },
        status: 303,
      };
    },
  };
}
