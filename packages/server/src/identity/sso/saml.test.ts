import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addTestMember,
  call,
  createTestOrg,
  startTestApp,
  type TestApp,
  type TestOrg,
} from "../../testing/app.js";
import {
  type AssertionOptions,
  makeSigningIdentity,
  type SigningIdentity,
  TestSamlIdp,
} from "../../testing/saml-idp.js";
import { auditRows, cookieFrom, setTestPlan, userCount } from "../../testing/sso.js";
import { SESSION_COOKIE } from "../sessions.js";
import { SSO_BROWSER_COOKIE } from "./sso-flows.js";

let t: TestApp;
let org: TestOrg;
let business: TestOrg;
let idp: TestSamlIdp;
let stranger: SigningIdentity;

const base = () => `/api/v1/auth/sso/${org.organizationId}/saml`;
const spEntityId = () => new URL(`${base()}/metadata`, t.config.publicUrl).href;
const acsUrl = () => new URL(`${base()}/acs`, t.config.publicUrl).href;
const settingsUrl = (o: TestOrg = org) => `/api/v1/orgs/${o.organizationId}/sso/saml`;

beforeAll(async () => {
  t = await startTestApp({ backgroundWork: false });
  org = await createTestOrg(t.db, "Assertive Corp");
  business = await createTestOrg(t.db, "Business Only Ltd");
  await setTestPlan(t.db, org.organizationId, "enterprise");
  await setTestPlan(t.db, business.organizationId, "business");
  idp = new TestSamlIdp(await makeSigningIdentity("Test IdP"));
  stranger = await makeSigningIdentity("Someone Else");
  const put = await call(t.app, {
    method: "PUT",
    url: settingsUrl(),
    as: org.owner,
    body: { metadataXml: idp.metadataXml(), allowedDomains: ["example.test"], defaultRole: "auditor" },
  });
  expect(put.statusCode, put.body).toBe(200);
}, 60_000);
afterAll(() => t.close());

async function start(): Promise<{ requestId: string; browser: string }> {
  const response = await t.app.inject({ method: "GET", url: `${base()}/start` });
  expect(response.statusCode, response.body).toBe(302);
  const location = String(response.headers.location);
  expect(location.startsWith(`${idp.ssoUrl}?`)).toBe(true);
  return {
    requestId: TestSamlIdp.requestIdOf(location),
    browser: cookieFrom(response.headers, SSO_BROWSER_COOKIE) ?? "",
  };
}

/** What the provider's page does: a form post from its own origin to our assertion consumer. */
function post(xml: string, browser: string | null): Promise<LightMyRequestResponse> {
  return t.app.inject({
    method: "POST",
    url: `${base()}/acs`,
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      origin: "https://idp.example.test",
      ...(browser ? { cookie: `${SSO_BROWSER_COOKIE}=${browser}` } : {}),
    },
    payload: new URLSearchParams({ SAMLResponse: Buffer.from(xml).toString("base64") }).toString(),
  });
}

function answer(requestId: string, email: string, more: Partial<AssertionOptions> = {}): AssertionOptions {
  return { requestId, email, audience: spEntityId(), recipient: acsUrl(), issuer: idp.entityId, ...more };
}

async function lastFailure() {
  return (await auditRows(t.db, org.organizationId, "auth.sign_in_failed")).at(-1);
}

describe("SAML settings", () => {
  it("import the provider's metadata and show what to register there", async () => {
    const read = await call(t.app, { method: "GET", url: settingsUrl(), as: org.owner });
    expect(read.json()).toMatchObject({
      idpEntityId: idp.entityId,
      idpSsoUrl: idp.ssoUrl,
      idpCertificates: 1,
      spEntityId: spEntityId(),
      acsUrl: acsUrl(),
      defaultRole: "auditor",
    });
    const metadata = await t.app.inject({ method: "GET", url: `${base()}/metadata` });
    expect(metadata.statusCode).toBe(200);
    expect(metadata.headers["content-type"]).toContain("application/samlmetadata+xml");
    expect(metadata.body).toContain(`entityID="${spEntityId()}"`);
    expect(metadata.body).toContain(`Location="${acsUrl()}"`);
    expect(metadata.body).toContain('WantAssertionsSigned="true"');
  });

  it("refuse malformed metadata, a DOCTYPE, metadata without a certificate, unknown fields, changing nothing", async () => {
    const before = await call(t.app, { method: "GET", url: settingsUrl(), as: org.owner });
    const good = { allowedDomains: ["example.test"], defaultRole: "operator" };
    for (const metadataXml of [
      "<md:EntityDescriptor entityID='x'><unclosed>",
      `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>${idp.metadataXml().replace('<?xml version="1.0"?>', "")}`,
      idp.metadataXml().replace(/<md:KeyDescriptor[\s\S]*<\/md:KeyDescriptor>/, ""),
      idp.metadataXml().replace(/<ds:X509Certificate>[^<]+/, "<ds:X509Certificate>bm90IGEgY2VydA=="),
      "<html><body>not metadata</body></html>",
    ]) {
      const response = await call(t.app, {
        method: "PUT",
        url: settingsUrl(),
        as: org.owner,
        body: { ...good, metadataXml },
      });
      expect(response.statusCode, metadataXml.slice(0, 60)).toBe(400);
      expect(response.json<{ error: { field?: string } }>().error.field).toBe("body/metadataXml");
    }
    const unknown = await call(t.app, {
      method: "PUT",
      url: settingsUrl(),
      as: org.owner,
      body: { ...good, metadataXml: idp.metadataXml(), extra: true },
    });
    expect(unknown.statusCode).toBe(400);
    const after = await call(t.app, { method: "GET", url: settingsUrl(), as: org.owner });
    expect(after.body).toBe(before.body);
  });

  it("answer 402 naming Enterprise below it, and 404 for another tenant's organisation", async () => {
    const refused = await call(t.app, {
      method: "PUT",
      url: settingsUrl(business),
      as: business.owner,
      body: { metadataXml: idp.metadataXml(), allowedDomains: ["example.test"], defaultRole: "auditor" },
    });
    expect(refused.statusCode).toBe(402);
    expect(refused.json<{ error: { message: string } }>().error.message).toContain("Enterprise");
    const other = await call(t.app, { method: "GET", url: settingsUrl(), as: business.owner });
    expect(other.statusCode).toBe(404);
    const change = await call(t.app, { method: "DELETE", url: settingsUrl(), as: business.owner });
    expect(change.statusCode).toBe(404);
  });
});

describe("SAML sign-in", () => {
  it("accepts a signed assertion: just-in-time member with the default role, a working session", async () => {
    const before = await userCount(t.db);
    const { requestId, browser } = await start();
    const response = await post(idp.signedResponse(answer(requestId, "Grace@Example.test")), browser);
    expect(response.statusCode, response.body).toBe(303);
    const session = cookieFrom(response.headers, SESSION_COOKIE) ?? "";
    expect(session).toMatch(/^pps_/);
    expect(await userCount(t.db)).toBe(before + 1);
    const users = await t.app.inject({
      method: "GET",
      url: `/api/v1/orgs/${org.organizationId}/users`,
      headers: { cookie: `${SESSION_COOKIE}=${session}` },
    });
    expect(users.statusCode).toBe(200);
    expect(users.body).toContain("grace@example.test");
    expect((await auditRows(t.db, org.organizationId, "users.added")).at(-1)?.details).toMatchObject({
      role: "auditor",
      via: "saml",
    });
    expect((await auditRows(t.db, org.organizationId, "auth.signed_in")).at(-1)?.details).toMatchObject({
      method: "saml",
    });
  });

  it("signs in an existing member", async () => {
    const member = await addTestMember(t.db, org.organizationId, "operator", "saml-member");
    const { requestId, browser } = await start();
    const response = await post(idp.signedResponse(answer(requestId, member.email)), browser);
    expect(response.statusCode, response.body).toBe(303);
  });

  it("refuses unsigned, foreign-signed, altered, wrong-audience, expired, wrong-recipient answers and other domains", async () => {
    const before = await userCount(t.db);
    const cases: [string, (requestId: string) => string, RegExp][] = [
      ["unsigned", (id) => idp.unsignedResponse(answer(id, "henry@example.test")), /signature/i],
      [
        "signed by another key",
        (id) => idp.signedResponse(answer(id, "henry@example.test"), stranger),
        /signature/i,
      ],
      [
        "altered after signing",
        (id) =>
          idp
            .signedResponse(answer(id, "henry@example.test"))
            .replaceAll("henry@example.test", "root@example.test"),
        /signature/i,
      ],
      [
        "wrong audience",
        (id) => idp.signedResponse(answer(id, "henry@example.test", { audience: "https://other.sp/" })),
        /audience/i,
      ],
      [
        "expired",
        (id) =>
          idp.signedResponse(
            answer(id, "henry@example.test", {
              notBefore: new Date(Date.now() - 3 * 3600_000),
              notOnOrAfter: new Date(Date.now() - 2 * 3600_000),
            }),
          ),
        // The subject confirmation expired with the conditions: node-saml finds no valid one.
        /expired|NotOnOrAfter|No valid subject confirmation/i,
      ],
      [
        "not yet valid",
        (id) =>
          idp.signedResponse(
            answer(id, "henry@example.test", { notBefore: new Date(Date.now() + 3600_000) }),
          ),
        /NotBefore|not yet/i,
      ],
      [
        "wrong recipient",
        (id) =>
          idp.signedResponse(
            answer(id, "henry@example.test", {
              recipient: "https://evil.example/acs",
              destination: acsUrl(),
            }),
          ),
        /recipient/,
      ],
      [
        "wrong issuer",
        (id) => idp.signedResponse(answer(id, "henry@example.test", { issuer: "https://evil.example/idp" })),
        /issuer/i,
      ],
      [
        "other request",
        () => idp.signedResponse(answer("_not-our-request", "henry@example.test")),
        /state|InResponseTo/,
      ],
      ["other domain", (id) => idp.signedResponse(answer(id, "henry@elsewhere.test")), /domain_not_allowed/],
    ];
    cases.push([
      "wrong destination",
      (id) =>
        idp.signedResponse(answer(id, "henry@example.test", { destination: "https://evil.example/acs" })),
      /destination/,
    ]);
    for (const [label, build, reason] of cases) {
      const { requestId, browser } = await start();
      const response = await post(build(requestId), browser);
      expect(response.statusCode, `${label}: ${response.body}`).toBeGreaterThanOrEqual(401);
      expect(response.statusCode, label).toBeLessThanOrEqual(403);
      expect(cookieFrom(response.headers, SESSION_COOKIE) ?? "", label).toBe("");
      const failure = await lastFailure();
      expect(`${failure?.error_code} ${String(failure?.details.reason)}`, label).toMatch(reason);
    }
    expect(await userCount(t.db)).toBe(before);
  });

  it("refuses a replayed answer and a replayed assertion id", async () => {
    const first = await start();
    const signed = idp.signedResponse(
      answer(first.requestId, "ivy@example.test", { assertionId: "_replayed-assertion" }),
    );
    expect((await post(signed, first.browser)).statusCode).toBe(303);
    // The very same post again: its sign-in was used up.
    const again = await post(signed, first.browser);
    expect(again.statusCode).toBe(401);
    expect((await lastFailure())?.details.reason).toBe("replayed_state");
    // The same assertion id inside a fresh, properly signed answer to a new sign-in.
    const second = await start();
    const reused = await post(
      idp.signedResponse(
        answer(second.requestId, "ivy@example.test", { assertionId: "_replayed-assertion" }),
      ),
      second.browser,
    );
    expect(reused.statusCode).toBe(401);
    expect((await lastFailure())?.details.reason).toBe("replayed_assertion");
  });

  it("refuses an answer without the browser binding of the sign-in it claims", async () => {
    const { requestId } = await start();
    const response = await post(idp.signedResponse(answer(requestId, "jack@example.test")), null);
    expect(response.statusCode).toBe(401);
    expect((await lastFailure())?.details.reason).toBe("other_browser");
  });
});

describe("the cross-site form exception", () => {
  it("is the assertion consumer's alone: other routes refuse forms and foreign origins as before", async () => {
    const form = await t.app.inject({
      method: "POST",
      url: "/api/v1/auth/sign-in",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: "email=a%40example.test&password=x",
    });
    expect(form.statusCode).toBe(415);
    const foreign = await t.app.inject({
      method: "POST",
      url: "/api/v1/auth/sign-in",
      headers: { origin: "https://idp.example.test" },
      payload: { email: "a@example.test", password: "x" },
    });
    expect(foreign.statusCode).toBe(403);
    expect(foreign.json<{ error: { code: string } }>().error.code).toBe("auth.csrf_failed");
    const unknownField = await t.app.inject({
      method: "POST",
      url: `${base()}/acs`,
      headers: { "content-type": "application/x-www-form-urlencoded", origin: "https://idp.example.test" },
      payload: "SAMLResponse=PHg%2BPC94Pg%3D%3D&Surprise=1",
    });
    expect(unknownField.statusCode).toBe(400);
  });
});
