import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyChain } from "../../audit/verify.js";
import {
  addTestMember,
  call,
  createTestOrg,
  startTestApp,
  TEST_PASSWORD,
  type TestApp,
  type TestOrg,
} from "../../testing/app.js";
import { enrolledTestMember } from "../../testing/identity-scenarios.js";

let t: TestApp;
let org: TestOrg;
beforeAll(async () => {
  t = await startTestApp({ backgroundWork: false });
  org = await createTestOrg(t.db, "Data Subjects Ltd");
});
afterAll(() => t.close());

const url = (userId: string, what: "personal-data-export" | "erasure") =>
  `/api/v1/orgs/${org.organizationId}/users/${userId}/${what}`;

describe("data-subject rights", () => {
  it("exports what the organisation holds about a person, for an Owner or the person, audited", async () => {
    const person = await addTestMember(t.db, org.organizationId, "operator", "subject");
    await call(t.app, {
      method: "POST",
      url: `/api/v1/orgs/${org.organizationId}/device-groups`,
      as: await addTestMember(t.db, org.organizationId, "admin"),
      body: { name: "someone else's group" },
    });
    const res = await call(t.app, {
      method: "POST",
      url: url(person.userId, "personal-data-export"),
      as: org.owner,
    });
    expect(res.statusCode, res.body).toBe(200);
    const data = res.json();
    expect(data.user).toMatchObject({ id: person.userId, email: person.email });
    expect(data.membership.role).toBe("operator");
    expect(data.auditEvents.some((e: { action: string }) => e.action === "users.added")).toBe(true);
    expect(res.body).not.toMatch(/password_hash|\$2[aby]\$/);
    const self = await call(t.app, {
      method: "POST",
      url: url(person.userId, "personal-data-export"),
      as: person,
    });
    expect(self.statusCode).toBe(403); // operators hold no export action, even for themselves here…
    const mine = await call(t.app, { method: "GET", url: "/api/v1/me/personal-data", as: person });
    expect(mine.statusCode).toBe(200); // …they use their own account's export instead.
    expect(mine.json().memberships).toEqual([
      expect.objectContaining({ organizationId: org.organizationId }),
    ]);
    const admin = await addTestMember(t.db, org.organizationId, "admin");
    const byAdmin = await call(t.app, {
      method: "POST",
      url: url(person.userId, "personal-data-export"),
      as: admin,
    });
    expect(byAdmin.statusCode).toBe(403);
    expect(byAdmin.json().error.code).toBe("gdpr.owner_only");
    const audited = await t.db.owner.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM audit_events WHERE organization_id = $1 AND action = 'users.personal_data_exported' AND target_id = $2",
      [org.organizationId, person.userId],
    );
    expect(audited[0]?.n).toBe(2);
  });

  it("erases a person in place: pseudonym, no sessions, tokens or second factor, and the chain still verifies", async () => {
    const { person } = await enrolledTestMember(t, org.organizationId);
    // The person acted, so audit rows name them by id.
    await call(t.app, { method: "GET", url: "/api/v1/me", as: person });
    const before = await verifyChain(t.db.systemReader, org.organizationId, "audit");
    expect(before.valid).toBe(true);

    const erased = await call(t.app, { method: "POST", url: url(person.userId, "erasure"), as: org.owner });
    expect(erased.statusCode, erased.body).toBe(200);
    const [user] = await t.db.owner.query<{ email: string; name: string; password_hash: string | null }>(
      "SELECT email, name, password_hash FROM users WHERE id = $1",
      [person.userId],
    );
    expect(user?.email).toMatch(/^erased-[0-9a-f-]+@erased\.invalid$/);
    expect(user?.name).toBe("Erased person");
    expect(user?.password_hash).toBeNull();
    for (const table of ["sessions", "user_totp", "user_recovery_codes", "pending_sign_ins"]) {
      expect(
        await t.db.owner.query(`SELECT 1 FROM ${table} WHERE user_id = $1`, [person.userId]),
        table,
      ).toEqual([]);
    }
    expect(await t.db.owner.query("SELECT 1 FROM memberships WHERE user_id = $1", [person.userId])).toEqual(
      [],
    );
    // Their cookie is dead, and their address no longer signs in.
    expect((await call(t.app, { method: "GET", url: "/api/v1/me", as: person })).statusCode).toBe(401);
    const signIn = await t.app.inject({
      method: "POST",
      url: "/api/v1/auth/sign-in",
      payload: { email: person.email, password: TEST_PASSWORD },
      remoteAddress: "203.0.113.9",
    });
    expect(signIn.statusCode).toBe(401);

    const after = await verifyChain(t.db.systemReader, org.organizationId, "audit");
    expect(after.valid).toBe(true);
    const rows = await t.db.owner.query<{ action: string; actor_id: string }>(
      "SELECT action, actor_id FROM audit_events WHERE organization_id = $1 AND target_id = $2 ORDER BY seq",
      [org.organizationId, person.userId],
    );
    expect(rows.at(-1)).toEqual({ action: "users.erased", actor_id: org.owner.userId });
    const dump = JSON.stringify(
      await t.db.owner.query("SELECT * FROM audit_events WHERE organization_id = $1", [org.organizationId]),
    );
    expect(dump).not.toContain(person.email);
  });

  it("refuses what it must not do, and changes nothing", async () => {
    const other = await createTestOrg(t.db, "Elsewhere Ltd");
    const shared = await addTestMember(t.db, org.organizationId, "auditor", "shared");
    await t.db.owner.query(
      "INSERT INTO memberships (organization_id, user_id, role) VALUES ($1, $2, 'auditor')",
      [other.organizationId, shared.userId],
    );
    const res = await call(t.app, { method: "POST", url: url(shared.userId, "erasure"), as: org.owner });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe("gdpr.other_memberships");
    const self = await call(t.app, { method: "POST", url: url(org.owner.userId, "erasure"), as: org.owner });
    expect(self.statusCode).toBe(409);
    const admin = await addTestMember(t.db, org.organizationId, "admin");
    const target = await addTestMember(t.db, org.organizationId, "auditor");
    expect(
      (await call(t.app, { method: "POST", url: url(target.userId, "erasure"), as: admin })).statusCode,
    ).toBe(403);
    const stranger = await call(t.app, {
      method: "POST",
      url: url(other.owner.userId, "erasure"),
      as: org.owner,
    });
    expect(stranger.statusCode).toBe(404);
    const [row] = await t.db.owner.query<{ email: string }>("SELECT email FROM users WHERE id = $1", [
      target.userId,
    ]);
    expect(row?.email).toBe(target.email);
    expect(
      (await call(t.app, { method: "POST", url: url("not-a-uuid", "erasure"), as: org.owner })).statusCode,
    ).toBe(400);
  });
});
