import { createHash } from "node:crypto";
import { generateToken, hashToken } from "@patchpilot/protocol";
import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { ErrorBody } from "../http/errors.js";
import {
  addTestMember,
  call,
  createTestOrg,
  startTestApp,
  TEST_PASSWORD,
  type TestApp,
  type TestOrg,
  type TestPerson,
} from "../testing/app.js";
import { SYSTEM_CONTEXT } from "../testing/database.js";
import { SESSION_COOKIE } from "./sessions.js";

interface Invitation {
  id: string;
  email: string;
  role: string;
  status: string;
  invitedBy: string | null;
  createdAt: string;
  expiresAt: string;
}

interface Created {
  invitation: Invitation;
  token: string;
  acceptUrl: string;
}

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

const NEW_PASSWORD = "an invitee's own long passphrase";

let emailCounter = 0;
function newEmail(label: string): string {
  emailCounter++;
  return `${label}-${emailCounter}-${Math.random().toString(36).slice(2, 8)}@example.test`;
}

function errorOf(res: LightMyRequestResponse): ErrorBody["error"] {
  return res.json<ErrorBody>().error;
}

function sha256Hex(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

function invite(org: TestOrg, as: TestPerson, email: string, role: string) {
  return call(t.app, {
    method: "POST",
    url: `/api/v1/orgs/${org.organizationId}/invitations`,
    as,
    body: { email, role },
  });
}

async function invited(org: TestOrg, email: string, role = "operator"): Promise<Created> {
  const res = await invite(org, org.owner, email, role);
  expect(res.statusCode, res.body).toBe(201);
  return res.json<Created>();
}

function accept(body: Record<string, string>, as: TestPerson | null = null) {
  return call(t.app, { method: "POST", url: "/api/v1/invitations/accept", as, body });
}

async function roleOf(organizationId: string, userId: string): Promise<string | null> {
  const rows = await t.db.owner.query<{ role: string }>(
    "SELECT role FROM memberships WHERE organization_id = $1 AND user_id = $2",
    [organizationId, userId],
  );
  return rows[0]?.role ?? null;
}

async function userIdByEmail(email: string): Promise<string | null> {
  const rows = await t.db.owner.query<{ id: string }>("SELECT id FROM users WHERE email = $1", [email]);
  return rows[0]?.id ?? null;
}

async function invitationCount(organizationId: string): Promise<number> {
  const rows = await t.db.owner.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM invitations WHERE organization_id = $1",
    [organizationId],
  );
  return rows[0]?.n ?? -1;
}

function signIn(email: string, password: string) {
  return t.app.inject({ method: "POST", url: "/api/v1/auth/sign-in", payload: { email, password } });
}

describe("creating invitations", () => {
  it("answers 201 with a ppi_ token, carried in the accept link's fragment only", async () => {
    const org = await createTestOrg(t.db);
    const email = newEmail("grace");
    const res = await invite(org, org.owner, email.toUpperCase(), "admin");
    expect(res.statusCode).toBe(201);
    const { invitation, token, acceptUrl } = res.json<Created>();
    expect(token).toMatch(/^ppi_[0-9A-Za-z]{39}$/);
    expect(invitation).toMatchObject({
      email,
      role: "admin",
      status: "pending",
      invitedBy: org.owner.userId,
    });

    // The fragment never leaves the browser, so the token stays out of server and proxy logs.
    const url = new URL(acceptUrl);
    expect(url.origin).toBe(t.config.publicUrl.origin);
    expect(url.hash).toBe(`#${token}`);
    expect(`${url.origin}${url.pathname}${url.search}`).not.toContain(token);
  });

  it("never shows the token again, and keeps only its SHA-256", async () => {
    const org = await createTestOrg(t.db);
    const { invitation, token } = await invited(org, newEmail("hidden"));

    const list = await call(t.app, {
      method: "GET",
      url: `/api/v1/orgs/${org.organizationId}/invitations`,
      as: org.owner,
    });
    expect(list.statusCode).toBe(200);
    expect(list.json<{ items: Invitation[] }>().items.map((i) => i.id)).toEqual([invitation.id]);
    expect(list.body).not.toContain(token);
    expect(list.body).not.toContain(token.slice(4));

    const rows = await t.db.owner.query<{ token_hash: Uint8Array; j: string }>(
      "SELECT token_hash, row_to_json(i)::text AS j FROM invitations i WHERE id = $1",
      [invitation.id],
    );
    expect(Buffer.from(rows[0]?.token_hash ?? []).toString("hex")).toBe(sha256Hex(token));
    expect(rows[0]?.j).not.toContain(token.slice(4));
    const audit = await t.db.owner.query<{ j: string }>(
      "SELECT row_to_json(a)::text AS j FROM audit_events a WHERE organization_id = $1",
      [org.organizationId],
    );
    for (const { j } of audit) expect(j).not.toContain(token.slice(4));
  });

  it("lists invitations newest first, a page at a time, losing none", async () => {
    const org = await createTestOrg(t.db);
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) ids.unshift((await invited(org, newEmail("paged"))).invitation.id);
    // Three more made in one transaction share a created_at, so the id must break the tie, and
    // a page boundary (limit=2) falls inside that group.
    await t.db.withOrganization(org.organizationId, SYSTEM_CONTEXT, async (tx) => {
      const rows = await tx.db
        .insertInto("invitations")
        .values(
          [0, 1, 2].map(() => ({
            email: newEmail("bulk"),
            role: "auditor",
            token_hash: hashToken(generateToken("invitation")),
            expires_at: new Date(Date.now() + 86_400_000),
          })),
        )
        .returning("id")
        .execute();
      tx.audit({ action: "invitations.created", details: { count: rows.length } });
      ids.unshift(
        ...rows
          .map((r) => r.id)
          .sort()
          .reverse(),
      );
    });

    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 6; page++) {
      const url: string = `/api/v1/orgs/${org.organizationId}/invitations?limit=2${
        cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""
      }`;
      const res = await call(t.app, { method: "GET", url, as: org.owner });
      expect(res.statusCode).toBe(200);
      const body = res.json<{ items: Invitation[]; nextCursor: string | null }>();
      seen.push(...body.items.map((i) => i.id));
      cursor = body.nextCursor;
      if (cursor === null) break;
    }
    expect(cursor).toBeNull();
    expect(seen).toEqual(ids);
  });

  it("refuses to invite someone who is already a member (409 invitations.already_member)", async () => {
    const org = await createTestOrg(t.db);
    const member = await addTestMember(t.db, org.organizationId, "auditor");
    const before = await invitationCount(org.organizationId);
    const res = await invite(org, org.owner, member.email, "admin");
    expect(res.statusCode).toBe(409);
    expect(errorOf(res).code).toBe("invitations.already_member");
    expect(await invitationCount(org.organizationId)).toBe(before);
  });

  // Answering "already a member" for someone who is only a member elsewhere would reveal
  // another tenant's people to anyone who may invite.
  it("invites someone who has an account in another organisation only", async () => {
    const org = await createTestOrg(t.db);
    const elsewhere = await createTestOrg(t.db);
    const res = await invite(org, org.owner, elsewhere.owner.email, "auditor");
    expect(res.statusCode).toBe(201);
  });

  // Stops an Admin granting ownership by the back door of an invitation.
  it("refuses an Admin inviting an Owner (403 users.owner_only)", async () => {
    const org = await createTestOrg(t.db);
    const admin = await addTestMember(t.db, org.organizationId, "admin");
    const before = await invitationCount(org.organizationId);
    const res = await invite(org, admin, newEmail("would-be-owner"), "owner");
    expect(res.statusCode).toBe(403);
    expect(errorOf(res).code).toBe("users.owner_only");
    expect(await invitationCount(org.organizationId)).toBe(before);

    // An Admin may still invite an Admin.
    expect((await invite(org, admin, newEmail("fine"), "admin")).statusCode).toBe(201);
  });
});

describe("accepting invitations", () => {
  it("creates a new person with the invited role, who can then sign in", async () => {
    const org = await createTestOrg(t.db);
    const email = newEmail("newcomer");
    const { token } = await invited(org, email, "auditor");

    const res = await accept({ token, name: "New Comer", password: NEW_PASSWORD });
    expect(res.statusCode, res.body).toBe(201);
    const { organizationId, userId } = res.json<{ organizationId: string; userId: string }>();
    expect(organizationId).toBe(org.organizationId);
    expect(await userIdByEmail(email)).toBe(userId);
    expect(await roleOf(org.organizationId, userId)).toBe("auditor");

    const signedIn = await signIn(email, NEW_PASSWORD);
    expect(signedIn.statusCode).toBe(200);
    expect(signedIn.json<{ organizations: { id: string; role: string }[] }>().organizations).toEqual([
      expect.objectContaining({ id: org.organizationId, role: "auditor" }),
    ]);
  });

  // A link is good for one use: a leaked, already used link must not do anything.
  it("refuses the same invitation a second time (401 invitations.invalid_token)", async () => {
    const org = await createTestOrg(t.db);
    const email = newEmail("twice");
    const { token } = await invited(org, email);
    expect((await accept({ token, name: "First", password: NEW_PASSWORD })).statusCode).toBe(201);

    const again = await accept({ token, name: "Second", password: "another long passphrase" });
    expect(again.statusCode).toBe(401);
    expect(errorOf(again).code).toBe("invitations.invalid_token");
    expect((await signIn(email, "another long passphrase")).statusCode).toBe(401);
  });

  it("refuses a revoked invitation and an expired one, creating no account", async () => {
    const org = await createTestOrg(t.db);
    const revokedEmail = newEmail("revoked");
    const expiredEmail = newEmail("expired");
    const revoked = await invited(org, revokedEmail);
    const expired = await invited(org, expiredEmail);
    const del = await call(t.app, {
      method: "DELETE",
      url: `/api/v1/orgs/${org.organizationId}/invitations/${revoked.invitation.id}`,
      as: org.owner,
    });
    expect(del.statusCode).toBe(204);
    await t.db.owner.query("UPDATE invitations SET expires_at = now() - interval '1 second' WHERE id = $1", [
      expired.invitation.id,
    ]);

    for (const [label, token, email] of [
      ["revoked", revoked.token, revokedEmail],
      ["expired", expired.token, expiredEmail],
    ] as const) {
      const res = await accept({ token, name: "Too Late", password: NEW_PASSWORD });
      expect(res.statusCode, label).toBe(401);
      expect(errorOf(res).code, label).toBe("invitations.invalid_token");
      expect(await userIdByEmail(email), label).toBeNull();
    }
  });

  it("refuses a mistyped token with 401 without a database lookup", async () => {
    const org = await createTestOrg(t.db);
    const { token } = await invited(org, newEmail("typo"));
    const last = token.endsWith("A") ? "B" : "A";
    const reader = vi.spyOn(t.db, "systemReader", "get");
    const system = vi.spyOn(t.db, "system");
    try {
      for (const typo of [`${token.slice(0, -1)}${last}`, token.slice(0, -1), `ppk_${token.slice(4)}`]) {
        const res = await accept({ token: typo, name: "Typo", password: NEW_PASSWORD });
        expect(res.statusCode, typo).toBe(401);
        expect(errorOf(res).code, typo).toBe("invitations.invalid_token");
      }
      expect(reader).not.toHaveBeenCalled();
      expect(system).not.toHaveBeenCalled();

      // The spies do watch the handle the route uses: a well-formed unknown token is looked up.
      const unknown = await accept({ token: generateToken("invitation"), name: "X", password: NEW_PASSWORD });
      expect(unknown.statusCode).toBe(401);
      expect(errorOf(unknown).code).toBe("invitations.invalid_token");
      expect(reader).toHaveBeenCalled();
    } finally {
      reader.mockRestore();
      system.mockRestore();
    }
    expect((await accept({ token, name: "Right", password: NEW_PASSWORD })).statusCode).toBe(201);
  });

  // Stops a leaked link taking over an existing account (by setting its password or joining it
  // to an organisation without its owner's knowledge).
  it("asks someone with an account to sign in, then adds them as themselves", async () => {
    const org = await createTestOrg(t.db);
    const existing = (await createTestOrg(t.db)).owner;
    const { token } = await invited(org, existing.email, "operator");

    const anonymous = await accept({ token, name: "Impostor", password: "the impostor's passphrase" });
    expect(anonymous.statusCode).toBe(401);
    expect(errorOf(anonymous).code).toBe("invitations.sign_in_required");
    expect(await roleOf(org.organizationId, existing.userId)).toBeNull();
    expect((await signIn(existing.email, "the impostor's passphrase")).statusCode).toBe(401);

    const someoneElse = await addTestMember(t.db, (await createTestOrg(t.db)).organizationId, "admin");
    const wrongPerson = await accept({ token }, someoneElse);
    expect(wrongPerson.statusCode).toBe(401);
    expect(errorOf(wrongPerson).code).toBe("invitations.sign_in_required");
    expect(await roleOf(org.organizationId, someoneElse.userId)).toBeNull();

    const res = await accept({ token }, existing);
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json<{ userId: string }>().userId).toBe(existing.userId);
    expect(await roleOf(org.organizationId, existing.userId)).toBe("operator");
    expect((await signIn(existing.email, TEST_PASSWORD)).statusCode).toBe(200);
  });

  // Stops a foreign page accepting, with the victim's cookie, an invitation the attacker sent
  // to the victim's address (joining the victim to the attacker's organisation unawares).
  it("does not act as the cookie's owner without the CSRF token", async () => {
    const org = await createTestOrg(t.db);
    const victim = (await createTestOrg(t.db)).owner;
    const { token } = await invited(org, victim.email, "operator");
    const res = await t.app.inject({
      method: "POST",
      url: "/api/v1/invitations/accept",
      headers: { cookie: `${SESSION_COOKIE}=${victim.token}` },
      payload: { token },
    });
    expect([401, 403]).toContain(res.statusCode);
    expect(["auth.csrf_failed", "invitations.sign_in_required"]).toContain(errorOf(res).code);
    expect(await roleOf(org.organizationId, victim.userId)).toBeNull();
  });
});

describe("revoking invitations", () => {
  it("revokes with 204, then answers 404 to a second revocation", async () => {
    const org = await createTestOrg(t.db);
    const { invitation } = await invited(org, newEmail("revoke"));
    const url = `/api/v1/orgs/${org.organizationId}/invitations/${invitation.id}`;
    const first = await call(t.app, { method: "DELETE", url, as: org.owner });
    expect(first.statusCode).toBe(204);
    const rows = await t.db.owner.query<{ revoked_at: Date | null }>(
      "SELECT revoked_at FROM invitations WHERE id = $1",
      [invitation.id],
    );
    expect(rows[0]?.revoked_at).toBeInstanceOf(Date);

    const second = await call(t.app, { method: "DELETE", url, as: org.owner });
    expect(second.statusCode).toBe(404);
    expect(errorOf(second).code).toBe("invitations.not_found");
  });

  it("cannot revoke another organisation's invitation", async () => {
    const org = await createTestOrg(t.db);
    const other = await createTestOrg(t.db);
    const { invitation } = await invited(other, newEmail("foreign"));
    const res = await call(t.app, {
      method: "DELETE",
      url: `/api/v1/orgs/${org.organizationId}/invitations/${invitation.id}`,
      as: org.owner,
    });
    expect(res.statusCode).toBe(404);
    expect(errorOf(res).code).toBe("invitations.not_found");
    const rows = await t.db.owner.query<{ revoked_at: Date | null }>(
      "SELECT revoked_at FROM invitations WHERE id = $1",
      [invitation.id],
    );
    expect(rows[0]?.revoked_at).toBeNull();
  });
});
