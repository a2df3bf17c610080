import AdmZip from "adm-zip";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../../config/config.js";
import { createTestDatabase, type TestDatabase } from "../../../testing/database.js";
import { FeedSources, testdataFile } from "../../../testing/feed-sources.js";
import { syncFeeds } from "./feed-sync.js";

let sources: FeedSources;
let testDb: TestDatabase;
beforeAll(async () => {
  sources = await FeedSources.start();
  testDb = await createTestDatabase();
});
afterAll(async () => {
  await sources.close();
  await testDb.drop();
});

const real = JSON.parse(testdataFile("vunnel/govulndb/vulndb/ID/GO-2023-1989.json").toString()) as Record<
  string,
  unknown
>;
/** A Go vulnerability database record, cloned from a real one with another id and time. */
const record = (id: string, modified: string) => JSON.stringify({ ...real, id, modified, aliases: [] });

function allZip(): Buffer {
  const zip = new AdmZip();
  zip.addFile("GO-2023-1989.json", testdataFile("vunnel/govulndb/vulndb/ID/GO-2023-1989.json"));
  zip.addFile("GO-2024-0001.json", Buffer.from(record("GO-2024-0001", "2025-06-01T12:00:00Z")));
  zip.addFile("GO-2024-0002.json", Buffer.from('{"id": "GO-2024-0002", "modified": '));
  zip.addFile(
    "GO-2024-0003.json",
    Buffer.from(JSON.stringify({ id: "GO-2024-0003", modified: "2024-01-01T00:00:00Z", affected: [] })),
  );
  return zip.toBuffer();
}

const sync = (only = ["osv"], osvMaxChangedRecords = 100) =>
  syncFeeds(
    testDb.db,
    loadConfig({
      PATCHPILOT_DATA_DIR: "/nonexistent",
      PATCHPILOT_FEED_URL_OSV: sources.url("/osv"),
      PATCHPILOT_OSV_ECOSYSTEMS: "Go,crates.io",
    }),
    { only, tuning: { backoffMs: 5, attempts: 2, osvMaxChangedRecords } },
  );

async function state(feed: string) {
  return testDb.db.systemReader
    .selectFrom("feed_state")
    .select(["cursor", "last_error", "skipped"])
    .where("feed", "=", feed)
    .executeTakeFirstOrThrow();
}
async function osvIds(): Promise<string[]> {
  const rows = await testDb.db.owner.query<{ id: string }>(
    "SELECT id FROM advisories WHERE source = 'osv' ORDER BY id",
  );
  return rows.map((r) => r.id);
}

describe("OSV", () => {
  it("reads each ecosystem's all.zip on the first run, skipping and counting broken records", async () => {
    sources.serve("/osv/Go/all.zip", { body: allZip() });
    // crates.io's archive breaks off: only that ecosystem fails.
    sources.serve("/osv/crates.io/all.zip", { body: allZip(), truncate: true });
    const reports = await sync();
    expect(reports.map((r) => [r.feed, r.status])).toEqual([
      ["osv:Go", "synced"],
      ["osv:crates.io", "failed"],
    ]);
    expect(reports[0]).toMatchObject({ stored: 2, skipped: 2 });
    expect(reports[1]?.error).toMatch(/crates\.io\/all\.zip could not be fetched after 2 attempts/);
    expect(await osvIds()).toEqual(["GO-2023-1989", "GO-2024-0001"]);
    const go = await state("osv:Go");
    expect(go.skipped).toBe(2);
    // The cursor is the newest modification in the archive.
    expect(JSON.parse(go.cursor ?? "{}")).toMatchObject({ modified: "2025-06-01T12:00:00.000Z" });
  });

  it("later reads modified_id.csv down to the cursor and fetches only the records changed since", async () => {
    sources.requests.length = 0;
    sources.serve("/osv/Go/modified_id.csv", {
      etag: '"index-1"',
      body: [
        "2025-07-03T00:00:00Z,GO-2025-0003",
        "2025-07-02T00:00:00Z,GO-2025-0002",
        "garbage line",
        "2025-07-01T00:00:00Z,GO-2024-0001",
        "2025-06-01T12:00:00Z,GO-2023-1989",
        "2024-01-01T00:00:00Z,GO-2022-0001",
        "",
      ].join("\n"),
    });
    sources.serve("/osv/Go/GO-2025-0003.json", { body: record("GO-2025-0003", "2025-07-03T00:00:00Z") });
    // GO-2025-0002 is listed but gone: skipped, not a failure.
    sources.serve("/osv/Go/GO-2024-0001.json", {
      body: record("GO-2024-0001", "2025-07-01T00:00:00Z"),
      gzip: true,
    });
    const [report] = await sync(["osv:Go"]);
    expect(report).toMatchObject({ feed: "osv:Go", status: "synced", stored: 2, skipped: 2, error: null });
    expect(sources.requests.map((r) => r.path).sort()).toEqual([
      "/osv/Go/GO-2024-0001.json",
      "/osv/Go/GO-2025-0002.json",
      "/osv/Go/GO-2025-0003.json",
      "/osv/Go/modified_id.csv",
    ]);
    expect(await osvIds()).toEqual(["GO-2023-1989", "GO-2024-0001", "GO-2025-0003"]);
    expect(JSON.parse((await state("osv:Go")).cursor ?? "{}")).toMatchObject({
      modified: "2025-07-03T00:00:00.000Z",
      etag: '"index-1"',
    });

    sources.requests.length = 0;
    const [again] = await sync(["osv:Go"]);
    expect(again).toMatchObject({ status: "unchanged", stored: 0 });
    expect(sources.requests.map((r) => [r.path, r.status, r.headers["if-none-match"]])).toEqual([
      ["/osv/Go/modified_id.csv", 304, '"index-1"'],
    ]);
  });

  it("keeps a failed ecosystem's cursor until it works, then starts it from all.zip", async () => {
    expect((await state("osv:crates.io")).cursor).toBeNull();
    sources.serve("/osv/crates.io/all.zip", { body: allZip() });
    const [report] = await sync(["osv:crates.io"]);
    expect(report).toMatchObject({ status: "synced", skipped: 2, error: null });
    expect((report?.stored ?? 0) + (report?.unchanged ?? 0)).toBe(2);
    const crates = await state("osv:crates.io");
    expect(crates.last_error).toBeNull();
    expect(JSON.parse(crates.cursor ?? "{}")).toMatchObject({ modified: "2025-06-01T12:00:00.000Z" });
  });

  it("reads all.zip again when more records changed than fetching them one by one is worth", async () => {
    sources.requests.length = 0;
    sources.serve("/osv/Go/modified_id.csv", {
      etag: '"index-2"',
      body: "2025-08-02T00:00:00Z,GO-2025-0005\n2025-08-01T00:00:00Z,GO-2025-0004\n2025-07-03T00:00:00Z,GO-2025-0003\n",
    });
    const zip = new AdmZip();
    zip.addFile("GO-2025-0004.json", Buffer.from(record("GO-2025-0004", "2025-08-01T00:00:00Z")));
    zip.addFile("GO-2025-0005.json", Buffer.from(record("GO-2025-0005", "2025-08-02T00:00:00Z")));
    sources.serve("/osv/Go/all.zip", { body: zip.toBuffer() });
    const [report] = await sync(["osv:Go"], 1);
    expect(report).toMatchObject({ status: "synced", stored: 2 });
    expect(sources.requests.map((r) => r.path)).toEqual(["/osv/Go/modified_id.csv", "/osv/Go/all.zip"]);
    expect(JSON.parse((await state("osv:Go")).cursor ?? "{}")).toMatchObject({
      modified: "2025-08-02T00:00:00.000Z",
    });
  });

  it("fails an ecosystem whose all.zip is not a zip, keeping what it had", async () => {
    const before = await state("osv:crates.io");
    sources.serve("/osv/crates.io/modified_id.csv", { body: "2026-01-01T00:00:00Z,RUSTSEC-2026-0001\n" });
    sources.serve("/osv/crates.io/all.zip", { body: "<Error><Code>NoSuchKey</Code></Error>" });
    const [report] = await sync(["osv:crates.io"], 0);
    expect(report?.status).toBe("failed");
    expect(report?.error).toMatch(/crates\.io\/all\.zip is not a readable zip/);
    expect((await state("osv:crates.io")).cursor).toBe(before.cursor);
  });
});
