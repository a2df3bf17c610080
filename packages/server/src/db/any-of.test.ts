import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../testing/database.js";
import { anyOf, inList } from "./any-of.js";

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
  await t.db.owner.exec(`
    CREATE TEMP TABLE listed (id integer PRIMARY KEY, name text NOT NULL, flag boolean NOT NULL);
    INSERT INTO listed SELECT g, 'pkg' || g, false FROM generate_series(1, 20000) g;
    ANALYZE listed`);
});
afterAll(() => t.drop());

/** The condition's SQL with its list as $1, as the prepared statements of the server carry it. */
function conditionSql(condition: ReturnType<typeof inList>): string {
  return condition.compile(t.db.systemReader).sql;
}

/**
 * The plan PostgreSQL uses for a prepared statement once it settles on a generic one, with the
 * condition beside an OR (so it filters scanned rows rather than guiding an index lookup).
 */
async function genericPlan(condition: ReturnType<typeof inList>, names: string[]): Promise<string> {
  await t.db.owner.exec("SET plan_cache_mode = force_generic_plan");
  try {
    await t.db.owner.exec(
      `PREPARE by_list(text[]) AS SELECT id FROM listed WHERE flag OR ${conditionSql(condition)}`,
    );
    const rows = await t.db.owner.query<{ "QUERY PLAN": string }>(
      `EXPLAIN EXECUTE by_list('{${names.join(",")}}')`,
    );
    return rows.map((r) => r["QUERY PLAN"]).join("\n");
  } finally {
    await t.db.owner.exec("DEALLOCATE by_list; RESET plan_cache_mode");
  }
}

describe("list conditions", () => {
  it("select the rows whose column is in the list, and none for an empty list", async () => {
    const select = (condition: ReturnType<typeof inList>, values: unknown[]) =>
      t.db.owner.query<{ id: number }>(`SELECT id FROM listed WHERE ${conditionSql(condition)} ORDER BY id`, [
        values,
      ]);
    const names = ["pkg7", "pkg19999", "not-there"];
    expect((await select(inList("name", names, "text"), names)).map((r) => r.id)).toEqual([7, 19999]);
    expect(await select(inList("name", [], "text"), [])).toEqual([]);
    expect((await select(anyOf("name", names, "text"), names)).map((r) => r.id)).toEqual([7, 19999]);
  });

  it("hash a long list once under a generic plan instead of searching it on every row", async () => {
    const names = Array.from({ length: 3000 }, (_, i) => `pkg${i * 5}`);
    const plan = await genericPlan(inList("name", names, "text"), names);
    expect(plan).toMatch(/hashed SubPlan/);
  });
});
