import { createHash } from "node:crypto";
import { generateToken } from "@patchpilot/protocol";
import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PLATFORM_ORGANIZATION_ID } from "../audit/chain.js";
import type { ErrorBody } from "../http/errors.js";
import { csrfTokenFor, SESSION_COOKIE } from "../identity/sessions.js";
import { startTestApp, type TestApp } from "../testing/app.js";
import { SYSTEM_CONTEXT } from "../testing/database.js";
import { issueSetupToken } from "./setup.js";

interface SetupAnswer {
  organizationId: string;
  userId: string;
  csrfToken: string;
}

const PASSWORD = "the first owner's long passphrase";

function sha256Hex(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

function errorOf(res: LightMyRequestResponse): ErrorBody["error"] {
  return res.json<ErrorBody>().error;
}

function postSetup(
  t: TestApp,
  setupToken: string,
  overrides: Partial<Record<"organizationName" | "name" | "email" | "password", string>> = {},
): Promise<LightMyRequestResponse> {
  return t.app.inject({
    method: "POST",
    url: "/api/v1/setup",
    payload: {
      setupToken,
      organizationName: "First Org Ltd",
      name: "Ada Lovelace",
      email: "Ada@Example.test",
      password: PASSWORD,
      ...overrides,
    },
  });
}

async function setUp(t: TestApp): Promise<boolean> {
  const res = await t.app.inject({ method: "GET", url: "/api/v1/setup" });
  expect(res.statusCode).toBe(200);
  return res.json<{ setUp: boolean }>().setUp;
}

async function counts(t: TestApp): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of ["organizations", "users", "memberships", "sessions"]) {
    const rows = await t.db.owner.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
    out[table] = rows[0]?.n ?? -1;
  }
  return out;
}

const NOTHING = { organizations: 0, users: 0, memberships: 0, sessions: 0 };

describe("before setup", () => {
  // One empty database for every refusal: each test checks that it is still empty afterwards.
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ backgroundWork: false });
  });
  afterAll(() => t.close());

  it("reports that PatchPilot is not set up", async () => {
    expect(await setUp(t)).toBe(false);
  });

  it("issues a ppsu_ setup token while no organisation exists, keeping only its hash", async () => {
    const token = await issueSetupToken(t.db, SYSTEM_CONTEXT);
    expect(token).toMatch(/^ppsu_[0-9A-Za-z]{39}$/);
    const rows = await t.db.owner.query<{ token_hash: Uint8Array; j: string }>(
      "SELECT token_hash, row_to_json(s)::text AS j FROM setup_tokens s WHERE used_at IS NULL",
    );
    expect(rows).toHaveLength(1);
    expect(Buffer.from(rows[0]?.token_hash ?? []).toString("hex")).toBe(sha256Hex(token ?? ""));
    expect(rows[0]?.j).not.toContain((token ?? "").slice(5));
    const audited = await t.db.owner.query<{ action: string }>(
      "SELECT action FROM audit_events WHERE organization_id = $1 AND action = 'setup.link_issued'",
      [PLATFORM_ORGANIZATION_ID],
    );
    expect(audited.length).toBeGreaterThan(0);
  });

  // Stops anyone who reaches a fresh server before its operator from claiming it.
  it("refuses an unknown, malformed or expired token with 401 setup.invalid_token", async () => {
    const expired = await issueSetupToken(t.db, SYSTEM_CONTEXT);
    await t.db.owner.query(
      "UPDATE setup_tokens SET expires_at = now() - interval '1 second' WHERE token_hash = decode($1, 'hex')",
      [sha256Hex(expired ?? "")],
    );
    for (const token of [
      generateToken("setup"),
      "ppsu_not-a-real-token",
      generateToken("session"),
      expired,
    ]) {
      const res = await postSetup(t, token ?? "");
      expect(res.statusCode, String(token)).toBe(401);
      expect(errorOf(res).code).toBe("setup.invalid_token");
      expect(errorOf(res).field).toBe("setupToken");
      expect(res.headers["set-cookie"]).toBeUndefined();
    }
    expect(await counts(t)).toEqual(NOTHING);
    expect(await setUp(t)).toBe(false);
  });

  it("does not spend the token on a request refused for a weak password", async () => {
    const token = (await issueSetupToken(t.db, SYSTEM_CONTEXT)) ?? "";
    const res = await postSetup(t, token, { password: "too short" });
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).code).toBe("auth.password_too_weak");
    const rows = await t.db.owner.query<{ used_at: Date | null }>(
      "SELECT used_at FROM setup_tokens WHERE token_hash = decode($1, 'hex')",
      [sha256Hex(token)],
    );
    expect(rows).toEqual([{ used_at: null }]);
    expect(await counts(t)).toEqual(NOTHING);
  });
});

describe("completing setup", () => {
  // These steps run in order on one database: issue two links, use the newer, then try again.
  let t: TestApp;
  let older: string;
  let newer: string;
  let answer: SetupAnswer;
  let cookie: string;

  beforeAll(async () => {
    t = await startTestApp({ backgroundWork: false });
    older = (await issueSetupToken(t.db, SYSTEM_CONTEXT)) ?? "";
    newer = (await issueSetupToken(t.db, SYSTEM_CONTEXT)) ?? "";
  });
  afterAll(() => t.close());

  // Only the newest printed link works: an old link left in a log or scrollback is dead.
  it("refuses the older token once a newer one was issued", async () => {
    expect(older).toMatch(/^ppsu_/);
    expect(newer).not.toBe(older);
    const res = await postSetup(t, older);
    expect(res.statusCode).toBe(401);
    expect(errorOf(res).code).toBe("setup.invalid_token");
    expect(await counts(t)).toEqual(NOTHING);
  });

  it("creates the organisation and its Owner with the newest token, and signs them in", async () => {
    const res = await postSetup(t, newer);
    expect(res.statusCode, res.body).toBe(201);
    answer = res.json<SetupAnswer>();

    const set = res.cookies.find((c) => c.name === SESSION_COOKIE);
    expect(set).toMatchObject({ httpOnly: true, secure: true, sameSite: "Lax", path: "/" });
    cookie = set?.value ?? "";
    expect(answer.csrfToken).toBe(csrfTokenFor(cookie));

    const orgs = await t.db.owner.query<{ id: string; name: string }>("SELECT id, name FROM organizations");
    expect(orgs).toEqual([{ id: answer.organizationId, name: "First Org Ltd" }]);
    const users = await t.db.owner.query<{ id: string; email: string; name: string }>(
      "SELECT id, email, name FROM users",
    );
    expect(users).toEqual([{ id: answer.userId, email: "ada@example.test", name: "Ada Lovelace" }]);
    const memberships = await t.db.owner.query<{ organization_id: string; user_id: string; role: string }>(
      "SELECT organization_id, user_id, role FROM memberships",
    );
    expect(memberships).toEqual([
      { organization_id: answer.organizationId, user_id: answer.userId, role: "owner" },
    ]);

    const orgAudit = await t.db.owner.query<{ action: string; target_id: string; details: unknown }>(
      "SELECT action, target_id, details FROM audit_events WHERE organization_id = $1 ORDER BY seq",
      [answer.organizationId],
    );
    expect(orgAudit).toEqual([
      { action: "organization.created", target_id: answer.organizationId, details: {} },
      { action: "users.added", target_id: answer.userId, details: { role: "owner" } },
    ]);
    const platform = await t.db.owner.query<{ action: string; target_id: string; details: unknown }>(
      "SELECT action, target_id, details FROM audit_events WHERE organization_id = $1 AND action = $2",
      [PLATFORM_ORGANIZATION_ID, "setup.completed"],
    );
    expect(platform).toEqual([
      { action: "setup.completed", target_id: answer.organizationId, details: { via: "setup_link" } },
    ]);

    // The cookie is a working Owner session.
    const org = await t.app.inject({
      method: "GET",
      url: `/api/v1/orgs/${answer.organizationId}`,
      headers: { cookie: `${SESSION_COOKIE}=${cookie}` },
    });
    expect(org.statusCode).toBe(200);
  });

  // A second organisation through the setup route would let a link holder create tenants at will.
  it("refuses the same token again (409 setup.already_done) and creates nothing more", async () => {
    const before = await counts(t);
    const res = await postSetup(t, newer, { organizationName: "Second Org", email: "eve@example.test" });
    expect(res.statusCode).toBe(409);
    expect(errorOf(res).code).toBe("setup.already_done");
    expect(await counts(t)).toEqual(before);
  });

  it("reports setUp true and issues no further tokens", async () => {
    expect(await setUp(t)).toBe(true);
    expect(await issueSetupToken(t.db, SYSTEM_CONTEXT)).toBeNull();
  });
});

describe("concurrent setup", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ backgroundWork: false });
  });
  afterAll(() => t.close());

  // Two browsers racing with the same link must not create two organisations.
  it("creates exactly one organisation when two requests race with the same token", async () => {
    const token = (await issueSetupToken(t.db, SYSTEM_CONTEXT)) ?? "";
    const [a, b] = await Promise.all([
      postSetup(t, token, { organizationName: "Racer A", email: "a@example.test" }),
      postSetup(t, token, { organizationName: "Racer B", email: "b@example.test" }),
    ]);
    const statuses = [a?.statusCode, b?.statusCode].sort();
    expect(statuses).toEqual([201, 409]);
    const counted = await counts(t);
    expect(counted).toMatchObject({ organizations: 1, users: 1, memberships: 1, sessions: 1 });
  });
});
