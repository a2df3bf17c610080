import { hashToken } from "@patchpilot/protocol";
import { sql } from "kysely";
import Type from "typebox";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { issueSetupToken } from "../organizations/setup.js";
import {
  addTestMember,
  call,
  freshSession,
  startTestApp,
  TEST_PASSWORD,
  type TestApp,
  type TestPerson,
} from "../testing/app.js";
import { findUnauditedRoutes, type Scenarios } from "../testing/audit-walk.js";
import { createTestDatabase, SYSTEM_CONTEXT, type TestDatabase } from "../testing/database.js";
import { defineRoute, type RouteDefinition } from "./route.js";

let testDb: TestDatabase;
beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterAll(() => testDb.drop());

/** Happy paths for every state-changing route; the walk runs them in the router's order. */
function scenarios(t: TestApp): Scenarios {
  const db = t.db;
  let orgId = "";
  let owner: TestPerson | null = null;
  const me = (): TestPerson => {
    if (!owner) throw new Error("setup has not run");
    return owner;
  };
  const member = (role: "operator" | "auditor") => addTestMember(db, orgId, role);
  return {
    "POST /api/v1/setup": async () => {
      const setupToken = await issueSetupToken(db, SYSTEM_CONTEXT);
      return {
        as: null,
        url: "/api/v1/setup",
        body: {
          setupToken,
          organizationName: "Walked Ltd",
          name: "Walker",
          email: "walker@example.test",
          password: TEST_PASSWORD,
        },
      };
    },
    "POST /api/v1/auth/sign-in": async () => {
      // Setup ran first in route order and created the organisation.
      const row = await db.systemReader
        .selectFrom("users")
        .select("id")
        .where("email", "=", "walker@example.test")
        .executeTakeFirstOrThrow();
      const org = await db.systemReader
        .selectFrom("memberships")
        .select("organization_id")
        .where("user_id", "=", row.id)
        .executeTakeFirstOrThrow();
      orgId = org.organization_id;
      owner = { userId: row.id, email: "walker@example.test", ...(await freshSession(db, row.id)) };
      return {
        as: null,
        url: "/api/v1/auth/sign-in",
        body: { email: "walker@example.test", password: TEST_PASSWORD },
      };
    },
    "POST /api/v1/auth/sign-out": async () => ({ as: await member("auditor"), url: "/api/v1/auth/sign-out" }),
    "DELETE /api/v1/me/sessions/:sessionId": async () => {
      const other = await freshSession(db, me().userId);
      const row = await db.systemReader
        .selectFrom("sessions")
        .select("id")
        .where("token_hash", "=", hashToken(other.token))
        .executeTakeFirstOrThrow();
      return { as: me(), url: `/api/v1/me/sessions/${row.id}` };
    },
    "POST /api/v1/me/password": async () => ({
      as: await member("operator"),
      url: "/api/v1/me/password",
      body: { currentPassword: TEST_PASSWORD, newPassword: "another long passphrase" },
    }),
    "POST /api/v1/invitations/accept": async () => {
      const created = await call(t.app, {
        method: "POST",
        url: `/api/v1/orgs/${orgId}/invitations`,
        as: me(),
        body: { email: "accepting@example.test", role: "auditor" },
      });
      return {
        as: null,
        url: "/api/v1/invitations/accept",
        body: { token: created.json().token, name: "Accepting Person", password: TEST_PASSWORD },
      };
    },
    "PATCH /api/v1/orgs/:orgId": async () => ({
      as: me(),
      url: `/api/v1/orgs/${orgId}`,
      body: { name: "Renamed Ltd" },
    }),
    "PATCH /api/v1/orgs/:orgId/users/:userId": async () => ({
      as: me(),
      url: `/api/v1/orgs/${orgId}/users/${(await member("operator")).userId}`,
      body: { role: "auditor" },
    }),
    "DELETE /api/v1/orgs/:orgId/users/:userId": async () => ({
      as: me(),
      url: `/api/v1/orgs/${orgId}/users/${(await member("operator")).userId}`,
    }),
    "POST /api/v1/orgs/:orgId/invitations": async () => ({
      as: me(),
      url: `/api/v1/orgs/${orgId}/invitations`,
      body: { email: "invited@example.test", role: "operator" },
    }),
    "DELETE /api/v1/orgs/:orgId/invitations/:invitationId": async () => {
      const created = await call(t.app, {
        method: "POST",
        url: `/api/v1/orgs/${orgId}/invitations`,
        as: me(),
        body: { email: "revoked@example.test", role: "operator" },
      });
      return { as: me(), url: `/api/v1/orgs/${orgId}/invitations/${created.json().invitation.id}` };
    },
    "POST /api/v1/orgs/:orgId/planted/rename": async () => ({
      as: me(),
      url: `/api/v1/orgs/${orgId}/planted/rename`,
    }),
  };
}

describe("audit completeness", () => {
  it("every state-changing route writes an audit row when it succeeds", async () => {
    const t = await startTestApp({ db: testDb });
    try {
      const gaps = await findUnauditedRoutes(t.app, t.db, scenarios(t));
      expect(gaps).toEqual([]);
    } finally {
      await t.app.close();
    }
  });

  // A planted route that changes data through raw SQL (which the runtime guard cannot see) and
  // writes no audit row: the walk must report it.
  it("catches a route that changes data without an audit row", async () => {
    const planted: RouteDefinition[] = [
      defineRoute({
        method: "POST",
        url: "/api/v1/orgs/:orgId/planted/rename",
        summary: "planted defect: no audit row",
        tags: ["test"],
        permission: "organization.update",
        schema: { params: Type.Object({ orgId: Type.String() }), response: { 200: Type.Object({}) } },
        handler: async ({ ctx }) => {
          await t.db.withOrganization(ctx.organizationId ?? "", ctx, async (tx) => {
            await sql`UPDATE organizations SET name = name || '!'`.execute(tx.db);
          });
          return {};
        },
      }),
    ];
    const t = await startTestApp({ routes: planted });
    try {
      const gaps = await findUnauditedRoutes(t.app, t.db, scenarios(t));
      expect(gaps).toEqual([
        { route: "POST /api/v1/orgs/:orgId/planted/rename", problem: "succeeded without an audit row" },
      ]);
    } finally {
      await t.close();
    }
  });

  it("reports a state-changing route nobody has shown a happy path for", async () => {
    const t = await startTestApp({ db: testDb });
    try {
      const gaps = await findUnauditedRoutes(t.app, t.db, {});
      expect(gaps.length).toBe(t.app.routeCatalog.filter((r) => r.method !== "GET").length);
      expect(gaps.every((g) => g.problem.startsWith("no happy-path scenario"))).toBe(true);
    } finally {
      await t.app.close();
    }
  });
});
