import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../../config/config.js";
import { createTestDatabase, type TestDatabase } from "../../../testing/database.js";
import { type Answer, FeedSources, type SourceRequest, testdataFile } from "../../../testing/feed-sources.js";
import { type SyncFeedsOptions, syncFeeds } from "./feed-sync.js";

const NVD_PATH = "/nvd/rest/json/cves/2.0";
const API_KEY = "5f1c2b7a-3d4e-4f60-8a9b-0c1d2e3f4a5b";
const DAY = 24 * 3600 * 1000;
const T1 = Date.parse("2026-01-10T00:00:00.000Z");

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

const template = (
  JSON.parse(testdataFile("vunnel/nvd/single-entry.json").toString()) as { vulnerabilities: unknown[] }
).vulnerabilities[0];
/** CVE-2026-1000n in NVD's record format, cloned from a real record. */
function cves(count: number, from = 0): unknown[] {
  return Array.from({ length: count }, (_, i) => {
    const record = structuredClone(template) as { cve: { id: string; lastModified: string } };
    record.cve.id = `CVE-2026-${10000 + from + i}`;
    record.cve.lastModified = "2026-01-05T10:00:00.000";
    return record;
  });
}

/** NVD's paging, two CVEs a page whatever is asked (NVD too may send fewer than resultsPerPage). */
function pages(records: unknown[]): (request: SourceRequest) => Answer {
  return (request) => {
    const start = Number(request.query.get("startIndex") ?? "0");
    const slice = records.slice(start, start + 2);
    return {
      body: JSON.stringify({
        resultsPerPage: slice.length,
        startIndex: start,
        totalResults: records.length,
        format: "NVD_CVE",
        version: "2.0",
        timestamp: "2026-01-10T00:00:00.000",
        vulnerabilities: slice,
      }),
    };
  };
}

function sync(options: { key?: boolean; now: number; windowMs?: number; log?: string[] }) {
  const settings = loadConfig({
    PATCHPILOT_DATA_DIR: "/nonexistent",
    PATCHPILOT_FEED_URL_NVD: sources.url(NVD_PATH),
    ...(options.key ? { PATCHPILOT_NVD_API_KEY: API_KEY } : {}),
  });
  const tuning: SyncFeedsOptions["tuning"] = {
    backoffMs: 5,
    attempts: 3,
    nvdWindowMs: options.windowMs ?? 5000,
    now: () => new Date(options.now),
  };
  return syncFeeds(testDb.db, settings, { only: ["nvd"], tuning, log: (m) => options.log?.push(m) });
}

const nvdRequests = () => sources.requestsFor(NVD_PATH);
const windowOf = (r: SourceRequest | undefined) => [
  Date.parse(r?.query.get("lastModStartDate") ?? ""),
  Date.parse(r?.query.get("lastModEndDate") ?? ""),
];
async function nvdState() {
  return testDb.db.systemReader
    .selectFrom("feed_state")
    .select(["cursor", "last_error", "last_success_at"])
    .where("feed", "=", "nvd")
    .executeTakeFirstOrThrow();
}
async function storedCves(): Promise<string[]> {
  const rows = await testDb.db.owner.query<{ id: string }>(
    "SELECT id FROM advisories WHERE source = 'nvd' ORDER BY id",
  );
  return rows.map((r) => r.id);
}

describe("NVD CVE API 2.0", () => {
  it("pages through every CVE on the first run, five requests per window without an API key", async () => {
    sources.serve(NVD_PATH, pages(cves(14)));
    const [report] = await sync({ now: T1, windowMs: 1000 });
    expect(report).toMatchObject({ feed: "nvd", status: "synced", stored: 14, error: null });
    const requests = nvdRequests();
    expect(requests.map((r) => r.query.get("startIndex"))).toEqual(["0", "2", "4", "6", "8", "10", "12"]);
    expect(
      requests.every((r) => r.query.get("resultsPerPage") === "2000" && !r.query.has("lastModStartDate")),
    ).toBe(true);
    expect(requests.every((r) => r.headers.apikey === undefined)).toBe(true);
    // The sixth and seventh requests waited for the first and second to leave the rolling window
    // (measured on arrival, so less the first request's connection set-up, which a busy machine
    // slows; unlimited, all seven take a few ms).
    expect((requests[4]?.at ?? 0) - (requests[0]?.at ?? 0)).toBeLessThan(600);
    expect((requests[5]?.at ?? 0) - (requests[0]?.at ?? 0)).toBeGreaterThanOrEqual(800);
    expect((requests[6]?.at ?? 0) - (requests[1]?.at ?? 0)).toBeGreaterThanOrEqual(800);
    expect(await storedCves()).toHaveLength(14);
    expect((await nvdState()).cursor).toBe(new Date(T1).toISOString());
  });

  it("later asks only for what was modified since the cursor, sending the API key as a header", async () => {
    sources.requests.length = 0;
    sources.serve(NVD_PATH, pages(cves(14, 100)));
    const log: string[] = [];
    const started = Date.now();
    const [report] = await sync({ key: true, now: T1 + 2 * DAY, windowMs: 5000, log });
    expect(report).toMatchObject({ status: "synced", stored: 14 });
    const requests = nvdRequests();
    expect(requests).toHaveLength(7);
    // Fifty requests per window with a key: seven pages do not wait for the window.
    expect(Date.now() - started).toBeLessThan(4000);
    expect(windowOf(requests[0])).toEqual([T1, T1 + 2 * DAY]);
    expect(requests[0]?.query.get("lastModStartDate")).toBe("2026-01-10T00:00:00.000+00:00");
    expect(requests.every((r) => r.headers.apikey === API_KEY)).toBe(true);
    expect(requests.every((r) => !sources.url(r.path + r.query).includes(API_KEY))).toBe(true);
    expect(log.some((line) => line.includes(API_KEY))).toBe(false);
    expect(await storedCves()).toHaveLength(28);
    expect((await nvdState()).cursor).toBe(new Date(T1 + 2 * DAY).toISOString());
  });

  it("catches up an old cursor in consecutive windows of at most 120 days", async () => {
    sources.requests.length = 0;
    sources.serve(NVD_PATH, pages([]));
    const from = T1 + 2 * DAY;
    const [report] = await sync({ now: from + 300 * DAY });
    expect(report).toMatchObject({ status: "unchanged", stored: 0 });
    expect(nvdRequests().map(windowOf)).toEqual([
      [from, from + 120 * DAY],
      [from + 120 * DAY, from + 240 * DAY],
      [from + 240 * DAY, from + 300 * DAY],
    ]);
    expect((await nvdState()).cursor).toBe(new Date(from + 300 * DAY).toISOString());
  });

  it("keeps the windows it finished when a later one fails, and never shows the API key", async () => {
    sources.requests.length = 0;
    const from = T1 + 302 * DAY;
    const now = from + 200 * DAY;
    // The second window fails with a reason phrase that echoes the key, as a careless proxy might.
    sources.serve(NVD_PATH, (request) =>
      windowOf(request)[0] === from
        ? pages(cves(3, 200))(request)
        : { status: 500, statusText: `bad request from ${API_KEY}` },
    );
    const log: string[] = [];
    const [report] = await sync({ key: true, now, log });
    expect(report?.status).toBe("failed");
    expect(report?.error).toContain("[redacted]");
    expect(report?.error).not.toContain(API_KEY);
    const state = await nvdState();
    expect(state.cursor).toBe(new Date(from + 120 * DAY).toISOString());
    expect(state.last_error).toMatch(/answered 500/);
    expect(state.last_error).not.toContain(API_KEY);
    expect(log.join("\n")).not.toContain(API_KEY);
    expect(log.join("\n")).toContain("nvd: failed");
    expect(await storedCves()).toHaveLength(31);

    // The next run starts at the window that failed, backing off when NVD says "slow down".
    sources.requests.length = 0;
    let calls = 0;
    sources.serve(NVD_PATH, (request) => {
      calls++;
      if (calls === 1) return { status: 403 };
      if (calls === 2) return { status: 429, headers: { "retry-after": "0" } };
      return pages([])(request);
    });
    const [retried] = await sync({ now });
    expect(retried).toMatchObject({ status: "unchanged", error: null });
    expect(nvdRequests().map((r) => r.status)).toEqual([403, 429, 200]);
    expect(windowOf(nvdRequests()[0])).toEqual([from + 120 * DAY, now]);
    expect(await nvdState()).toMatchObject({ cursor: new Date(now).toISOString(), last_error: null });
  });

  it("does not store a run whose pages stop short of the total", async () => {
    sources.requests.length = 0;
    const before = (await nvdState()).cursor;
    sources.serve(NVD_PATH, (request) => ({
      body: JSON.stringify({
        resultsPerPage: 0,
        startIndex: Number(request.query.get("startIndex")),
        totalResults: 5,
        vulnerabilities: [],
      }),
    }));
    const [report] = await sync({ now: T1 + 600 * DAY });
    expect(report?.status).toBe("failed");
    expect(report?.error).toMatch(/an empty page at index 0 of 5/);
    expect((await nvdState()).cursor).toBe(before);
  });
});
