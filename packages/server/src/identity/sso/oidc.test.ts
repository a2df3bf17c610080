import { generateKeyPairSync } from "node:crypto";
import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addTestMember,
  call,
  createTestOrg,
  startTestApp,
  TEST_PASSWORD,
  type TestApp,
  type TestOrg,
} from "../../testing/app.js";
import { TestOidcProvider } from "../../testing/oidc-idp.js";
import { auditRows, cookieFrom, setTestPlan, userCount } from "../../testing/sso.js";
import { SESSION_COOKIE } from "../sessions.js";
import { SSO_BROWSER_COOKIE } from "./sso-flows.js";

let t: TestApp;
let org: TestOrg;
let other: TestOrg;
const idp = new TestOidcProvider();

const settingsUrl = () => `/api/v1/orgs/${org.organizationId}/sso/oidc`;
const redirectUri = () =>
  new URL(`/api/v1/auth/sso/${org.organizationId}/oidc/callback`, t.config.publicUrl).href;

beforeAll(async () => {
  t = await startTestApp({ backgroundWork: false, ssoFetch: (input, init) => idp.fetch(input, init) });
  org = await createTestOrg(t.db, "Single Sign Ltd");
  other = await createTestOrg(t.db, "Elsewhere Ltd");
  await setTestPlan(t.db, org.organizationId, "business");
  await idp.start(redirectUri());
  const put = await call(t.app, {
    method: "PUT",
    url: settingsUrl(),
    as: org.owner,
    body: {
      issuer: idp.issuer,
      clientId: idp.clientId,
      clientSecret: idp.clientSecret,
      allowedDomains: ["Example.TEST"],
      defaultRole: "operator",
      enabled: true,
      ssoRequired: false,
    },
  });
  expect(put.statusCode, put.body).toBe(200);
}, 60_000);
afterAll(async () => {
  await idp.stop();
  await t.close();
});

/** A browser's sign-in: start at PatchPilot, through the provider, back to the callback. */
async function signInAs(login: string): Promise<{ callback: URL; browser: string }> {
  idp.nextLogin = login;
  const start = await t.app.inject({
    method: "GET",
    url: `/api/v1/auth/sso/${org.organizationId}/oidc/start`,
  });
  expect(start.statusCode, start.body).toBe(302);
  const browser = cookieFrom(start.headers, SSO_BROWSER_COOKIE) ?? "";
  expect(browser).not.toBe("");
  const callback = await idp.browse(String(start.headers.location), redirectUri());
  return { callback, browser };
}

function returnTo(callback: URL, browser: string | null): Promise<LightMyRequestResponse> {
  return t.app.inject({
    method: "GET",
    url: `${callback.pathname}${callback.search}`,
    headers: browser ? { cookie: `${SSO_BROWSER_COOKIE}=${browser}` } : {},
  });
}

function account(login: string, email: string, verified = true) {
  idp.accounts.set(login, { email, email_verified: verified, name: `${login} Person` });
}

async function failures(reasonCode: string) {
  return (await auditRows(t.db, org.organizationId, "auth.sign_in_failed")).filter(
    (r) => r.error_code === reasonCode,
  );
}

describe("OpenID Connect settings", () => {
  it("never return the client secret, in the answer or the audit row, and store it sealed", async () => {
    const read = await call(t.app, { method: "GET", url: settingsUrl(), as: org.owner });
    expect(read.statusCode).toBe(200);
    expect(read.json()).toMatchObject({
      hasClientSecret: true,
      allowedDomains: ["example.test"],
      defaultRole: "operator",
    });
    expect(read.body).not.toContain(idp.clientSecret);
    const stored = await t.db.owner.query<Record<string, unknown>>(
      "SELECT * FROM sso_oidc_configs WHERE organization_id = $1",
      [org.organizationId],
    );
    expect(JSON.stringify(stored)).not.toContain(idp.clientSecret);
    const audited = await auditRows(t.db, org.organizationId, "sso.oidc_configured");
    expect(audited.at(-1)?.details).toMatchObject({ issuer: idp.issuer, clientId: idp.clientId });
    expect(JSON.stringify(audited)).not.toContain(idp.clientSecret);
  });

  it("refuse unknown fields, a malformed or plain-http issuer, a bad domain, an Owner default role", async () => {
    const base = {
      issuer: idp.issuer,
      clientId: "x",
      allowedDomains: ["example.test"],
      defaultRole: "operator",
    };
    for (const [body, field] of [
      [{ ...base, surprise: 1 }, "body"],
      [{ ...base, issuer: "not a url at all" }, "body/issuer"],
      [{ ...base, issuer: "http://login.example.com" }, "body/issuer"],
      [{ ...base, issuer: "https://user:pw@login.example.com" }, "body/issuer"],
      [{ ...base, allowedDomains: ["not_a domain"] }, "body/allowedDomains/0"],
      [{ ...base, defaultRole: "owner" }, "body/defaultRole"],
      [{ ...base, enabled: "yes" }, "body/enabled"],
    ] as const) {
      const response = await call(t.app, { method: "PUT", url: settingsUrl(), as: org.owner, body });
      expect(response.statusCode, JSON.stringify(body)).toBe(400);
      expect(response.json<{ error: { field?: string } }>().error.field ?? "").toContain(
        field === "body" ? "" : field,
      );
    }
    const read = await call(t.app, { method: "GET", url: settingsUrl(), as: org.owner });
    expect(read.json()).toMatchObject({ issuer: idp.issuer, clientId: idp.clientId });
  });

  it("answer 402 naming Business for a Free organisation, and 404 for another tenant's", async () => {
    const free = await call(t.app, {
      method: "PUT",
      url: `/api/v1/orgs/${other.organizationId}/sso/oidc`,
      as: other.owner,
      body: {
        issuer: idp.issuer,
        clientId: "x",
        clientSecret: "y",
        allowedDomains: ["example.test"],
        defaultRole: "auditor",
      },
    });
    expect(free.statusCode).toBe(402);
    expect(free.json<{ error: { message: string } }>().error.message).toContain("Business");
    const stranger = await call(t.app, { method: "GET", url: settingsUrl(), as: other.owner });
    expect(stranger.statusCode).toBe(404);
    const auditor = await addTestMember(t.db, org.organizationId, "auditor");
    expect((await call(t.app, { method: "GET", url: settingsUrl(), as: auditor })).statusCode).toBe(403);
  });
});

describe("OpenID Connect sign-in", () => {
  it("provisions a new person just in time with the default role and opens a working session", async () => {
    account("alice", "Alice.New@example.test");
    const before = await userCount(t.db);
    const { callback, browser } = await signInAs("alice");
    const done = await returnTo(callback, browser);
    expect(done.statusCode, done.body).toBe(303);
    expect(done.headers.location).toBe("/");
    const session = cookieFrom(done.headers, SESSION_COOKIE) ?? "";
    expect(session).toMatch(/^pps_/);
    expect(await userCount(t.db)).toBe(before + 1);

    const me = await t.app.inject({
      method: "GET",
      url: "/api/v1/me",
      headers: { cookie: `${SESSION_COOKIE}=${session}` },
    });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ user: { email: "alice.new@example.test" } });
    const users = await t.app.inject({
      method: "GET",
      url: `/api/v1/orgs/${org.organizationId}/users`,
      headers: { cookie: `${SESSION_COOKIE}=${session}` },
    });
    expect(users.statusCode).toBe(200);
    expect(users.body).toContain('"operator"');
    const added = await auditRows(t.db, org.organizationId, "users.added");
    expect(added.at(-1)?.details).toMatchObject({ role: "operator", via: "oidc" });
    const signedIn = await auditRows(t.db, org.organizationId, "auth.signed_in");
    expect(signedIn.at(-1)).toMatchObject({ actor_type: "user", details: { method: "oidc" } });

    // The same answer again: the state was used up.
    const replay = await returnTo(callback, browser);
    expect(replay.statusCode).toBe(401);
    expect(replay.json<{ error: { code: string } }>().error.code).toBe("sso.flow_invalid");
    expect((await failures("sso.flow_invalid")).at(-1)?.details).toMatchObject({ reason: "replayed_state" });
  });

  it("signs in an existing member, reaching only this organisation", async () => {
    const member = await addTestMember(t.db, org.organizationId, "admin", "sso-member");
    await t.db.owner.query(
      "INSERT INTO memberships (organization_id, user_id, role) VALUES ($1, $2, 'admin')",
      [other.organizationId, member.userId],
    );
    account("member", member.email);
    const before = await userCount(t.db);
    const { callback, browser } = await signInAs("member");
    const done = await returnTo(callback, browser);
    expect(done.statusCode, done.body).toBe(303);
    expect(await userCount(t.db)).toBe(before);
    const cookie = `${SESSION_COOKIE}=${cookieFrom(done.headers, SESSION_COOKIE)}`;
    const here = await t.app.inject({
      method: "GET",
      url: `/api/v1/orgs/${org.organizationId}/users`,
      headers: { cookie },
    });
    expect(here.statusCode).toBe(200);
    // The other organisation never trusted this provider.
    const there = await t.app.inject({
      method: "GET",
      url: `/api/v1/orgs/${other.organizationId}/users`,
      headers: { cookie },
    });
    expect(there.statusCode).toBe(404);
  });

  it("refuses an Owner (their password is the way in), a wrong domain, an unverified email, another organisation's person", async () => {
    account("owner", org.owner.email);
    account("outsider", "mallory@other.test");
    account("unverified", "unverified@example.test", false);
    account("foreign", other.owner.email.replace("@example.test", "@example.test"));
    const before = await userCount(t.db);
    for (const [login, code] of [
      ["owner", "sso.owner_uses_password"],
      ["outsider", "sso.domain_not_allowed"],
      ["unverified", "sso.email_not_verified"],
      ["foreign", "sso.not_member"],
    ] as const) {
      const { callback, browser } = await signInAs(login);
      const done = await returnTo(callback, browser);
      expect(done.statusCode, login).toBe(403);
      expect(done.json<{ error: { code: string } }>().error.code).toBe(code);
      expect(cookieFrom(done.headers, SESSION_COOKIE) ?? "").toBe("");
      expect(await failures(code)).not.toHaveLength(0);
    }
    expect(await userCount(t.db)).toBe(before);
  });

  it("refuses tampered, foreign-signed, wrong-audience and expired ID tokens, creating nothing", async () => {
    account("carol", "carol@example.test");
    const otherKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
    const now = Math.floor(Date.now() / 1000);
    const tampers: [string, (idToken: string) => string][] = [
      // A flipped byte in the signature.
      ["flipped byte", (tok) => `${tok.slice(0, -5)}${tok.at(-5) === "A" ? "B" : "A"}${tok.slice(-4)}`],
      // The same claims signed by someone else's key under the provider's key id.
      ["another key", (tok) => idp.signJwt(TestOidcProvider.claimsOf(tok), otherKey)],
      // Properly signed by the provider, but for another client.
      ["wrong audience", (tok) => idp.signJwt({ ...TestOidcProvider.claimsOf(tok), aud: "someone-else" })],
      [
        "expired",
        (tok) => idp.signJwt({ ...TestOidcProvider.claimsOf(tok), iat: now - 7200, exp: now - 3600 }),
      ],
      ["wrong nonce", (tok) => idp.signJwt({ ...TestOidcProvider.claimsOf(tok), nonce: "replayed-nonce" })],
      [
        "wrong issuer",
        (tok) => idp.signJwt({ ...TestOidcProvider.claimsOf(tok), iss: "https://evil.example" }),
      ],
    ];
    // What openid-client (oauth4webapi) says each time: the check that caught it.
    const reasons: Record<string, RegExp> = {
      "flipped byte": /signature verification failed/,
      "another key": /signature verification failed/,
      "wrong audience": /"aud"/,
      expired: /"exp"/,
      "wrong nonce": /"nonce"/,
      "wrong issuer": /"iss"/,
    };
    const before = await userCount(t.db);
    try {
      for (const [label, change] of tampers) {
        idp.tamper = (body) => ({ ...body, id_token: change(String(body.id_token)) });
        const previous = (await failures("sso.response_invalid")).length;
        const { callback, browser } = await signInAs("carol");
        const done = await returnTo(callback, browser);
        expect(done.statusCode, `${label}: ${done.body}`).toBe(401);
        expect(done.json<{ error: { code: string } }>().error.code).toBe("sso.response_invalid");
        expect(cookieFrom(done.headers, SESSION_COOKIE) ?? "", label).toBe("");
        const refusals = await failures("sso.response_invalid");
        expect(refusals.length, label).toBe(previous + 1);
        expect(String(refusals.at(-1)?.details.reason), label).toMatch(reasons[label] ?? /^$/);
      }
    } finally {
      idp.tamper = null;
    }
    expect(await userCount(t.db)).toBe(before);
    // The same person, untampered, gets in.
    const { callback, browser } = await signInAs("carol");
    expect((await returnTo(callback, browser)).statusCode).toBe(303);
  });

  it("refuses an answer that arrives in another browser (no binding cookie)", async () => {
    account("dave", "dave@example.test");
    const { callback } = await signInAs("dave");
    const done = await returnTo(callback, null);
    expect(done.statusCode).toBe(401);
    expect((await failures("sso.flow_invalid")).at(-1)?.details).toMatchObject({ reason: "other_browser" });
  });

  it("is not offered by an organisation without it", async () => {
    const start = await t.app.inject({
      method: "GET",
      url: `/api/v1/auth/sso/${other.organizationId}/oidc/start`,
    });
    expect(start.statusCode).toBe(404);
    const unknown = await t.app.inject({ method: "GET", url: "/api/v1/auth/sso/not-a-uuid/oidc/start" });
    expect(unknown.statusCode).toBe(400);
  });
});

describe("the organisation's second-factor requirement", () => {
  it("is met by a session its own provider opened, and by nothing that session means elsewhere", async () => {
    const require = (twoFactorRequired: string) =>
      call(t.app, {
        method: "PUT",
        url: `/api/v1/orgs/${org.organizationId}/security-settings`,
        as: org.owner,
        body: { twoFactorRequired },
      });
    account("frank", "frank@example.test");
    const { callback, browser } = await signInAs("frank");
    const done = await returnTo(callback, browser);
    expect(done.statusCode).toBe(303);
    const cookie = `${SESSION_COOKIE}=${cookieFrom(done.headers, SESSION_COOKIE)}`;
    const passwordMember = await addTestMember(t.db, org.organizationId, "operator", "no-2fa");
    try {
      expect((await require("all")).statusCode).toBe(200);
      const viaIdp = await t.app.inject({
        method: "GET",
        url: `/api/v1/orgs/${org.organizationId}/users`,
        headers: { cookie },
      });
      expect(viaIdp.statusCode).toBe(200);
      const viaPassword = await call(t.app, {
        method: "GET",
        url: `/api/v1/orgs/${org.organizationId}/users`,
        as: passwordMember,
      });
      expect(viaPassword.statusCode).toBe(403);
    } finally {
      // The Owner has no second factor either, so the requirement is lifted behind the API's back.
      await t.db.owner.query(
        "UPDATE organization_security_settings SET two_factor_required = 'off' WHERE organization_id = $1",
        [org.organizationId],
      );
    }
  });
});

describe("SSO required", () => {
  it("refuses a member's password sign-in and lets the Owner in (break-glass), both audited", async () => {
    const member = await addTestMember(t.db, org.organizationId, "operator", "pw-member");
    const set = await call(t.app, {
      method: "PUT",
      url: settingsUrl(),
      as: org.owner,
      body: {
        issuer: idp.issuer,
        clientId: idp.clientId,
        allowedDomains: ["example.test"],
        defaultRole: "operator",
        enabled: true,
        ssoRequired: true,
      },
    });
    expect(set.statusCode, set.body).toBe(200);
    expect(set.json()).toMatchObject({ hasClientSecret: true, ssoRequired: true });
    const refused = await t.app.inject({
      method: "POST",
      url: "/api/v1/auth/sign-in",
      payload: { email: member.email, password: TEST_PASSWORD },
    });
    expect(refused.statusCode).toBe(403);
    expect(refused.json<{ error: { code: string; message: string } }>().error).toMatchObject({
      code: "sso.required",
    });
    expect(await failures("sso.required")).toHaveLength(1);
    const owner = await t.app.inject({
      method: "POST",
      url: "/api/v1/auth/sign-in",
      payload: { email: org.owner.email, password: TEST_PASSWORD },
    });
    expect(owner.statusCode, owner.body).toBe(200);
    expect(await auditRows(t.db, org.organizationId, "auth.sso_bypassed")).toHaveLength(1);
    // The client secret was kept when the update left it out; SSO still works.
    account("erin", "erin@example.test");
    const { callback, browser } = await signInAs("erin");
    expect((await returnTo(callback, browser)).statusCode).toBe(303);
  });
});
