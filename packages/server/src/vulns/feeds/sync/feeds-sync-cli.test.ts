import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../../testing/cli.js";
import { createTestDatabase, type TestDatabase } from "../../../testing/database.js";
import { FeedSources, testdataFile } from "../../../testing/feed-sources.js";

// `patchpilot feeds sync` in its own process, on the test's own database (a scratch PostgreSQL
// database with DATABASE_URL, otherwise an embedded one in a temporary data directory).
const API_KEY = "0b9c8d7e-6f5a-4b3c-9d2e-1f0a9b8c7d6e";
let dataDir: string;
let env: Record<string, string>;
let pgDb: TestDatabase | null = null;
let sources: FeedSources;

beforeAll(async () => {
  sources = await FeedSources.start();
  dataDir = await mkdtemp(path.join(tmpdir(), "pp-feeds-sync-"));
  env = {
    PATCHPILOT_DATA_DIR: dataDir,
    PATCHPILOT_NVD_API_KEY: API_KEY,
    PATCHPILOT_FEED_URL_KEV: sources.url("/kev.json"),
    PATCHPILOT_FEED_URL_DEBIAN: sources.url("/debian.json"),
  };
  if (process.env.DATABASE_URL) {
    pgDb = await createTestDatabase();
    env.DATABASE_URL = pgDb.url ?? "";
  }
});
afterAll(async () => {
  await sources.close();
  await pgDb?.drop();
  await rm(dataDir, { recursive: true, force: true });
});

describe("patchpilot feeds sync", { timeout: 300_000 }, () => {
  it("prints a line per feed and exits 1 when a source failed", async () => {
    sources.serve("/kev.json", {
      body: testdataFile("kev-data/known_exploited_vulnerabilities.json"),
      etag: '"k1"',
    });
    sources.serve("/debian.json", { body: "not json" });
    const first = await runCli(["feeds", "sync", "--only", "kev,debian"], env);
    expect(first.code, first.stderr).toBe(1);
    expect(first.stdout).toMatch(
      /^debian-tracker: FAILED after [\d.]+ s: not a valid Debian security tracker JSON/m,
    );
    expect(first.stdout).toMatch(
      /^kev: 0 stored, 0 unchanged, 0 withdrawn, 1404 scores, 0 skipped \([\d.]+ s\)$/m,
    );
    expect(first.stdout + first.stderr).not.toContain(API_KEY);

    const second = await runCli(["feeds", "sync", "--only", "kev"], env);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/^kev: unchanged \([\d.]+ s\)$/m);

    const status = await runCli(["feeds", "status"], env);
    expect(status.stdout).toMatch(/^FAILING debian-tracker/m);
    expect(status.stdout).toMatch(/^ok {6}kev/m);
  });

  it("refuses a source it does not know", async () => {
    const result = await runCli(["feeds", "sync", "--only", "kev,nvdd"], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/unknown feed "nvdd": use kev, epss, nvd, osv, debian, alpine, msrc/);
  });
});
