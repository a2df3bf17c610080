import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startTestApp } from "../testing/app.js";
import { createTestDatabase, type TestDatabase } from "../testing/database.js";
import { findPermissionViolations } from "../testing/permission-walk.js";
import { seedWorld } from "../testing/world.js";
import { WRITTEN_POLICY } from "../testing/written-policy.js";

// A planted defect: a matrix that lets an Auditor remove members. The walk must catch it.
vi.mock("@patchpilot/domain", async (importOriginal) => {
  const original = await importOriginal<typeof import("@patchpilot/domain")>();
  return {
    ...original,
    can: (role: string, action: string) =>
      (role === "auditor" && action === "users.remove") ||
      original.can(role as Parameters<typeof original.can>[0], action as Parameters<typeof original.can>[1]),
  };
});

let testDb: TestDatabase;
beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterAll(() => testDb.drop());

describe("permission walk", () => {
  it("catches a matrix that lets an Auditor change something", async () => {
    const world = await seedWorld(testDb.db);
    const t = await startTestApp({ db: testDb });
    try {
      const violations = await findPermissionViolations(t.app, t.db, world.a, WRITTEN_POLICY);
      expect(violations).toEqual([
        expect.objectContaining({ route: "DELETE /api/v1/orgs/:orgId/users/:userId", role: "auditor" }),
      ]);
    } finally {
      await t.app.close();
    }
  });
});
