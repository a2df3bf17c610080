import { Writable } from "node:stream";
import { permissionsOf } from "@patchpilot/domain";
import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PLATFORM_ORGANIZATION_ID } from "../audit/chain.js";
import { createApp } from "../capabilities.js";
import { loadConfig } from "../config/config.js";
import type { App } from "../http/app.js";
import type { ErrorBody } from "../http/errors.js";
import { addTestMember, createTestOrg, startTestApp, TEST_PASSWORD, type TestApp } from "../testing/app.js";
import { SYSTEM_CONTEXT } from "../testing/database.js";
import { ipKey } from "./rate-limit.js";
import { csrfTokenFor, SESSION_COOKIE } from "./sessions.js";

interface MeBody {
  user: { id: string; email: string; name: string };
  organizations: { id: string; name: string; role: string; permissions: string[] }[];
  csrfToken: string;
}

interface AuditRow {
  organization_id: string;
  action: string;
  result: string;
  error_code: string | null;
  actor_type: string;
  target_id: string | null;
  ip: string | null;
  details: Record<string, unknown>;
  row_json: string;
}

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

// Every test signs in from its own documentation address (TEST-NET), so the per-address budget
// of one test never throttles another.
let ipCounter = 0;
function nextIp(): string {
  ipCounter++;
  return `192.0.2.${ipCounter}`;
}

function signIn(
  app: App,
  email: string,
  password: string,
  options: { ip: string; headers?: Record<string, string> },
): Promise<LightMyRequestResponse> {
  return app.inject({
    method: "POST",
    url: "/api/v1/auth/sign-in",
    payload: { email, password },
    remoteAddress: options.ip,
    headers: options.headers ?? {},
  });
}

function errorOf(res: LightMyRequestResponse): ErrorBody["error"] {
  return res.json<ErrorBody>().error;
}

function setCookieHeaders(res: LightMyRequestResponse): string[] {
  const raw = res.headers["set-cookie"];
  if (raw === undefined) return [];
  return Array.isArray(raw) ? raw : [String(raw)];
}

function sessionCookie(res: LightMyRequestResponse): { value: string; attributes: string[] } | null {
  const header = setCookieHeaders(res).find((c) => c.startsWith(`${SESSION_COOKIE}=`));
  if (!header) return null;
  const [pair = "", ...attributes] = header.split(";").map((part) => part.trim());
  return { value: pair.slice(SESSION_COOKIE.length + 1), attributes };
}

function auditRowsOf(res: LightMyRequestResponse): Promise<AuditRow[]> {
  return t.db.owner.query<AuditRow>(
    `SELECT organization_id, action, result, error_code, actor_type, target_id, ip, details,
            row_to_json(a)::text AS row_json
       FROM audit_events a WHERE request_id = $1 ORDER BY organization_id`,
    [String(res.headers["x-request-id"])],
  );
}

async function bucketHits(ip: string): Promise<number | null> {
  const rows = await t.db.owner.query<{ hits: number }>(
    "SELECT hits FROM rate_limit_buckets WHERE key = $1",
    [ipKey(ip)],
  );
  return rows[0]?.hits ?? null;
}

async function fillIpBucket(ip: string, hits: number, startedSecondsAgo = 0): Promise<void> {
  await t.db.owner.query(
    `INSERT INTO rate_limit_buckets (key, window_started_at, hits)
     VALUES ($1, now() - make_interval(secs => $2), $3)
     ON CONFLICT (key) DO UPDATE SET window_started_at = EXCLUDED.window_started_at, hits = EXCLUDED.hits`,
    [ipKey(ip), startedSecondsAgo, hits],
  );
}

async function sessionCount(userId: string): Promise<number> {
  const rows = await t.db.owner.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM sessions WHERE user_id = $1",
    [userId],
  );
  return rows[0]?.n ?? -1;
}

describe("password sign-in", () => {
  it("answers 200 with the person, their organisations and a CSRF token, and opens a session", async () => {
    const org = await createTestOrg(t.db, "Sign-in Home Org");
    const other = await createTestOrg(t.db, "Sign-in Other Org");
    // The same person is also an Auditor elsewhere: the answer must give each organisation's own role.
    await t.db.system(SYSTEM_CONTEXT, async (tx) => {
      await tx.db
        .insertInto("memberships")
        .values({ organization_id: other.organizationId, user_id: org.owner.userId, role: "auditor" })
        .execute();
      tx.audit(other.organizationId, {
        action: "users.added",
        target: { type: "user", id: org.owner.userId },
        details: { role: "auditor" },
      });
    });

    const res = await signIn(t.app, org.owner.email, TEST_PASSWORD, { ip: nextIp() });
    expect(res.statusCode).toBe(200);
    const body = res.json<MeBody>();
    expect(body.user).toEqual({ id: org.owner.userId, email: org.owner.email, name: "Owner" });
    expect(body.organizations).toEqual([
      {
        id: org.organizationId,
        name: "Sign-in Home Org",
        role: "owner",
        permissions: permissionsOf("owner"),
      },
      {
        id: other.organizationId,
        name: "Sign-in Other Org",
        role: "auditor",
        permissions: permissionsOf("auditor"),
      },
    ]);
    expect(permissionsOf("auditor")).not.toContain("users.remove");

    const cookie = sessionCookie(res);
    expect(cookie).not.toBeNull();
    const token = cookie?.value ?? "";
    expect(token).toMatch(/^pps_[0-9A-Za-z]{39}$/);
    expect(body.csrfToken).toBe(csrfTokenFor(token));

    // The cookie names a working session of this person.
    const me = await t.app.inject({
      method: "GET",
      url: "/api/v1/me",
      headers: { cookie: `${SESSION_COOKIE}=${token}` },
    });
    expect(me.statusCode).toBe(200);
    expect(me.json<MeBody>().user.id).toBe(org.owner.userId);

    const audited = await auditRowsOf(res);
    expect(audited.map((r) => [r.action, r.result])).toEqual([
      ["auth.signed_in", "success"],
      ["auth.signed_in", "success"],
    ]);
  });

  it("sets the session cookie HttpOnly, Secure, SameSite=Lax, Path=/ and without Domain", async () => {
    const org = await createTestOrg(t.db);
    const res = await signIn(t.app, org.owner.email, TEST_PASSWORD, { ip: nextIp() });
    expect(res.statusCode).toBe(200);
    const cookie = sessionCookie(res);
    expect(cookie).not.toBeNull();
    const attributes = (cookie?.attributes ?? []).map((a) => a.toLowerCase());
    // HttpOnly: page scripts (an XSS) cannot read the session token.
    expect(attributes).toContain("httponly");
    // Secure and Path=/ without Domain: required by the __Host- prefix, so no other host can set it.
    expect(attributes).toContain("secure");
    expect(attributes).toContain("path=/");
    expect(attributes.some((a) => a.startsWith("domain="))).toBe(false);
    // SameSite=Lax: the browser does not send it on cross-site POSTs.
    expect(attributes).toContain("samesite=lax");
  });

  it("answers a wrong password and an unknown address identically (no account enumeration)", async () => {
    const org = await createTestOrg(t.db);
    const ip = nextIp();
    const sessionsBefore = await sessionCount(org.owner.userId);
    const wrong = await signIn(t.app, org.owner.email, "not the right password at all", { ip });
    const unknown = await signIn(t.app, "nobody-here@example.test", "not the right password at all", { ip });

    for (const res of [wrong, unknown]) {
      expect(res.statusCode).toBe(401);
      expect(errorOf(res).code).toBe("auth.invalid_credentials");
      expect(sessionCookie(res)).toBeNull();
    }
    const { requestId: _a, ...wrongRest } = errorOf(wrong);
    const { requestId: _b, ...unknownRest } = errorOf(unknown);
    expect(wrongRest).toEqual(unknownRest);
    expect(await sessionCount(org.owner.userId)).toBe(sessionsBefore);
  });

  it("accepts the email address in any letter case", async () => {
    const org = await createTestOrg(t.db);
    const res = await signIn(t.app, org.owner.email.toUpperCase(), TEST_PASSWORD, { ip: nextIp() });
    expect(res.statusCode).toBe(200);
    expect(res.json<MeBody>().user.id).toBe(org.owner.userId);
  });

  it("accepts the email address with surrounding spaces (as pasted)", async () => {
    const org = await createTestOrg(t.db);
    const res = await signIn(t.app, `  ${org.owner.email}  `, TEST_PASSWORD, { ip: nextIp() });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json<MeBody>().user.id).toBe(org.owner.userId);
  });
});

describe("audit of failed sign-ins", () => {
  const attempted = "Hunter2-guess-for-the-audit-test";

  it("records a known account's failure in its organisation's chain, without password or email", async () => {
    const org = await createTestOrg(t.db);
    const ip = nextIp();
    const typed = org.owner.email.toUpperCase();
    const res = await signIn(t.app, typed, attempted, { ip });
    expect(res.statusCode).toBe(401);

    const rows = await auditRowsOf(res);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      organization_id: org.organizationId,
      action: "auth.sign_in_failed",
      result: "failure",
      error_code: "auth.invalid_credentials",
      actor_type: "anonymous",
      target_id: org.owner.userId,
      ip,
    });
    const json = rows[0]?.row_json.toLowerCase() ?? "";
    expect(json).not.toContain(attempted.toLowerCase());
    expect(json).not.toContain(org.owner.email.toLowerCase());
  });

  it("records an unknown address's failure in the platform chain, without password or email", async () => {
    const email = `Unknown-${Date.now()}@Example.test`;
    const res = await signIn(t.app, email, attempted, { ip: nextIp() });
    expect(res.statusCode).toBe(401);

    const rows = await auditRowsOf(res);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      organization_id: PLATFORM_ORGANIZATION_ID,
      action: "auth.sign_in_failed",
      result: "failure",
      error_code: "auth.invalid_credentials",
      target_id: null,
    });
    const json = rows[0]?.row_json.toLowerCase() ?? "";
    expect(json).not.toContain(attempted.toLowerCase());
    expect(json).not.toContain(email.toLowerCase());
  });
});

describe("sign-in throttling", () => {
  // Stops online password guessing against one account: after 10 failures in the window the
  // account is locked for everyone, and varying the case of the address does not escape it.
  it("locks an account after 10 failures, even for the right password, but not its neighbours", async () => {
    const org = await createTestOrg(t.db);
    const neighbour = await addTestMember(t.db, org.organizationId, "operator");
    const ip = nextIp();
    for (let i = 0; i < 10; i++) {
      const email = i % 2 === 0 ? org.owner.email.toUpperCase() : org.owner.email;
      const res = await signIn(t.app, email, `wrong password number ${i}`, { ip });
      expect(res.statusCode, `attempt ${i + 1}`).toBe(401);
    }
    const sessionsBefore = await sessionCount(org.owner.userId);

    const locked = await signIn(t.app, org.owner.email, TEST_PASSWORD, { ip });
    expect(locked.statusCode).toBe(429);
    expect(errorOf(locked).code).toBe("auth.rate_limited");
    const retryAfter = Number(locked.headers["retry-after"]);
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(15 * 60);
    expect(sessionCookie(locked)).toBeNull();
    expect(await sessionCount(org.owner.userId)).toBe(sessionsBefore);
    const audited = await auditRowsOf(locked);
    expect(audited.map((r) => [r.action, r.result, r.error_code])).toEqual([
      ["auth.sign_in_failed", "failure", "auth.rate_limited"],
    ]);

    // The lock is on the account, so another address does not lift it either.
    const elsewhere = await signIn(t.app, org.owner.email, TEST_PASSWORD, { ip: nextIp() });
    expect(elsewhere.statusCode).toBe(429);

    // Another account from the very same address is unaffected.
    const other = await signIn(t.app, neighbour.email, TEST_PASSWORD, { ip });
    expect(other.statusCode).toBe(200);
  });

  // Stops one client spraying passwords across many accounts. The bucket is pre-filled to 99
  // attempts in the database instead of making 99 bcrypt-checked requests.
  it("refuses a client address after 100 attempts in the window while another address signs in", async () => {
    const org = await createTestOrg(t.db);
    const busy = nextIp();
    const quiet = nextIp();
    await fillIpBucket(busy, 99);

    const hundredth = await signIn(t.app, org.owner.email, TEST_PASSWORD, { ip: busy });
    expect(hundredth.statusCode).toBe(200);
    expect(await bucketHits(busy)).toBe(100);

    const refused = await signIn(t.app, org.owner.email, TEST_PASSWORD, { ip: busy });
    expect(refused.statusCode).toBe(429);
    expect(errorOf(refused).code).toBe("auth.rate_limited");
    expect(Number(refused.headers["retry-after"])).toBeGreaterThan(0);
    expect(sessionCookie(refused)).toBeNull();

    const fine = await signIn(t.app, org.owner.email, TEST_PASSWORD, { ip: quiet });
    expect(fine.statusCode).toBe(200);
  });

  it("starts a new window once the old one has passed", async () => {
    const org = await createTestOrg(t.db);
    const ip = nextIp();
    await fillIpBucket(ip, 500, 16 * 60);
    const res = await signIn(t.app, org.owner.email, TEST_PASSWORD, { ip });
    expect(res.statusCode).toBe(200);
    expect(await bucketHits(ip)).toBe(1);
  });

  // Stops a client escaping its address's budget by claiming another address: without a
  // configured proxy, X-Forwarded-For is whatever the client wrote.
  it("ignores X-Forwarded-For by default", async () => {
    const org = await createTestOrg(t.db);
    const ip = nextIp();
    const claimed = "203.0.113.10";
    await fillIpBucket(ip, 100);
    const res = await signIn(t.app, org.owner.email, TEST_PASSWORD, {
      ip,
      headers: { "x-forwarded-for": claimed },
    });
    expect(res.statusCode).toBe(429);
    expect(errorOf(res).code).toBe("auth.rate_limited");
    expect(await bucketHits(claimed)).toBeNull();
    expect((await auditRowsOf(res))[0]?.ip).toBe(ip);
  });

  it("buckets by the forwarded client address behind a configured trusted proxy", async () => {
    const org = await createTestOrg(t.db);
    const config = loadConfig({
      PATCHPILOT_DATA_DIR: "/nonexistent",
      PATCHPILOT_LOG_LEVEL: "silent",
      PATCHPILOT_TRUSTED_PROXIES: "127.0.0.1",
    });
    const logStream = new Writable({ write: (_chunk, _enc, done) => done() });
    const proxied = await createApp({ db: t.db, config, logStream });
    await proxied.ready();
    try {
      const throttled = "203.0.113.20";
      const neighbour = "203.0.113.21";
      await fillIpBucket(throttled, 100);
      const proxyHitsBefore = await bucketHits("127.0.0.1");

      // A client behind the proxy is throttled by its own address, even when it prepends a
      // made-up address: only the entry the trusted proxy appended is believed.
      const refused = await signIn(proxied, org.owner.email, TEST_PASSWORD, {
        ip: "127.0.0.1",
        headers: { "x-forwarded-for": `198.51.100.99, ${throttled}` },
      });
      expect(refused.statusCode).toBe(429);
      expect(errorOf(refused).code).toBe("auth.rate_limited");
      expect(await bucketHits("198.51.100.99")).toBeNull();

      // Another client behind the same proxy is not, and is counted under its own address.
      const fine = await signIn(proxied, org.owner.email, TEST_PASSWORD, {
        ip: "127.0.0.1",
        headers: { "x-forwarded-for": neighbour },
      });
      expect(fine.statusCode).toBe(200);
      expect(await bucketHits(neighbour)).toBe(1);
      expect(await bucketHits("127.0.0.1")).toBe(proxyHitsBefore);

      // A peer that is not the proxy cannot choose its bucket with the header.
      const direct = nextIp();
      const spoofed = await signIn(proxied, org.owner.email, TEST_PASSWORD, {
        ip: direct,
        headers: { "x-forwarded-for": throttled },
      });
      expect(spoofed.statusCode).toBe(200);
      expect(await bucketHits(direct)).toBe(1);
    } finally {
      await proxied.close();
    }
  });
});

describe("sign-in from another site", () => {
  // Stops login CSRF: a foreign page must not be able to sign the visitor's browser into an
  // attacker's account (whose activity the attacker could then watch).
  it("refuses a sign-in whose Origin is another site, before any password is checked", async () => {
    const org = await createTestOrg(t.db);
    const ip = nextIp();
    const sessionsBefore = await sessionCount(org.owner.userId);
    for (const origin of ["https://evil.example", "null", "http://localhost:8443"]) {
      const res = await signIn(t.app, org.owner.email, TEST_PASSWORD, { ip, headers: { origin } });
      expect(res.statusCode, origin).toBe(403);
      expect(errorOf(res).code, origin).toBe("auth.csrf_failed");
      expect(sessionCookie(res), origin).toBeNull();
    }
    expect(await sessionCount(org.owner.userId)).toBe(sessionsBefore);
    expect(await bucketHits(ip)).toBeNull();

    // The console's own origin is accepted.
    const ours = await signIn(t.app, org.owner.email, TEST_PASSWORD, {
      ip,
      headers: { origin: t.config.publicUrl.origin },
    });
    expect(ours.statusCode).toBe(200);
  });
});
