import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SYSTEM_WORK } from "../../db/unit-of-work.js";
import { createTestDatabase, type TestDatabase } from "../../testing/database.js";
import type { KevEntry } from "../feeds/model.js";
import { storeKev } from "./store-scores.js";

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t.drop());

const entry = (cveId: string, dateAdded = "2026-01-10"): KevEntry => ({
  cveId,
  vendorProject: "Example",
  product: "Example Server",
  name: `${cveId} in Example Server`,
  dateAdded,
  dueDate: "2026-01-31",
  knownRansomware: false,
  notes: "",
});

const store = (entries: KevEntry[]) =>
  t.db.system(SYSTEM_WORK, (tx) => storeKev(tx, entries), { unaudited: "a test of the KEV store" });

async function marked(): Promise<string[]> {
  const rows = await t.db.owner.query<{ id: string }>(
    "SELECT id FROM vulnerabilities WHERE kev_added IS NOT NULL ORDER BY id",
  );
  return rows.map((r) => r.id);
}

describe("the KEV catalogue in the knowledge base", () => {
  it("marks what the catalogue lists, clears what left it, and names only what changed", async () => {
    expect((await store([entry("CVE-2026-1001"), entry("CVE-2026-1002")])).sort()).toEqual([
      "CVE-2026-1001",
      "CVE-2026-1002",
    ]);
    expect(await marked()).toEqual(["CVE-2026-1001", "CVE-2026-1002"]);
    // The same catalogue again changes nothing.
    expect(await store([entry("CVE-2026-1001"), entry("CVE-2026-1002")])).toEqual([]);
    // CVE-2026-1002 left the catalogue; CVE-2026-1001's date moved.
    expect((await store([entry("CVE-2026-1001", "2026-02-01")])).sort()).toEqual([
      "CVE-2026-1001",
      "CVE-2026-1002",
    ]);
    expect(await marked()).toEqual(["CVE-2026-1001"]);
    const [row] = await t.db.owner.query<{ id: string }>(
      "SELECT id FROM vulnerabilities WHERE id = 'CVE-2026-1002' AND kev_due IS NULL AND kev_ransomware IS NULL",
    );
    expect(row?.id).toBe("CVE-2026-1002");
  });
});
