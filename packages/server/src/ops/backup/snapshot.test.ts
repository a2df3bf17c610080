import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../testing/database.js";
import { snapshotPostgres } from "./snapshot.js";

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t.drop());

describe("PostgreSQL snapshot", () => {
  // Regression: Node discards a child's unread output when it exits, so a small dump read late
  // (after the key derivation) came out empty and was encrypted as an empty backup.
  it("keeps a small dump that is read only after pg_dump has exited", { timeout: 120_000 }, async () => {
    if (!t.url) return; // PostgreSQL only; the embedded snapshot is a tarball in memory
    const snapshot = await snapshotPostgres(t.url);
    // Long enough for pg_dump to write what fits in the buffers (all of a small dump) and exit.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    let bytes = 0;
    let head = Buffer.alloc(0);
    for await (const chunk of snapshot.stream) {
      if (head.length === 0) head = Buffer.from(chunk as Buffer);
      bytes += (chunk as Buffer).length;
    }
    expect(head.subarray(0, 5).toString()).toBe("PGDMP");
    expect(bytes).toBeGreaterThan(10_000);
    await snapshot.done;
    expect(snapshot.rowCounts.schema_migrations).toBeGreaterThan(0);
  });
});
