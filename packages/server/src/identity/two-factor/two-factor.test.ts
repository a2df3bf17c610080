import { execFileSync } from "node:child_process";
import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addTestMember,
  call,
  createTestOrg,
  startTestApp,
  TEST_PASSWORD,
  type TestApp,
  type TestPerson,
} from "../../testing/app.js";
import { awayFromStepEdge } from "../../testing/identity-scenarios.js";
import { requirePeer } from "../../testing/peers.js";
import { SESSION_COOKIE } from "../sessions.js";
import { matchTotp, newTotpSecret, totpCode } from "./totp.js";

const hasOathtool = requirePeer("oathtool", "oathtool");

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ backgroundWork: false });
});
afterAll(() => t.close());

/** A code from Debian's oathtool, the reference implementation, for a time `offset` seconds from now. */
function oathtool(secret: string, offsetSeconds = 0, at?: number): string {
  const epoch = at ?? Math.floor(Date.now() / 1000) + offsetSeconds;
  return execFileSync("oathtool", ["--totp", "-b", "-N", `@${epoch}`, secret], { encoding: "utf8" }).trim();
}

let ipCounter = 0;
function nextIp(): string {
  ipCounter++;
  return `198.51.100.${ipCounter}`;
}

function post(url: string, body: unknown, ip: string): Promise<LightMyRequestResponse> {
  return t.app.inject({ method: "POST", url, payload: body as Record<string, unknown>, remoteAddress: ip });
}

function hasSessionCookie(res: LightMyRequestResponse): boolean {
  const raw = res.headers["set-cookie"];
  const list = raw === undefined ? [] : Array.isArray(raw) ? raw : [String(raw)];
  return list.some((c) => c.startsWith(`${SESSION_COOKIE}=`) && !c.startsWith(`${SESSION_COOKIE}=;`));
}

/**
 * Enrols a person's authenticator through the API and confirms it with oathtool's code at `offset`.
 * A step edge between the code and its check would move an offset of -30 out of the window, so the
 * enrolment starts well inside a step.
 */
async function enrol(person: TestPerson, offset = 0): Promise<{ secret: string; recoveryCodes: string[] }> {
  await awayFromStepEdge(10);
  const started = await call(t.app, { method: "POST", url: "/api/v1/me/two-factor/enrollment", as: person });
  expect(started.statusCode).toBe(200);
  const { secret } = started.json<{ secret: string }>();
  const confirmed = await call(t.app, {
    method: "POST",
    url: "/api/v1/me/two-factor/confirmation",
    as: person,
    body: { code: oathtool(secret, offset) },
  });
  expect(confirmed.statusCode, confirmed.body).toBe(200);
  return { secret, recoveryCodes: confirmed.json<{ recoveryCodes: string[] }>().recoveryCodes };
}

async function challenge(email: string, ip: string): Promise<string> {
  const res = await post("/api/v1/auth/sign-in", { email, password: TEST_PASSWORD }, ip);
  expect(res.statusCode, res.body).toBe(200);
  const body = res.json<{ secondFactorRequired: boolean; challenge: string }>();
  expect(body.secondFactorRequired).toBe(true);
  expect(hasSessionCookie(res)).toBe(false);
  return body.challenge;
}

async function auditActions(
  userId: string,
): Promise<{ action: string; result: string; error_code: string | null }[]> {
  return t.db.owner.query(
    "SELECT action, result, error_code FROM audit_events WHERE target_id = $1 OR actor_id = $1 ORDER BY occurred_at, seq",
    [userId],
  );
}

describe("TOTP codes", () => {
  // RFC 6238 appendix B, SHA-1: the 20-byte ASCII key "12345678901234567890", 8 digits.
  const RFC_KEY = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
  const vectors: [number, string][] = [
    [59, "94287082"],
    [1111111109, "07081804"],
    [1111111111, "14050471"],
    [1234567890, "89005924"],
    [2000000000, "69279037"],
    [20000000000, "65353130"],
  ];
  it.each(vectors)("match RFC 6238's test vector at T=%i", async (time, expected) => {
    expect(await totpCode(RFC_KEY, time, 8)).toBe(expected);
  });

  it.skipIf(!hasOathtool)("match Debian's oathtool for fresh keys at many times", async () => {
    for (let i = 0; i < 20; i++) {
      const secret = newTotpSecret();
      const at = 1_700_000_000 + i * 7919;
      expect(await totpCode(secret, at)).toBe(oathtool(secret, 0, at));
    }
  });

  it("accept the step before and after, refuse further ones and already used steps", async () => {
    const secret = newTotpSecret();
    const now = 1_800_000_015;
    const step = Math.floor(now / 30);
    expect(await matchTotp(secret, await totpCode(secret, now - 30), now, null)).toBe(step - 1);
    expect(await matchTotp(secret, await totpCode(secret, now + 30), now, null)).toBe(step + 1);
    expect(await matchTotp(secret, await totpCode(secret, now - 60), now, null)).toBeNull();
    expect(await matchTotp(secret, await totpCode(secret, now + 60), now, null)).toBeNull();
    expect(await matchTotp(secret, await totpCode(secret, now), now, step)).toBeNull();
    expect(await matchTotp(secret, await totpCode(secret, now), now, step - 1)).toBe(step);
    expect(await matchTotp(secret, "12345", now, null)).toBeNull();
  });
});

describe.skipIf(!hasOathtool)("two-factor sign-in", () => {
  it("enrols with a QR code and a typed key, confirms with a code, and stores the key sealed", async () => {
    const org = await createTestOrg(t.db);
    const person = await addTestMember(t.db, org.organizationId, "operator");
    const started = await call(t.app, {
      method: "POST",
      url: "/api/v1/me/two-factor/enrollment",
      as: person,
    });
    const body = started.json<{ secret: string; otpauthUri: string; qrCode: string }>();
    expect(body.secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(body.qrCode).toMatch(/^data:image\/png;base64,/);
    expect(body.otpauthUri).toContain(`secret=${body.secret}`);
    const stored = await t.db.owner.query<{ secret_sealed: string }>(
      "SELECT secret_sealed FROM user_totp WHERE user_id = $1",
      [person.userId],
    );
    expect(stored[0]?.secret_sealed).toMatch(/^v1:/);
    expect(stored[0]?.secret_sealed).not.toContain(body.secret);

    // Not on until confirmed: sign-in still opens a session directly.
    const before = await post(
      "/api/v1/auth/sign-in",
      { email: person.email, password: TEST_PASSWORD },
      nextIp(),
    );
    expect(hasSessionCookie(before)).toBe(true);

    const wrong = await call(t.app, {
      method: "POST",
      url: "/api/v1/me/two-factor/confirmation",
      as: person,
      body: { code: oathtool(body.secret, 300) },
    });
    // Signed in, a wrong code is 403 (like a wrong current password): the session is still good.
    expect(wrong.statusCode).toBe(403);
    expect(wrong.json().error.code).toBe("two_factor.code_incorrect");
    const ok = await call(t.app, {
      method: "POST",
      url: "/api/v1/me/two-factor/confirmation",
      as: person,
      body: { code: oathtool(body.secret) },
    });
    expect(ok.statusCode).toBe(200);
    const codes = ok.json<{ recoveryCodes: string[] }>().recoveryCodes;
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    const hashes = await t.db.owner.query<{ code_hash: Buffer }>(
      "SELECT code_hash FROM user_recovery_codes WHERE user_id = $1",
      [person.userId],
    );
    expect(hashes).toHaveLength(10);
    expect(hashes.map((h) => Buffer.from(h.code_hash).toString("utf8")).join()).not.toContain(codes[0]);

    const status = await call(t.app, { method: "GET", url: "/api/v1/me/two-factor", as: person });
    expect(status.json()).toMatchObject({ enabled: true, recoveryCodesLeft: 10 });
    const again = await call(t.app, { method: "POST", url: "/api/v1/me/two-factor/enrollment", as: person });
    expect(again.statusCode).toBe(409);
    const actions = (await auditActions(person.userId)).map((a) => `${a.action}:${a.result}`);
    expect(actions).toEqual(
      expect.arrayContaining([
        "two_factor.enrollment_started:success",
        "two_factor.confirmation_failed:failure",
        "two_factor.enabled:success",
      ]),
    );
  });

  it("asks for the code after the password, accepts the steps around now once each, and refuses replays", async () => {
    const org = await createTestOrg(t.db);
    const person = await addTestMember(t.db, org.organizationId, "admin");
    // Confirmed with the previous step's code, so the current and next steps are still unused.
    const { secret } = await enrol(person, -30);
    const ip = nextIp();

    const first = await challenge(person.email, ip);
    const current = oathtool(secret);
    const signedIn = await post("/api/v1/auth/second-factor", { challenge: first, code: current }, ip);
    expect(signedIn.statusCode, signedIn.body).toBe(200);
    expect(hasSessionCookie(signedIn)).toBe(true);
    expect(signedIn.json().user.id).toBe(person.userId);

    // The same code again, with a new challenge: refused (an intercepted code is worth nothing).
    const replayed = await post(
      "/api/v1/auth/second-factor",
      { challenge: await challenge(person.email, ip), code: current },
      ip,
    );
    expect(replayed.statusCode).toBe(401);
    expect(replayed.json().error.code).toBe("two_factor.invalid_code");
    expect(hasSessionCookie(replayed)).toBe(false);
    // An older step's code after a newer one was used: refused too.
    const older = await post(
      "/api/v1/auth/second-factor",
      { challenge: await challenge(person.email, ip), code: oathtool(secret, -30) },
      ip,
    );
    expect(older.statusCode).toBe(401);

    // The next step (a clock a little ahead) is accepted, once; a challenge is single use.
    const next = await challenge(person.email, ip);
    const ahead = await post(
      "/api/v1/auth/second-factor",
      { challenge: next, code: oathtool(secret, 30) },
      ip,
    );
    expect(ahead.statusCode).toBe(200);
    const reused = await post(
      "/api/v1/auth/second-factor",
      { challenge: next, code: oathtool(secret, 60) },
      ip,
    );
    expect(reused.statusCode).toBe(401);
    expect(reused.json().error.code).toBe("two_factor.invalid_challenge");
    // Two steps away is outside the window.
    const far = await post(
      "/api/v1/auth/second-factor",
      { challenge: await challenge(person.email, ip), code: oathtool(secret, 90) },
      ip,
    );
    expect(far.statusCode).toBe(401);

    const rows = await auditActions(person.userId);
    expect(rows.filter((r) => r.action === "auth.signed_in")).toHaveLength(2);
    expect(rows.filter((r) => r.error_code === "two_factor.invalid_code").length).toBeGreaterThanOrEqual(3);
  });

  it("accepts each recovery code once", async () => {
    const org = await createTestOrg(t.db);
    const person = await addTestMember(t.db, org.organizationId, "auditor");
    const { recoveryCodes } = await enrol(person);
    const ip = nextIp();
    const code = recoveryCodes[3] ?? "";
    const ok = await post(
      "/api/v1/auth/second-factor",
      { challenge: await challenge(person.email, ip), code: code.toUpperCase() },
      ip,
    );
    expect(ok.statusCode).toBe(200);
    const again = await post(
      "/api/v1/auth/second-factor",
      { challenge: await challenge(person.email, ip), code },
      ip,
    );
    expect(again.statusCode).toBe(401);
    const status = await call(t.app, { method: "GET", url: "/api/v1/me/two-factor", as: person });
    expect(status.json().recoveryCodesLeft).toBe(9);
  });

  it("falls back to recovery codes when the key no longer opens (a restore without the server key)", async () => {
    const org = await createTestOrg(t.db);
    const person = await addTestMember(t.db, org.organizationId, "operator");
    const { secret, recoveryCodes } = await enrol(person, -30);
    await t.db.owner.query("UPDATE user_totp SET secret_sealed = $1 WHERE user_id = $2", [
      `v1:${Buffer.alloc(48, 7).toString("base64url")}`,
      person.userId,
    ]);
    const ip = nextIp();
    const totp = await post(
      "/api/v1/auth/second-factor",
      { challenge: await challenge(person.email, ip), code: oathtool(secret) },
      ip,
    );
    expect(totp.statusCode).toBe(401);
    const recovery = await post(
      "/api/v1/auth/second-factor",
      { challenge: await challenge(person.email, ip), code: recoveryCodes[0] },
      ip,
    );
    expect(recovery.statusCode).toBe(200);
  });

  it("counts wrong codes towards the account's sign-in lockout", async () => {
    const org = await createTestOrg(t.db);
    const person = await addTestMember(t.db, org.organizationId, "operator");
    const { secret } = await enrol(person);
    const ip = nextIp();
    let pending = await challenge(person.email, ip);
    // Five wrong codes use up a challenge; the password step is needed again for the next five.
    for (let i = 0; i < 10; i++) {
      if (i === 5) pending = await challenge(person.email, ip);
      const res = await post("/api/v1/auth/second-factor", { challenge: pending, code: "000000" }, ip);
      expect(res.statusCode).toBe(401);
    }
    // Ten failures: the account is locked, for the password step and a right code alike.
    const locked = await post(
      "/api/v1/auth/sign-in",
      { email: person.email, password: TEST_PASSWORD },
      nextIp(),
    );
    expect(locked.statusCode).toBe(429);
    expect(locked.headers["retry-after"]).toBeDefined();
    const right = await post(
      "/api/v1/auth/second-factor",
      { challenge: pending, code: oathtool(secret) },
      ip,
    );
    expect(right.statusCode).not.toBe(200);
  });

  it("refuses a malformed, unknown or expired challenge before checking any code", async () => {
    const ip = nextIp();
    const malformed = await post(
      "/api/v1/auth/second-factor",
      { challenge: "ppsc_notachallenge", code: "123456" },
      ip,
    );
    expect(malformed.statusCode).toBe(401);
    expect(malformed.json().error.code).toBe("two_factor.invalid_challenge");
    const org = await createTestOrg(t.db);
    const person = await addTestMember(t.db, org.organizationId, "operator");
    const { secret } = await enrol(person, -30);
    const pending = await challenge(person.email, ip);
    await t.db.owner.query(
      "UPDATE pending_sign_ins SET expires_at = now() - interval '1 second' WHERE user_id = $1",
      [person.userId],
    );
    const expired = await post(
      "/api/v1/auth/second-factor",
      { challenge: pending, code: oathtool(secret) },
      ip,
    );
    expect(expired.statusCode).toBe(401);
    expect(expired.json().error.code).toBe("two_factor.invalid_challenge");
    const bad = await post("/api/v1/auth/second-factor", { challenge: pending, code: "12<45>" }, ip);
    expect(bad.statusCode).toBe(400);
  });

  it("turns off only with the password and a current code", async () => {
    const org = await createTestOrg(t.db);
    const person = await addTestMember(t.db, org.organizationId, "operator");
    const { secret } = await enrol(person, -30);
    const wrongPassword = await call(t.app, {
      method: "POST",
      url: "/api/v1/me/two-factor/disable",
      as: person,
      body: { password: "not the password at all", code: oathtool(secret) },
    });
    expect(wrongPassword.statusCode).toBe(403);
    const wrongCode = await call(t.app, {
      method: "POST",
      url: "/api/v1/me/two-factor/disable",
      as: person,
      body: { password: TEST_PASSWORD, code: "000000" },
    });
    expect(wrongCode.statusCode).toBe(403);
    expect(
      (await call(t.app, { method: "GET", url: "/api/v1/me/two-factor", as: person })).json().enabled,
    ).toBe(true);
    const off = await call(t.app, {
      method: "POST",
      url: "/api/v1/me/two-factor/disable",
      as: person,
      body: { password: TEST_PASSWORD, code: oathtool(secret) },
    });
    expect(off.statusCode).toBe(204);
    const rows = await t.db.owner.query("SELECT 1 FROM user_recovery_codes WHERE user_id = $1", [
      person.userId,
    ]);
    expect(rows).toHaveLength(0);
    const direct = await post(
      "/api/v1/auth/sign-in",
      { email: person.email, password: TEST_PASSWORD },
      nextIp(),
    );
    expect(hasSessionCookie(direct)).toBe(true);
    expect((await auditActions(person.userId)).map((a) => a.action)).toContain("two_factor.disabled");
  });

  it("lets an organisation require a second factor of Owners and Admins, or of everyone", async () => {
    const org = await createTestOrg(t.db);
    const admin = await addTestMember(t.db, org.organizationId, "admin");
    const operator = await addTestMember(t.db, org.organizationId, "operator");
    const url = `/api/v1/orgs/${org.organizationId}/security-settings`;
    const invalid = await call(t.app, {
      method: "PUT",
      url,
      as: org.owner,
      body: { twoFactorRequired: "most" },
    });
    expect(invalid.statusCode).toBe(400);
    const set = await call(t.app, {
      method: "PUT",
      url,
      as: org.owner,
      body: { twoFactorRequired: "admins" },
    });
    expect(set.statusCode).toBe(200);

    const devices = `/api/v1/orgs/${org.organizationId}/devices`;
    const refused = await call(t.app, { method: "GET", url: devices, as: admin });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.code).toBe("two_factor.required_by_organization");
    expect((await call(t.app, { method: "GET", url: devices, as: operator })).statusCode).toBe(200);
    // The person can still reach their own account to turn it on.
    await enrol(admin);
    expect((await call(t.app, { method: "GET", url: devices, as: admin })).statusCode).toBe(200);

    await call(t.app, { method: "PUT", url, as: admin, body: { twoFactorRequired: "all" } });
    expect((await call(t.app, { method: "GET", url: devices, as: operator })).statusCode).toBe(403);
    const audit = await t.db.owner.query<{ details: Record<string, unknown> }>(
      "SELECT details FROM audit_events WHERE organization_id = $1 AND action = 'organization.security_settings_changed' ORDER BY seq",
      [org.organizationId],
    );
    expect(audit.map((a) => a.details)).toEqual([
      { twoFactorRequired: { from: "off", to: "admins" } },
      { twoFactorRequired: { from: "admins", to: "all" } },
    ]);
  });
});
