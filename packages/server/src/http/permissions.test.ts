import { ACTIONS, ASSIGNABLE_ROLES, can } from "@patchpilot/domain";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp } from "../testing/app.js";
import { createTestDatabase, type TestDatabase } from "../testing/database.js";
import { findPermissionViolations } from "../testing/permission-walk.js";
import { seedWorld } from "../testing/world.js";
import { WRITTEN_POLICY } from "../testing/written-policy.js";

let testDb: TestDatabase;
beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterAll(() => testDb.drop());

describe("permission matrix", () => {
  it("is the written policy", () => {
    for (const role of ASSIGNABLE_ROLES) {
      for (const action of Object.keys(ACTIONS) as (keyof typeof ACTIONS)[]) {
        expect(can(role, action), `${role} ${action}`).toBe(WRITTEN_POLICY(role, action));
      }
    }
  });

  it("is what the server enforces on every organisation route, for every role", async () => {
    const world = await seedWorld(testDb.db);
    const t = await startTestApp({ db: testDb });
    try {
      expect(await findPermissionViolations(t.app, t.db, world.a, WRITTEN_POLICY)).toEqual([]);
    } finally {
      await t.app.close();
    }
  });

  it("refuses, at registration, a state-changing route that declares a read action", async () => {
    const { defineRoute } = await import("./route.js");
    const Type = (await import("typebox")).default;
    await expect(
      startTestApp({
        db: testDb,
        routes: [
          defineRoute({
            method: "POST",
            url: "/api/v1/orgs/:orgId/planted",
            summary: "planted defect",
            tags: ["test"],
            permission: "audit.read",
            schema: { response: { 200: Type.Object({}) } },
            handler: async () => ({}),
          }),
        ],
      }),
    ).rejects.toThrow(/changes state but declares the read action audit.read/);
  });
});
