import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../testing/database.js";
import { isDue, runUpkeep } from "./upkeep.js";

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t.drop());

async function measured(table: string): Promise<{ reltuples: number; estimate: number }> {
  const [row] = await t.db.owner.query<{ reltuples: number }>(
    "SELECT reltuples::float8 AS reltuples FROM pg_class WHERE oid = $1::regclass",
    [table],
  );
  const plan = await t.db.owner.query<{ "QUERY PLAN": string }>(`EXPLAIN SELECT * FROM ${table}`);
  const estimate = Number(/rows=(\d+)/.exec(plan[0]?.["QUERY PLAN"] ?? "")?.[1]);
  return { reltuples: row?.reltuples ?? Number.NaN, estimate };
}

/** `count` vulnerabilities with ids under `prefix`, inserted as the owner (no statistics kept). */
async function addVulnerabilities(prefix: string, count: number): Promise<void> {
  await t.db.owner.query(
    `INSERT INTO vulnerabilities (id, severity, description)
     SELECT $1 || '-' || lpad(g::text, 5, '0'), 'high', repeat('a long description ', 10)
     FROM generate_series(1, $2::int) g`,
    [prefix, count],
  );
}

describe("database upkeep where autovacuum does not run", () => {
  it("measures a table that grew, so the planner knows its size, and leaves measured tables alone", async () => {
    await addVulnerabilities("CVE-2098", 5000);
    const first = await runUpkeep(t.db.owner);
    expect(first.tables).toContain("vulnerabilities");
    expect(first.froze).toBe(false);
    const after = await measured("vulnerabilities");
    expect(after.reltuples).toBe(5000);
    expect(after.estimate).toBeGreaterThan(4000);
    expect(after.estimate).toBeLessThan(6000);

    const second = await runUpkeep(t.db.owner);
    expect(second.tables).not.toContain("vulnerabilities");

    // Growing again past a tenth of its size makes it due again.
    await addVulnerabilities("CVE-2097", 2000);
    const third = await runUpkeep(t.db.owner);
    expect(third.tables).toContain("vulnerabilities");
    expect((await measured("vulnerabilities")).reltuples).toBe(7000);
  });

  it("freezes the whole database once its oldest transaction id is old", async () => {
    const age = async () =>
      (
        await t.db.owner.query<{ age: number }>(
          "SELECT age(datfrozenxid)::int AS age FROM pg_database WHERE datname = current_database()",
        )
      )[0]?.age ?? Number.NaN;
    const before = await age();
    const report = await runUpkeep(t.db.owner, { freezeAge: 0 });
    expect(report.froze).toBe(true);
    expect(await age()).toBeLessThanOrEqual(before);
    expect((await runUpkeep(t.db.owner)).froze).toBe(false);
  });

  it("takes a table as due when never measured or a tenth (and eight pages) away from its measure", () => {
    expect(isDue({ name: "t", relpages: 0, reltuples: -1, pages: 0 })).toBe(false);
    expect(isDue({ name: "t", relpages: 0, reltuples: -1, pages: 1 })).toBe(true);
    expect(isDue({ name: "t", relpages: 100, reltuples: 9000, pages: 108 })).toBe(false);
    expect(isDue({ name: "t", relpages: 100, reltuples: 9000, pages: 111 })).toBe(true);
    expect(isDue({ name: "t", relpages: 100, reltuples: 9000, pages: 89 })).toBe(true);
    expect(isDue({ name: "t", relpages: 2, reltuples: 50, pages: 10 })).toBe(false);
    expect(isDue({ name: "t", relpages: 2, reltuples: 50, pages: 11 })).toBe(true);
  });
});
