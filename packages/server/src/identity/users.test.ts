import type { AssignableRole } from "@patchpilot/domain";
import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ErrorBody } from "../http/errors.js";
import {
  addTestMember,
  call,
  createTestOrg,
  startTestApp,
  type TestApp,
  type TestOrg,
  type TestPerson,
} from "../testing/app.js";
import { SYSTEM_CONTEXT } from "../testing/database.js";
import type { MemberView } from "./users-service.js";

type Member = MemberView;

interface MemberPage {
  items: Member[];
  nextCursor: string | null;
}

interface AuditRow {
  organization_id: string;
  actor_id: string | null;
  action: string;
  result: string;
  error_code: string | null;
  target_id: string | null;
  details: Record<string, unknown>;
}

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

function errorOf(res: LightMyRequestResponse): ErrorBody["error"] {
  return res.json<ErrorBody>().error;
}

function auditOf(res: LightMyRequestResponse): Promise<AuditRow[]> {
  return t.db.owner.query<AuditRow>(
    `SELECT organization_id, actor_id, action, result, error_code, target_id, details
       FROM audit_events WHERE request_id = $1 ORDER BY seq`,
    [String(res.headers["x-request-id"])],
  );
}

async function roleOf(organizationId: string, userId: string): Promise<string | null> {
  const rows = await t.db.owner.query<{ role: string }>(
    "SELECT role FROM memberships WHERE organization_id = $1 AND user_id = $2",
    [organizationId, userId],
  );
  return rows[0]?.role ?? null;
}

/** Many members at once, in one transaction (so they share one created_at, as a bulk import would). */
async function addManyMembers(
  organizationId: string,
  count: number,
  role: AssignableRole,
): Promise<string[]> {
  const stamp = Math.random().toString(36).slice(2, 8);
  return t.db.system(SYSTEM_CONTEXT, async (tx) => {
    const users = await tx.db
      .insertInto("users")
      .values(
        Array.from({ length: count }, (_, i) => ({
          email: `bulk-${stamp}-${i}@example.test`,
          name: `Bulk ${i}`,
          password_hash: null,
        })),
      )
      .returning("id")
      .execute();
    await tx.db
      .insertInto("memberships")
      .values(users.map((u) => ({ organization_id: organizationId, user_id: u.id, role })))
      .execute();
    tx.audit(organizationId, { action: "users.added", details: { count, role } });
    return users.map((u) => u.id);
  });
}

function patchRole(org: TestOrg, as: TestPerson, userId: string, role: string) {
  return call(t.app, {
    method: "PATCH",
    url: `/api/v1/orgs/${org.organizationId}/users/${userId}`,
    as,
    body: { role },
  });
}

function remove(org: TestOrg, as: TestPerson, userId: string) {
  return call(t.app, { method: "DELETE", url: `/api/v1/orgs/${org.organizationId}/users/${userId}`, as });
}

async function allPages(org: TestOrg, as: TestPerson, query: string): Promise<MemberPage[]> {
  const pages: MemberPage[] = [];
  let cursor: string | null = null;
  do {
    const url: string = `/api/v1/orgs/${org.organizationId}/users?${query}${
      cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""
    }`;
    const res = await call(t.app, { method: "GET", url, as });
    expect(res.statusCode, res.body).toBe(200);
    const page = res.json<MemberPage>();
    pages.push(page);
    cursor = page.nextCursor;
  } while (cursor !== null && pages.length < 10);
  return pages;
}

describe("listing members", () => {
  it("pages through members who joined at the same instant without duplicates or gaps", async () => {
    const org = await createTestOrg(t.db);
    const bulk = await addManyMembers(org.organizationId, 119, "operator");
    const pages = await allPages(org, org.owner, "limit=50");
    expect(pages.map((p) => p.items.length)).toEqual([50, 50, 20]);
    expect(pages.at(-1)?.nextCursor).toBeNull();
    const ids = pages.flatMap((p) => p.items.map((m) => m.id));
    expect(new Set(ids).size).toBe(120);
    expect(new Set(ids)).toEqual(new Set([org.owner.userId, ...bulk]));
  });

  it("pages through members who joined one after another without duplicates or gaps", async () => {
    const org = await createTestOrg(t.db);
    const joined = [org.owner.userId];
    for (let i = 0; i < 6; i++)
      joined.push((await addTestMember(t.db, org.organizationId, "auditor")).userId);
    const pages = await allPages(org, org.owner, "limit=3");
    expect(pages.map((p) => p.items.length)).toEqual([3, 3, 1]);
    // Oldest first.
    expect(pages.flatMap((p) => p.items.map((m) => m.id))).toEqual(joined);
  });

  it("refuses a cursor that is not one of ours with 400 naming the cursor", async () => {
    const org = await createTestOrg(t.db);
    const notJson = Buffer.from("not json").toString("base64url");
    const wrongShape = Buffer.from(JSON.stringify({ at: "yesterday", id: "x" })).toString("base64url");
    for (const cursor of ["!!!", notJson, wrongShape]) {
      const res = await call(t.app, {
        method: "GET",
        url: `/api/v1/orgs/${org.organizationId}/users?cursor=${encodeURIComponent(cursor)}`,
        as: org.owner,
      });
      expect(res.statusCode, cursor).toBe(400);
      expect(errorOf(res).code).toBe("request.invalid");
      expect(errorOf(res).field).toBe("cursor");
    }
  });

  it("filters by role", async () => {
    const org = await createTestOrg(t.db);
    const auditors = [
      await addTestMember(t.db, org.organizationId, "auditor"),
      await addTestMember(t.db, org.organizationId, "auditor"),
    ];
    await addTestMember(t.db, org.organizationId, "operator");
    const res = await call(t.app, {
      method: "GET",
      url: `/api/v1/orgs/${org.organizationId}/users?role=auditor`,
      as: org.owner,
    });
    expect(res.statusCode).toBe(200);
    const page = res.json<MemberPage>();
    expect(page.items.map((m) => m.id).sort()).toEqual(auditors.map((a) => a.userId).sort());
    expect(page.items.every((m) => m.role === "auditor")).toBe(true);
    expect(page.nextCursor).toBeNull();
  });

  it("shows one member, and answers 404 for another organisation's user", async () => {
    const org = await createTestOrg(t.db);
    const member = await addTestMember(t.db, org.organizationId, "operator");
    const res = await call(t.app, {
      method: "GET",
      url: `/api/v1/orgs/${org.organizationId}/users/${member.userId}`,
      as: org.owner,
    });
    expect(res.statusCode).toBe(200);
    expect(res.json<Member>()).toMatchObject({ id: member.userId, email: member.email, role: "operator" });

    // Stops reading people of another tenant by guessing or learning their ids.
    const elsewhere = await createTestOrg(t.db);
    const foreign = await call(t.app, {
      method: "GET",
      url: `/api/v1/orgs/${org.organizationId}/users/${elsewhere.owner.userId}`,
      as: org.owner,
    });
    expect(foreign.statusCode).toBe(404);
    expect(errorOf(foreign).code).toBe("users.not_found");
    expect(foreign.body).not.toContain(elsewhere.owner.email);
  });
});

describe("changing roles", () => {
  it("changes a role and audits it with from and to", async () => {
    const org = await createTestOrg(t.db);
    const admin = await addTestMember(t.db, org.organizationId, "admin");
    const member = await addTestMember(t.db, org.organizationId, "operator");
    const res = await patchRole(org, admin, member.userId, "auditor");
    expect(res.statusCode).toBe(200);
    expect(res.json<Member>()).toMatchObject({ id: member.userId, role: "auditor" });
    expect(await roleOf(org.organizationId, member.userId)).toBe("auditor");
    expect(await auditOf(res)).toEqual([
      {
        organization_id: org.organizationId,
        actor_id: admin.userId,
        action: "users.role_changed",
        result: "success",
        error_code: null,
        target_id: member.userId,
        details: { from: "operator", to: "auditor" },
      },
    ]);
  });

  // Stops an Admin taking over the organisation (making themselves or a friend Owner) or
  // demoting/removing the Owners who could undo it.
  it("refuses an Admin granting Owner, or changing or removing an Owner (403 users.owner_only)", async () => {
    const org = await createTestOrg(t.db);
    const admin = await addTestMember(t.db, org.organizationId, "admin");
    const member = await addTestMember(t.db, org.organizationId, "operator");

    const attempts = [
      { res: await patchRole(org, admin, member.userId, "owner"), action: "users.update_role" },
      { res: await patchRole(org, admin, admin.userId, "owner"), action: "users.update_role" },
      { res: await patchRole(org, admin, org.owner.userId, "admin"), action: "users.update_role" },
      { res: await remove(org, admin, org.owner.userId), action: "users.remove" },
    ];
    for (const { res, action } of attempts) {
      expect(res.statusCode, res.body).toBe(403);
      expect(errorOf(res).code).toBe("users.owner_only");
      // Refused changes are themselves audited, as failures, in the organisation.
      expect(await auditOf(res)).toEqual([
        expect.objectContaining({
          organization_id: org.organizationId,
          actor_id: admin.userId,
          action,
          result: "failure",
          error_code: "users.owner_only",
        }),
      ]);
    }
    expect(await roleOf(org.organizationId, member.userId)).toBe("operator");
    expect(await roleOf(org.organizationId, admin.userId)).toBe("admin");
    expect(await roleOf(org.organizationId, org.owner.userId)).toBe("owner");
  });

  it("lets an Owner make another Owner", async () => {
    const org = await createTestOrg(t.db);
    const admin = await addTestMember(t.db, org.organizationId, "admin");
    const res = await patchRole(org, org.owner, admin.userId, "owner");
    expect(res.statusCode).toBe(200);
    expect(await roleOf(org.organizationId, admin.userId)).toBe("owner");
    expect((await auditOf(res))[0]?.details).toEqual({ from: "admin", to: "owner" });
  });

  // An organisation without an Owner could never again grant or manage ownership.
  it("keeps the last Owner: not demoted or removed (409 users.last_owner), audited as failures", async () => {
    const org = await createTestOrg(t.db);
    const demote = await patchRole(org, org.owner, org.owner.userId, "admin");
    const removal = await remove(org, org.owner, org.owner.userId);
    for (const [res, action] of [
      [demote, "users.update_role"],
      [removal, "users.remove"],
    ] as const) {
      expect(res.statusCode, res.body).toBe(409);
      expect(errorOf(res).code).toBe("users.last_owner");
      expect(await auditOf(res)).toEqual([
        expect.objectContaining({
          organization_id: org.organizationId,
          action,
          result: "failure",
          error_code: "users.last_owner",
        }),
      ]);
    }
    expect(await roleOf(org.organizationId, org.owner.userId)).toBe("owner");
  });

  it("lets one of two Owners be demoted, and then keeps the remaining one", async () => {
    const org = await createTestOrg(t.db);
    const second = await addTestMember(t.db, org.organizationId, "owner");
    const demoted = await patchRole(org, second, org.owner.userId, "operator");
    expect(demoted.statusCode).toBe(200);
    expect(await roleOf(org.organizationId, org.owner.userId)).toBe("operator");

    const last = await patchRole(org, second, second.userId, "admin");
    expect(last.statusCode).toBe(409);
    expect(errorOf(last).code).toBe("users.last_owner");
    expect(await roleOf(org.organizationId, second.userId)).toBe("owner");
  });

  it("refuses Operators and Auditors changing roles, removing or inviting (403 auth.forbidden)", async () => {
    const org = await createTestOrg(t.db);
    const target = await addTestMember(t.db, org.organizationId, "operator", "target");
    const invitationsBefore = await t.db.owner.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM invitations WHERE organization_id = $1",
      [org.organizationId],
    );
    for (const role of ["operator", "auditor"] as const) {
      const person = await addTestMember(t.db, org.organizationId, role);
      const attempts = [
        { res: await patchRole(org, person, target.userId, "auditor"), action: "users.update_role" },
        { res: await remove(org, person, target.userId), action: "users.remove" },
        {
          res: await call(t.app, {
            method: "POST",
            url: `/api/v1/orgs/${org.organizationId}/invitations`,
            as: person,
            body: { email: `invitee-${role}@example.test`, role: "auditor" },
          }),
          action: "users.invite",
        },
      ];
      for (const { res, action } of attempts) {
        expect(res.statusCode, `${role} ${action}`).toBe(403);
        expect(errorOf(res).code).toBe("auth.forbidden");
        expect(await auditOf(res)).toEqual([
          expect.objectContaining({
            organization_id: org.organizationId,
            actor_id: person.userId,
            action,
            result: "failure",
            error_code: "auth.forbidden",
          }),
        ]);
      }
    }
    expect(await roleOf(org.organizationId, target.userId)).toBe("operator");
    const invitationsAfter = await t.db.owner.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM invitations WHERE organization_id = $1",
      [org.organizationId],
    );
    expect(invitationsAfter).toEqual(invitationsBefore);
  });
});

describe("removing members", () => {
  it("removes a member (204, audited); they then get 404 on the organisation's routes", async () => {
    const org = await createTestOrg(t.db);
    const member = await addTestMember(t.db, org.organizationId, "admin");
    expect(
      (await call(t.app, { method: "GET", url: `/api/v1/orgs/${org.organizationId}`, as: member }))
        .statusCode,
    ).toBe(200);

    const res = await remove(org, org.owner, member.userId);
    expect(res.statusCode).toBe(204);
    expect(await roleOf(org.organizationId, member.userId)).toBeNull();
    expect(await auditOf(res)).toEqual([
      {
        organization_id: org.organizationId,
        actor_id: org.owner.userId,
        action: "users.removed",
        result: "success",
        error_code: null,
        target_id: member.userId,
        details: { role: "admin" },
      },
    ]);

    // Their session still works, but no longer opens this organisation.
    for (const [method, url] of [
      ["GET", `/api/v1/orgs/${org.organizationId}`],
      ["GET", `/api/v1/orgs/${org.organizationId}/users`],
      ["DELETE", `/api/v1/orgs/${org.organizationId}/users/${org.owner.userId}`],
    ] as const) {
      const after = await call(t.app, { method, url, as: member });
      expect(after.statusCode, `${method} ${url}`).toBe(404);
      expect(errorOf(after).code).toBe("organization.not_found");
    }
    expect((await call(t.app, { method: "GET", url: "/api/v1/me", as: member })).statusCode).toBe(200);
  });

  it("removes the membership of this organisation only", async () => {
    const org = await createTestOrg(t.db);
    const other = await createTestOrg(t.db);
    const member = await addTestMember(t.db, org.organizationId, "operator");
    await t.db.system(SYSTEM_CONTEXT, async (tx) => {
      await tx.db
        .insertInto("memberships")
        .values({ organization_id: other.organizationId, user_id: member.userId, role: "auditor" })
        .execute();
      tx.audit(other.organizationId, { action: "users.added", target: { type: "user", id: member.userId } });
    });
    expect((await remove(org, org.owner, member.userId)).statusCode).toBe(204);
    expect(await roleOf(org.organizationId, member.userId)).toBeNull();
    expect(await roleOf(other.organizationId, member.userId)).toBe("auditor");
  });

  // Outsiders learn nothing, not even that the organisation exists: 404, never 403.
  it("answers 404, not 403, to someone who is not a member", async () => {
    const org = await createTestOrg(t.db);
    const outsider = (await createTestOrg(t.db)).owner;
    const member = await addTestMember(t.db, org.organizationId, "operator");
    for (const [method, url, body] of [
      ["GET", `/api/v1/orgs/${org.organizationId}`, undefined],
      ["GET", `/api/v1/orgs/${org.organizationId}/users`, undefined],
      ["GET", `/api/v1/orgs/${org.organizationId}/users/${member.userId}`, undefined],
      ["PATCH", `/api/v1/orgs/${org.organizationId}/users/${member.userId}`, { role: "admin" }],
      ["DELETE", `/api/v1/orgs/${org.organizationId}/users/${member.userId}`, undefined],
      ["POST", `/api/v1/orgs/${org.organizationId}/invitations`, { email: "x@example.test", role: "admin" }],
    ] as const) {
      const res = await call(t.app, { method, url, as: outsider, body });
      expect(res.statusCode, `${method} ${url}`).toBe(404);
      expect(errorOf(res).code).toBe("organization.not_found");
    }
    // Same answer as for an organisation that does not exist at all.
    const none = await call(t.app, {
      method: "GET",
      url: "/api/v1/orgs/7d3c1f4e-0000-4000-8000-000000000001",
      as: outsider,
    });
    expect(none.statusCode).toBe(404);
    expect(errorOf(none).code).toBe("organization.not_found");
    expect(await roleOf(org.organizationId, member.userId)).toBe("operator");
  });
});
