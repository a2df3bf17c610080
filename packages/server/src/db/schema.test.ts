import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../testing/database.js";
import { DECLARED_COLUMNS } from "../testing/declared-columns.js";
import { readMigrations, unapplied } from "./migrate.js";

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t.drop());

describe("schema", () => {
  it("has exactly the tables and columns the row types declare", async () => {
    const rows = await t.db.owner.query<{ table_name: string; column_name: string }>(
      "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2",
    );
    const actual: Record<string, string[]> = {};
    for (const r of rows) {
      actual[r.table_name] = [...(actual[r.table_name] ?? []), r.column_name];
    }
    const declared = Object.fromEntries(
      Object.entries(DECLARED_COLUMNS).map(([table, cols]) => [table, Object.keys(cols).sort()]),
    );
    expect(actual).toEqual(declared);
  });

  it("records every migration with its checksum and refuses an edited one", async () => {
    const applied = await t.db.owner.query<{ version: string; checksum: string }>(
      "SELECT version, checksum FROM schema_migrations",
    );
    const files = await readMigrations();
    expect(applied.map((m) => m.version).sort()).toEqual(files.map((m) => m.version));
    const map = new Map(applied.map((m) => [m.version, m.checksum]));
    expect(unapplied(files, map)).toEqual([]);
    const edited = files.map((m, i) => (i === 0 ? { ...m, checksum: "0".repeat(64) } : m));
    expect(() => unapplied(edited, map)).toThrow(/was changed after it was applied/);
  });

  it("indexes every foreign key that follows its parent on delete, and notices one that is not", async () => {
    // A child that is deleted or nulled with its parent is looked up by its referencing columns
    // for every parent row removed: without an index leading with them, each is a full scan.
    const unindexed = `
      SELECT c.conrelid::regclass::text AS child, c.conname AS constraint_name
        FROM pg_constraint c
       WHERE c.contype = 'f' AND c.confdeltype IN ('c', 'n', 'd') AND c.connamespace = 'public'::regnamespace
         AND NOT EXISTS (
           SELECT 1 FROM pg_index i
            WHERE i.indrelid = c.conrelid
              AND (SELECT array_agg(k ORDER BY k) FROM unnest((i.indkey::int2[])[0:array_length(c.conkey, 1) - 1]) k)
                  = (SELECT array_agg(k ORDER BY k) FROM unnest(c.conkey) k))
       ORDER BY 1, 2`;
    expect(await t.db.owner.query(unindexed)).toEqual([]);
    await t.db.owner.exec("BEGIN");
    try {
      await t.db.owner.exec("DROP INDEX cpe_matches_advisory_idx");
      expect(await t.db.owner.query(unindexed)).toEqual([
        { child: "cpe_matches", constraint_name: "cpe_matches_source_advisory_id_fkey" },
      ]);
    } finally {
      await t.db.owner.exec("ROLLBACK");
    }
  });
});
