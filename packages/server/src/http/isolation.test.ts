import { sql } from "kysely";
import Type from "typebox";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp } from "../testing/app.js";
import { createTestDatabase, type TestDatabase } from "../testing/database.js";
import { findCrossTenantLeaks } from "../testing/isolation-harness.js";
import { seedWorld, type World } from "../testing/world.js";
import { defineRoute, type RouteDefinition } from "./route.js";

// Each walk calls every route as B's people, MSP staff and B's API token: minutes on a busy machine.
const WALK_TIMEOUT_MS = 600_000;

let testDb: TestDatabase;
let world: World;

beforeAll(async () => {
  testDb = await createTestDatabase();
  world = await seedWorld(testDb.db);
});
afterAll(() => testDb.drop());

describe("cross-tenant isolation harness", () => {
  it("finds every tenant table seeded for both organisations", async () => {
    const tables = await testDb.db.owner.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' AND column_name = 'organization_id'",
    );
    for (const { table_name } of tables) {
      for (const org of [world.a, world.b]) {
        const rows = await testDb.db.owner.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM ${table_name} WHERE organization_id = $1`,
          [org.organizationId],
        );
        expect(
          rows[0]?.n,
          `${table_name} has no rows for ${org.name}: seed it in testing/world.ts`,
        ).toBeGreaterThan(0);
      }
    }
  });

  it(
    "finds no route that shows or changes organisation A's data to organisation B's people",
    async () => {
      // No background work: the matcher must not take the seeded inventory change mid-walk.
      const t = await startTestApp({ db: testDb, backgroundWork: false });
      try {
        expect(t.app.routeCatalog.filter((r) => !r.route.isolationExempt).length).toBeGreaterThan(10);
        expect(await findCrossTenantLeaks(t.app, t.db, world)).toEqual([]);
      } finally {
        await t.app.close();
      }
    },
    WALK_TIMEOUT_MS,
  );

  // The harness must catch the defects it exists for. These routes are planted on purpose.
  it(
    "catches a route that reads outside the organisation-bound handle",
    async () => {
      let db = testDb.db;
      const planted: RouteDefinition[] = [
        defineRoute({
          method: "GET",
          url: "/api/v1/orgs/:orgId/planted/users/:userId",
          summary: "planted defect: an unscoped lookup",
          tags: ["test"],
          permission: "users.read",
          schema: {
            params: Type.Object({ orgId: Type.String(), userId: Type.String() }),
            response: { 200: Type.Object({ email: Type.String() }) },
          },
          handler: async ({ params }) =>
            db.systemReader
              .selectFrom("users")
              .select("email")
              .where("id", "=", params.userId)
              .executeTakeFirst(),
        }),
      ];
      const t = await startTestApp({ db: testDb, routes: planted, backgroundWork: false });
      db = t.db;
      try {
        const leaks = await findCrossTenantLeaks(t.app, t.db, world);
        expect(leaks.map((l) => l.route)).toEqual(
          expect.arrayContaining(["GET /api/v1/orgs/:orgId/planted/users/:userId"]),
        );
        expect(leaks.filter((l) => !l.route.includes("/planted/"))).toEqual([]);
      } finally {
        await t.app.close();
      }
    },
    WALK_TIMEOUT_MS,
  );

  it(
    "catches a route that changes another organisation's rows",
    async () => {
      const db = testDb.db;
      const planted: RouteDefinition[] = [
        defineRoute({
          method: "DELETE",
          url: "/api/v1/orgs/:orgId/planted/invitations/:invitationId",
          summary: "planted defect: an unscoped change",
          tags: ["test"],
          permission: "users.invite",
          successStatus: 204,
          schema: {
            params: Type.Object({ orgId: Type.String(), invitationId: Type.String() }),
            response: { 204: Type.Null() },
          },
          handler: async ({ params, ctx }) => {
            await db.system(ctx, async (tx) => {
              await sql`UPDATE invitations SET revoked_at = now() WHERE id = ${params.invitationId}`.execute(
                tx.db,
              );
              tx.audit(params.orgId, { action: "planted.revoked" });
            });
          },
        }),
      ];
      const t = await startTestApp({ db: testDb, routes: planted, backgroundWork: false });
      try {
        const leaks = await findCrossTenantLeaks(t.app, t.db, world);
        expect(leaks).toEqual(
          expect.arrayContaining([
            expect.objectContaining({
              route: "DELETE /api/v1/orgs/:orgId/planted/invitations/:invitationId",
              problem: "organisation A's data changed",
            }),
          ]),
        );
      } finally {
        await t.app.close();
      }
    },
    WALK_TIMEOUT_MS,
  );
});
