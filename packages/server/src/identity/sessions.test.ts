import { createHash } from "node:crypto";
import { generateToken } from "@patchpilot/protocol";
import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ErrorBody } from "../http/errors.js";
import {
  addTestMember,
  call,
  createTestOrg,
  freshSession,
  startTestApp,
  TEST_PASSWORD,
  type TestApp,
  type TestOrg,
  type TestPerson,
} from "../testing/app.js";
import { csrfTokenFor, SESSION_COOKIE, SESSION_IDLE_MS } from "./sessions.js";

interface SessionItem {
  id: string;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
  ip: string | null;
  userAgent: string | null;
  current: boolean;
}

interface SessionRow {
  id: string;
  token_hash: Uint8Array;
  last_seen_at: Date;
  idle_expires_at: Date;
  absolute_expires_at: Date;
  revoked_at: Date | null;
}

let t: TestApp;
let org: TestOrg;

beforeAll(async () => {
  t = await startTestApp();
  org = await createTestOrg(t.db, "Sessions Org");
});
afterAll(() => t.close());

function sha256Hex(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

async function sessionRow(token: string): Promise<SessionRow> {
  const rows = await t.db.owner.query<SessionRow>(
    `SELECT id, token_hash, last_seen_at, idle_expires_at, absolute_expires_at, revoked_at
       FROM sessions WHERE token_hash = decode($1, 'hex')`,
    [sha256Hex(token)],
  );
  const row = rows[0];
  if (!row) throw new Error("no session row for this token");
  return row;
}

/** Another session of the same person, as a second browser would hold it. */
async function anotherSession(person: TestPerson): Promise<TestPerson> {
  return { ...person, ...(await freshSession(t.db, person.userId)) };
}

function me(
  person: TestPerson | null,
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  return call(t.app, { method: "GET", url: "/api/v1/me", as: person, headers });
}

function errorOf(res: LightMyRequestResponse): ErrorBody["error"] {
  return res.json<ErrorBody>().error;
}

async function passwordHash(userId: string): Promise<string> {
  const rows = await t.db.owner.query<{ password_hash: string }>(
    "SELECT password_hash FROM users WHERE id = $1",
    [userId],
  );
  return rows[0]?.password_hash ?? "";
}

function signIn(email: string, password: string): Promise<LightMyRequestResponse> {
  return t.app.inject({ method: "POST", url: "/api/v1/auth/sign-in", payload: { email, password } });
}

describe("session cookie", () => {
  it("is required: no cookie is 401 auth.required", async () => {
    const res = await me(null);
    expect(res.statusCode).toBe(401);
    expect(errorOf(res).code).toBe("auth.required");
  });

  it("refuses garbage, malformed, mistyped and unknown tokens with 401", async () => {
    const person = await addTestMember(t.db, org.organizationId, "operator");
    const mistyped = `${person.token.slice(0, -1)}${person.token.endsWith("A") ? "B" : "A"}`;
    for (const cookie of [
      "garbage",
      "pps_",
      `pps_${"x".repeat(500)}`,
      mistyped,
      // Well formed, right checksum, never issued.
      generateToken("session"),
      // A token of another kind must not pass as a session.
      generateToken("invitation"),
    ]) {
      const res = await t.app.inject({
        method: "GET",
        url: "/api/v1/me",
        headers: { cookie: `${SESSION_COOKIE}=${cookie}` },
      });
      expect(res.statusCode, cookie).toBe(401);
      expect(errorOf(res).code, cookie).toBe("auth.required");
    }
    expect((await me(person)).statusCode).toBe(200);
  });

  for (const [label, change] of [
    ["revoked", "revoked_at = now()"],
    ["idle-expired", "idle_expires_at = now() - interval '1 second'"],
    ["past its absolute expiry", "absolute_expires_at = now() - interval '1 second'"],
  ] as const) {
    it(`refuses a session that is ${label}`, async () => {
      const person = await addTestMember(t.db, org.organizationId, "auditor");
      expect((await me(person)).statusCode).toBe(200);
      await t.db.owner.query(`UPDATE sessions SET ${change} WHERE token_hash = decode($1, 'hex')`, [
        sha256Hex(person.token),
      ]);
      const res = await me(person);
      expect(res.statusCode).toBe(401);
      expect(errorOf(res).code).toBe("auth.required");
    });
  }

  it("stores only the SHA-256 of the token, never the token itself", async () => {
    const res = await signIn(org.owner.email, TEST_PASSWORD);
    expect(res.statusCode).toBe(200);
    const token = res.cookies.find((c) => c.name === SESSION_COOKIE)?.value ?? "";
    expect(token).toMatch(/^pps_/);

    const row = await sessionRow(token);
    expect(Buffer.from(row.token_hash).toString("hex")).toBe(sha256Hex(token));
    // A database dump must not hand out working cookies: no column of any session row, and no
    // audit row, holds the token text (nor its CSRF token).
    for (const table of ["sessions", "audit_events", "users"]) {
      const rows = await t.db.owner.query<{ j: string }>(`SELECT row_to_json(x)::text AS j FROM ${table} x`);
      expect(rows.length, table).toBeGreaterThan(0);
      for (const { j } of rows) {
        expect(j, table).not.toContain(token);
        expect(j, table).not.toContain(token.slice(4));
        expect(j, table).not.toContain(csrfTokenFor(token));
      }
    }
  });
});

describe("sliding expiry", () => {
  it("moves last_seen_at and idle_expires_at forward on use after a minute", async () => {
    const person = await addTestMember(t.db, org.organizationId, "operator");
    await t.db.owner.query(
      `UPDATE sessions SET last_seen_at = now() - interval '2 minutes',
                           idle_expires_at = now() + interval '1 hour'
        WHERE token_hash = decode($1, 'hex')`,
      [sha256Hex(person.token)],
    );
    const before = await sessionRow(person.token);
    const started = Date.now();
    expect((await me(person)).statusCode).toBe(200);
    const after = await sessionRow(person.token);

    expect(after.last_seen_at.getTime()).toBeGreaterThan(before.last_seen_at.getTime() + 60_000);
    expect(after.last_seen_at.getTime()).toBeGreaterThanOrEqual(started - 1000);
    expect(after.idle_expires_at.getTime()).toBeGreaterThanOrEqual(started + SESSION_IDLE_MS - 1000);
    expect(after.idle_expires_at.getTime()).toBeLessThanOrEqual(Date.now() + SESSION_IDLE_MS + 1000);
    expect(after.absolute_expires_at.getTime()).toBe(before.absolute_expires_at.getTime());
  });

  it("does not write on every request: a session seen within the minute is left alone", async () => {
    const person = await addTestMember(t.db, org.organizationId, "operator");
    await t.db.owner.query(
      `UPDATE sessions SET last_seen_at = now() - interval '10 seconds',
                           idle_expires_at = now() + interval '1 hour'
        WHERE token_hash = decode($1, 'hex')`,
      [sha256Hex(person.token)],
    );
    const before = await sessionRow(person.token);
    expect((await me(person)).statusCode).toBe(200);
    const after = await sessionRow(person.token);
    expect(after.last_seen_at.getTime()).toBe(before.last_seen_at.getTime());
    expect(after.idle_expires_at.getTime()).toBe(before.idle_expires_at.getTime());
  });

  // A stolen cookie kept in use must still die at the absolute expiry: sliding never extends it.
  it("never moves the idle expiry beyond the absolute expiry", async () => {
    const person = await addTestMember(t.db, org.organizationId, "operator");
    await t.db.owner.query(
      `UPDATE sessions SET last_seen_at = now() - interval '2 minutes',
                           idle_expires_at = now() + interval '1 hour',
                           absolute_expires_at = now() + interval '1 day'
        WHERE token_hash = decode($1, 'hex')`,
      [sha256Hex(person.token)],
    );
    const before = await sessionRow(person.token);
    expect((await me(person)).statusCode).toBe(200);
    const after = await sessionRow(person.token);
    expect(after.last_seen_at.getTime()).toBeGreaterThan(before.last_seen_at.getTime());
    const absolute = after.absolute_expires_at.getTime();
    expect(absolute).toBe(before.absolute_expires_at.getTime());
    expect(after.idle_expires_at.getTime()).toBeLessThanOrEqual(absolute);
    // Moved up to the absolute expiry (to within the millisecond precision of a JS date).
    expect(after.idle_expires_at.getTime()).toBeGreaterThan(absolute - 1000);
  });
});

describe("my sessions", () => {
  it("lists my active sessions only, marking the current one", async () => {
    const person = await addTestMember(t.db, org.organizationId, "admin");
    const second = await anotherSession(person);
    const revoked = await anotherSession(person);
    await t.db.owner.query("UPDATE sessions SET revoked_at = now() WHERE token_hash = decode($1, 'hex')", [
      sha256Hex(revoked.token),
    ]);
    const stranger = await addTestMember(t.db, org.organizationId, "admin");

    const res = await call(t.app, { method: "GET", url: "/api/v1/me/sessions", as: person });
    expect(res.statusCode).toBe(200);
    const items = res.json<{ items: SessionItem[] }>().items;
    const currentId = (await sessionRow(person.token)).id;
    const secondId = (await sessionRow(second.token)).id;
    expect(items.map((i) => i.id).sort()).toEqual([currentId, secondId].sort());
    expect(items.find((i) => i.id === currentId)?.current).toBe(true);
    expect(items.find((i) => i.id === secondId)?.current).toBe(false);
    expect(items.map((i) => i.id)).not.toContain((await sessionRow(stranger.token)).id);
  });

  it("revokes another of my sessions, which then gets 401", async () => {
    const person = await addTestMember(t.db, org.organizationId, "operator");
    const laptop = await anotherSession(person);
    const laptopId = (await sessionRow(laptop.token)).id;

    const res = await call(t.app, { method: "DELETE", url: `/api/v1/me/sessions/${laptopId}`, as: person });
    expect(res.statusCode).toBe(204);
    expect((await me(laptop)).statusCode).toBe(401);
    expect((await me(person)).statusCode).toBe(200);

    const audited = await t.db.owner.query<{ action: string; target_id: string }>(
      "SELECT action, target_id FROM audit_events WHERE request_id = $1",
      [String(res.headers["x-request-id"])],
    );
    expect(audited).toEqual([{ action: "auth.session_revoked", target_id: laptopId }]);
  });

  // Stops one person signing another out (or probing their session ids).
  it("cannot revoke another person's session: 404 and it keeps working", async () => {
    const person = await addTestMember(t.db, org.organizationId, "admin");
    const victim = await addTestMember(t.db, org.organizationId, "operator");
    const victimSessionId = (await sessionRow(victim.token)).id;

    const res = await call(t.app, {
      method: "DELETE",
      url: `/api/v1/me/sessions/${victimSessionId}`,
      as: person,
    });
    expect(res.statusCode).toBe(404);
    expect(errorOf(res).code).toBe("sessions.not_found");
    expect((await sessionRow(victim.token)).revoked_at).toBeNull();
    expect((await me(victim)).statusCode).toBe(200);
  });

  it("signs out: 204, the cookie is cleared and the session is dead", async () => {
    const person = await addTestMember(t.db, org.organizationId, "operator");
    const res = await call(t.app, { method: "POST", url: "/api/v1/auth/sign-out", as: person });
    expect(res.statusCode).toBe(204);

    const raw = res.headers["set-cookie"];
    const header = (Array.isArray(raw) ? raw : [String(raw)]).find((c) => c.startsWith(`${SESSION_COOKIE}=`));
    expect(header).toBeDefined();
    const [pair = "", ...attributes] = (header ?? "").split(";").map((p) => p.trim().toLowerCase());
    expect(pair).toBe(`${SESSION_COOKIE.toLowerCase()}=`);
    expect(attributes.some((a) => a === "max-age=0" || a.startsWith("expires=thu, 01 jan 1970"))).toBe(true);
    // A browser ignores a __Host- cookie (including the one that clears it) without these.
    expect(attributes).toContain("secure");
    expect(attributes).toContain("path=/");

    expect((await sessionRow(person.token)).revoked_at).not.toBeNull();
    expect((await me(person)).statusCode).toBe(401);
  });
});

describe("password change", () => {
  const NEW_PASSWORD = "a brand new and long passphrase";

  function changePassword(person: TestPerson, currentPassword: string, newPassword: string) {
    return call(t.app, {
      method: "POST",
      url: "/api/v1/me/password",
      as: person,
      body: { currentPassword, newPassword },
    });
  }

  it("refuses a wrong current password with 403, audits it, and changes nothing", async () => {
    const person = await addTestMember(t.db, org.organizationId, "operator");
    const other = await anotherSession(person);
    const hashBefore = await passwordHash(person.userId);

    const res = await changePassword(person, "not my current password", NEW_PASSWORD);
    expect(res.statusCode).toBe(403);
    expect(errorOf(res).code).toBe("auth.password_incorrect");
    expect(await passwordHash(person.userId)).toBe(hashBefore);
    expect((await me(other)).statusCode).toBe(200);

    const audited = await t.db.owner.query<{
      organization_id: string;
      action: string;
      result: string;
      error_code: string;
      details: unknown;
    }>(
      "SELECT organization_id, action, result, error_code, details FROM audit_events WHERE request_id = $1",
      [String(res.headers["x-request-id"])],
    );
    expect(audited).toEqual([
      {
        organization_id: org.organizationId,
        action: "auth.password_change_failed",
        result: "failure",
        error_code: "auth.password_incorrect",
        details: {},
      },
    ]);
  });

  it("refuses a new password shorter than 12 characters", async () => {
    const person = await addTestMember(t.db, org.organizationId, "operator");
    const hashBefore = await passwordHash(person.userId);
    const res = await changePassword(person, TEST_PASSWORD, "short pw");
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).code).toBe("auth.password_too_weak");
    expect(errorOf(res).field).toBe("newPassword");
    expect(await passwordHash(person.userId)).toBe(hashBefore);
  });

  // bcrypt reads only the first 72 bytes: a longer password would silently become its prefix.
  it("refuses a new password over 72 bytes, counted in UTF-8", async () => {
    const person = await addTestMember(t.db, org.organizationId, "operator");
    const hashBefore = await passwordHash(person.userId);
    const tooLong = "ü".repeat(37); // 37 characters, 74 bytes
    const res = await changePassword(person, TEST_PASSWORD, tooLong);
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).code).toBe("auth.password_too_long");
    expect(errorOf(res).field).toBe("newPassword");
    expect(await passwordHash(person.userId)).toBe(hashBefore);
  });

  // A thief's stolen cookie dies when the owner changes the password.
  it("revokes every other session but keeps the current one; the new password works", async () => {
    const person = await addTestMember(t.db, org.organizationId, "operator");
    const phone = await anotherSession(person);
    const tablet = await anotherSession(person);
    const bystander = await addTestMember(t.db, org.organizationId, "operator");

    const res = await changePassword(person, TEST_PASSWORD, NEW_PASSWORD);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ revokedSessions: 2 });

    expect((await me(phone)).statusCode).toBe(401);
    expect((await me(tablet)).statusCode).toBe(401);
    expect((await me(person)).statusCode).toBe(200);
    expect((await me(bystander)).statusCode).toBe(200);

    expect((await signIn(person.email, TEST_PASSWORD)).statusCode).toBe(401);
    const signedIn = await signIn(person.email, NEW_PASSWORD);
    expect(signedIn.statusCode).toBe(200);
  });
});

describe("CSRF protection", () => {
  // Stops a foreign page that makes the browser send our cookie from changing anything: it
  // cannot read the CSRF token, which is derived from the cookie it cannot see.
  it("refuses a state-changing request with the cookie but a missing or wrong CSRF token", async () => {
    const person = await addTestMember(t.db, org.organizationId, "operator");
    const otherPerson = await addTestMember(t.db, org.organizationId, "operator");
    const hashBefore = await passwordHash(person.userId);
    const cookie = `${SESSION_COOKIE}=${person.token}`;

    for (const csrf of [null, "", "wrong-token", otherPerson.csrf]) {
      const headers: Record<string, string> = { cookie };
      if (csrf !== null) headers["x-csrf-token"] = csrf;
      const change = await t.app.inject({
        method: "POST",
        url: "/api/v1/me/password",
        headers,
        payload: { currentPassword: TEST_PASSWORD, newPassword: "an attacker's chosen password" },
      });
      expect(change.statusCode, String(csrf)).toBe(403);
      expect(errorOf(change).code, String(csrf)).toBe("auth.csrf_failed");

      const out = await t.app.inject({ method: "POST", url: "/api/v1/auth/sign-out", headers });
      expect(out.statusCode, String(csrf)).toBe(403);
      expect(errorOf(out).code, String(csrf)).toBe("auth.csrf_failed");
    }
    expect(await passwordHash(person.userId)).toBe(hashBefore);
    expect((await sessionRow(person.token)).revoked_at).toBeNull();
    expect((await me(person)).statusCode).toBe(200);
  });

  it("needs no CSRF token for a GET", async () => {
    const person = await addTestMember(t.db, org.organizationId, "auditor");
    const res = await t.app.inject({
      method: "GET",
      url: "/api/v1/me",
      headers: { cookie: `${SESSION_COOKIE}=${person.token}` },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json<{ csrfToken: string }>().csrfToken).toBe(person.csrf);
  });
});
