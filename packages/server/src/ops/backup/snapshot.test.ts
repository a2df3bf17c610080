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
    expect((await snapshot.facts).rowCounts.schema_migrations).toBeGreaterThan(0);
  });
});

describe("row counts", () => {
  it("counts every table in one statement, exactly", async () => {
    const { readFacts } = await import("./snapshot.js");
    const statements: string[] = [];
    const facts = await readFacts(async <R>(text: string) => {
      statements.push(text);
      return t.db.owner.query<R>(text);
    });
    // The catalogue, the counts, the chain heads, the schema version: not one statement per table.
    expect(statements.length).toBeLessThanOrEqual(4);
    const [one] = await t.db.owner.query<{ n: number | string }>(
      "SELECT count(*) AS n FROM schema_migrations",
    );
    expect(facts.rowCounts.schema_migrations).toBe(Number(one?.n));
    expect(Object.keys(facts.rowCounts)).toContain("audit_events");
  });

  it("reads the counts in the dump's snapshot while the dump runs", { timeout: 120_000 }, async () => {
    if (!t.url) return; // PostgreSQL only
    const before = await t.db.owner.query<{ n: number | string }>("SELECT count(*) AS n FROM status_probes");
    const snapshot = await snapshotPostgres(t.url);
    // A row committed after the snapshot was exported is neither in the dump nor in the counts.
    await t.db.owner.query(
      "INSERT INTO status_probes (component, probed_at, up) VALUES ('api', now(), true)",
    );
    for await (const _chunk of snapshot.stream) {
      // drain
    }
    await snapshot.done;
    expect((await snapshot.facts).rowCounts.status_probes).toBe(Number(before[0]?.n));
  });
});
