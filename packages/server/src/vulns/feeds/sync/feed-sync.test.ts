import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { loadConfig } from "../../../config/config.js";
import { createTestDatabase, type TestDatabase } from "../../../testing/database.js";
import { FeedSources, testdataFile } from "../../../testing/feed-sources.js";
import { FEED_SYNC_JOB, feedSyncJobHandler, type SyncFeedsOptions, syncFeeds } from "./feed-sync.js";

// Every source is a local stand-in serving real files in the sources' formats: no test touches
// the network.
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

const settings = () =>
  loadConfig({
    PATCHPILOT_DATA_DIR: "/nonexistent",
    PATCHPILOT_FEED_URL_KEV: sources.url("/kev/known_exploited_vulnerabilities.json"),
    PATCHPILOT_FEED_URL_EPSS: sources.url("/epss/epss_scores-current.csv.gz"),
    PATCHPILOT_FEED_URL_DEBIAN: sources.url("/debian/tracker/data/json"),
    PATCHPILOT_FEED_URL_ALPINE: sources.url("/alpine"),
    PATCHPILOT_FEED_URL_MSRC: sources.url("/msrc"),
    PATCHPILOT_ALPINE_RELEASES: "v3.15",
  });
const sync = (only: string[], options: SyncFeedsOptions = {}) =>
  syncFeeds(testDb.db, settings(), { only, tuning: { backoffMs: 5, attempts: 2 }, ...options });

async function feedState(feed: string) {
  return testDb.db.systemReader
    .selectFrom("feed_state")
    .select(["last_success_at", "last_error", "records", "skipped", "cursor"])
    .where("feed", "=", feed)
    .executeTakeFirstOrThrow();
}
async function count(sql: string): Promise<number> {
  const rows = await testDb.db.owner.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`);
  return rows[0]?.n ?? -1;
}

const KEV_JSON = testdataFile("kev-data/known_exploited_vulnerabilities.json");
const KEV_ENTRIES = (JSON.parse(KEV_JSON.toString()) as { vulnerabilities: { cveID: string }[] })
  .vulnerabilities;

describe("CISA KEV", () => {
  it("stores the catalogue, then asks conditionally and counts a 304 as a successful run with nothing changed", async () => {
    sources.serve("/kev/known_exploited_vulnerabilities.json", {
      body: KEV_JSON,
      etag: '"kev-1"',
      gzip: true,
    });
    const [first] = await sync(["kev"]);
    expect(first).toMatchObject({
      feed: "kev",
      status: "synced",
      scores: KEV_ENTRIES.length,
      skipped: 0,
      error: null,
    });
    const marked = await count("vulnerabilities WHERE kev_added IS NOT NULL");
    expect(marked).toBe(new Set(KEV_ENTRIES.map((v) => v.cveID)).size);
    const before = await feedState("kev");
    expect(JSON.parse(before.cursor ?? "{}")).toMatchObject({ etag: '"kev-1"' });

    const [second] = await sync(["kev"]);
    expect(second).toMatchObject({ feed: "kev", status: "unchanged", scores: 0 });
    const requests = sources.requestsFor("/kev/known_exploited_vulnerabilities.json");
    expect(requests.at(-1)?.headers["if-none-match"]).toBe('"kev-1"');
    expect(requests.at(-1)?.status).toBe(304);
    const after = await feedState("kev");
    expect(after.last_success_at?.getTime()).toBeGreaterThan(
      before.last_success_at?.getTime() ?? Number.POSITIVE_INFINITY,
    );
    expect(after.cursor).toBe(before.cursor);
    expect(await count("vulnerabilities WHERE kev_added IS NOT NULL")).toBe(marked);
  });

  it("skips and counts a malformed entry, and stores the rest", async () => {
    const catalogue = JSON.parse(KEV_JSON.toString()) as { vulnerabilities: unknown[] };
    catalogue.vulnerabilities.push({
      cveID: "not-a-cve",
      vendorProject: "x",
      product: "y",
      dateAdded: "2025-01-01",
    });
    sources.serve("/kev/known_exploited_vulnerabilities.json", {
      body: JSON.stringify(catalogue),
      etag: '"kev-2"',
    });
    const [report] = await sync(["kev"]);
    expect(report).toMatchObject({ status: "synced", skipped: 1, scores: KEV_ENTRIES.length });
    expect(await feedState("kev")).toMatchObject({ skipped: 1, last_error: null });
  });

  it("fails only its own source on a file it cannot read, keeping the catalogue already stored", async () => {
    const marked = await count("vulnerabilities WHERE kev_added IS NOT NULL");
    const success = (await feedState("kev")).last_success_at;
    sources.serve("/kev/known_exploited_vulnerabilities.json", {
      body: "<html>maintenance</html>",
      etag: '"kev-3"',
    });
    sources.serve("/debian/tracker/data/json", {
      body: testdataFile("vunnel/debian/input/debian.json"),
      etag: '"deb-1"',
    });
    const reports = await sync(["kev", "debian"]);
    expect(reports.map((r) => [r.feed, r.status])).toEqual([
      ["debian-tracker", "synced"],
      ["kev", "failed"],
    ]);
    expect(reports[1]?.error).toMatch(/not a valid CISA KEV JSON catalogue: the text is not JSON/);
    const state = await feedState("kev");
    expect(state.last_error).toMatch(/not a valid CISA KEV JSON catalogue/);
    expect(state.last_success_at).toEqual(success);
    expect(await count("vulnerabilities WHERE kev_added IS NOT NULL")).toBe(marked);
  });

  it("refuses a catalogue with no entries rather than clearing every mark", async () => {
    sources.serve("/kev/known_exploited_vulnerabilities.json", {
      body: '{"vulnerabilities":[]}',
      etag: '"kev-4"',
    });
    const [report] = await sync(["kev"]);
    expect(report?.status).toBe("failed");
    expect(await count("vulnerabilities WHERE kev_added IS NOT NULL")).toBeGreaterThan(1000);
  });
});

describe("FIRST EPSS", () => {
  const scored = KEV_ENTRIES.slice(0, 3).map((v) => v.cveID);
  const csv = (date: string) =>
    gzipSync(
      `#model_version:v2025.03.14,score_date:${date}T00:00:00+0000\ncve,epss,percentile\n` +
        `${scored.map((id, i) => `${id},0.${i + 1}0000,0.9${i}000`).join("\n")}\nCVE-2025-nope,0.1,0.1\n`,
    );

  it("stores the day's scores from the gzip file, and skips the file again when its score date is unchanged", async () => {
    sources.serve("/epss/epss_scores-current.csv.gz", { body: csv("2025-03-01"), etag: '"epss-1"' });
    const [first] = await sync(["epss"]);
    expect(first).toMatchObject({ status: "synced", scores: 3, skipped: 1 });
    const rows = await testDb.db.owner.query<{ id: string; epss: string; epss_date: Date }>(
      "SELECT id, epss, epss_date FROM vulnerabilities WHERE id = ANY($1) ORDER BY epss",
      [scored],
    );
    expect(rows.map((r) => Number(r.epss))).toEqual([0.1, 0.2, 0.3]);
    expect(JSON.parse((await feedState("epss")).cursor ?? "{}")).toMatchObject({
      date: "2025-03-01",
      etag: '"epss-1"',
    });

    // Re-published with a new ETag but the same scores: nothing is stored.
    sources.serve("/epss/epss_scores-current.csv.gz", { body: csv("2025-03-01"), etag: '"epss-2"' });
    expect((await sync(["epss"]))[0]).toMatchObject({ status: "unchanged", scores: 0 });
    expect(sources.requestsFor("/epss/epss_scores-current.csv.gz").at(-1)?.headers["if-none-match"]).toBe(
      '"epss-1"',
    );
    // And unchanged at the source: a 304.
    expect((await sync(["epss"]))[0]).toMatchObject({ status: "unchanged" });
    expect(sources.requestsFor("/epss/epss_scores-current.csv.gz").at(-1)?.status).toBe(304);

    sources.serve("/epss/epss_scores-current.csv.gz", { body: csv("2025-03-02"), etag: '"epss-3"' });
    expect((await sync(["epss"]))[0]).toMatchObject({ status: "synced" });
    expect(JSON.parse((await feedState("epss")).cursor ?? "{}")).toMatchObject({ date: "2025-03-02" });
  });

  it("fails on a gzip stream that breaks off, and keeps the scores it had", async () => {
    sources.serve("/epss/epss_scores-current.csv.gz", {
      body: csv("2025-03-03").subarray(0, 40),
      etag: '"epss-4"',
    });
    const [report] = await sync(["epss"]);
    expect(report).toMatchObject({ status: "failed" });
    expect(report?.error).toMatch(/is not a whole gzip stream/);
    expect(JSON.parse((await feedState("epss")).cursor ?? "{}")).toMatchObject({ date: "2025-03-02" });
    expect(await count("vulnerabilities WHERE epss IS NOT NULL")).toBe(3);
  });
});

describe("Debian security tracker", () => {
  it("stores the tracker's advisories and asks conditionally the next time", async () => {
    sources.serve("/debian/tracker/data/json", {
      body: testdataFile("vunnel/debian/input/debian.json"),
      etag: '"deb-9"',
      gzip: true,
    });
    const [first] = await sync(["debian"]);
    expect(first?.status).toBe("synced");
    const stored = await count("advisories WHERE source = 'debian-tracker'");
    expect(stored).toBeGreaterThanOrEqual(5);
    expect(await count("affected_ranges WHERE source = 'debian-tracker'")).toBeGreaterThan(stored);
    expect((await sync(["debian"]))[0]?.status).toBe("unchanged");
    expect(sources.requestsFor("/debian/tracker/data/json").at(-1)?.status).toBe(304);
    expect(await count("advisories WHERE source = 'debian-tracker'")).toBe(stored);
  });
});

describe("Alpine secdb", () => {
  // secdb publishes JSON beside the YAML; the JSON is the same document.
  const secdb = (repo: string) =>
    JSON.stringify(YAML.parse(testdataFile(`vunnel/alpine/input/secdb/v3.15/${repo}.yaml`).toString()));

  it("reads every release's files together, and all of them again when any changed", async () => {
    sources.serve("/alpine/v3.15/main.json", { body: secdb("main"), etag: '"main-1"' });
    sources.serve("/alpine/v3.15/community.json", { body: secdb("community"), etag: '"community-1"' });
    const [first] = await sync(["alpine"]);
    expect(first).toMatchObject({ feed: "alpine-secdb", status: "synced" });
    const stored = await count("advisories WHERE source = 'alpine-secdb'");
    expect(stored).toBeGreaterThanOrEqual(10);
    const releases = await testDb.db.owner.query<{ release: string }>(
      "SELECT DISTINCT release FROM affected_ranges WHERE source = 'alpine-secdb'",
    );
    expect(releases.map((r) => r.release)).toEqual(["alpine:3.15"]);

    expect((await sync(["alpine"]))[0]?.status).toBe("unchanged");

    sources.serve("/alpine/v3.15/community.json", { body: secdb("community"), etag: '"community-2"' });
    expect((await sync(["alpine"]))[0]?.status).toBe("synced");
    // main.json answered 304, then was fetched whole so the set could be parsed as one.
    expect(sources.requestsFor("/alpine/v3.15/main.json").map((r) => r.status)).toEqual([200, 304, 304, 200]);
    expect(await count("advisories WHERE source = 'alpine-secdb'")).toBe(stored);
  });
});

describe("Microsoft Security Update Guide (CVRF)", () => {
  const updates = (list: { ID: string; CurrentReleaseDate: string }[]) => ({
    body: JSON.stringify({
      "@odata.context": "https://api.msrc.microsoft.com/cvrf/v3.0/$metadata#updates",
      value: list.map((u) => ({ ...u, Alias: u.ID, CvrfUrl: `https://elsewhere.example/cvrf/${u.ID}` })),
    }),
  });
  const jan = { ID: "2024-Jan", CurrentReleaseDate: "2024-01-09T08:00:00Z" };
  const feb = { ID: "2024-Feb", CurrentReleaseDate: "2024-02-13T08:00:00Z" };
  const mar = { ID: "2024-Mar", CurrentReleaseDate: "2024-03-12T07:00:00Z" };

  it("fetches the documents released since the cursor, as XML, from the configured base", async () => {
    sources.serve("/msrc/updates", updates([feb, jan]));
    sources.serve("/msrc/cvrf/2024-Jan", { body: testdataFile("patchpilot/msrc-windows-kb-cvrf.xml") });
    sources.serve("/msrc/cvrf/2024-Feb", {
      body: testdataFile("csaf/cvrf1.1-examples/CVRF-1.1-rhsa-2012-0465.xml"),
    });
    const [first] = await sync(["msrc"]);
    expect(first).toMatchObject({ feed: "msrc", status: "synced", stored: 2 });
    expect(sources.requestsFor("/msrc/cvrf/2024-Jan")[0]?.headers.accept).toBe("application/xml");
    const ids = await testDb.db.owner.query<{ id: string }>(
      "SELECT id FROM advisories WHERE source = 'cvrf' ORDER BY id",
    );
    expect(ids.map((r) => r.id)).toEqual(["2024-Jan/CVE-2099-10001", "RHSA-2012:0465/CVE-2012-1182"]);
    expect((await feedState("msrc")).cursor).toBe("2024-02-13T08:00:00.000Z");

    expect((await sync(["msrc"]))[0]?.status).toBe("unchanged");
    expect(sources.requestsFor("/msrc/cvrf/2024-Jan")).toHaveLength(1);
  });

  it("fails on a document that is not CVRF, keeping the cursor of the last good one", async () => {
    sources.serve("/msrc/updates", updates([mar, feb, jan]));
    sources.serve("/msrc/cvrf/2024-Mar", { body: "{}" });
    const [report] = await sync(["msrc"]);
    expect(report?.status).toBe("failed");
    expect(report?.error).toMatch(/not a valid CVRF XML document/);
    expect(sources.requestsFor("/msrc/cvrf/2024-Feb")).toHaveLength(1);
    const state = await feedState("msrc");
    expect(state.cursor).toBe("2024-02-13T08:00:00.000Z");
    expect(await count("advisories WHERE source = 'cvrf'")).toBe(2);
  });

  it("fails when the list itself cannot be had, and goes on with the next source", async () => {
    sources.serve("/msrc/updates", { status: 500, body: "internal error" });
    const reports = await sync(["msrc", "debian"]);
    expect(reports.map((r) => [r.feed, r.status])).toEqual([
      ["debian-tracker", "unchanged"],
      ["msrc", "failed"],
    ]);
    expect(reports[1]?.error).toMatch(/\/msrc\/updates answered 500/);
  });
});

describe("the coordinator", () => {
  it("names unknown sources instead of syncing nothing", async () => {
    await expect(sync(["kev", "nope"])).rejects.toThrow(/unknown feed "nope"/);
  });

  it("gives the job runner a handler that syncs what the payload names", async () => {
    expect(FEED_SYNC_JOB).toBe("vulns.feed_sync");
    const lines: string[] = [];
    const config = settings();
    const handler = feedSyncJobHandler(testDb.db, config, (m) => lines.push(m));
    const before = sources.requests.length;
    await handler({ only: ["debian"] }, { jobId: 1, attempt: 1 });
    expect(sources.requests.slice(before).map((r) => r.path)).toEqual(["/debian/tracker/data/json"]);
    expect(lines).toEqual(["debian-tracker: not modified since the last sync"]);

    sources.serve("/debian/tracker/data/json", { body: "[]", etag: '"deb-broken"' });
    await handler({ only: ["debian"] }, { jobId: 2, attempt: 1 });
    expect(lines.at(-1)).toMatch(
      /^feed sync: debian-tracker failed: not a valid Debian security tracker JSON/,
    );
  });
});
