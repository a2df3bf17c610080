import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../testing/cli.js";
import { createTestDatabase, type TestDatabase } from "../testing/database.js";

const TESTDATA = path.join(import.meta.dirname, "../vulns/feeds/parsers/testdata");
let dataDir: string;
let env: Record<string, string>;
let pgDb: TestDatabase | null = null;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), "pp-feeds-cli-"));
  env = { PATCHPILOT_DATA_DIR: dataDir };
  if (process.env.DATABASE_URL) {
    pgDb = await createTestDatabase();
    env.DATABASE_URL = pgDb.url ?? "";
  }
});
afterAll(async () => {
  await pgDb?.drop();
  await rm(dataDir, { recursive: true, force: true });
});

describe("patchpilot feeds", { timeout: 300_000 }, () => {
  it("imports an offline bundle, reports what it skipped, and shows each feed's health", async () => {
    const before = await runCli(["feeds", "status"], env);
    expect(before.code).toBe(1);
    expect(before.stdout).toMatch(/no feed has been imported or synced yet/);

    const bundle = path.join(dataDir, "bundle");
    await mkdir(path.join(bundle, "v3.15"), { recursive: true });
    for (const file of ["main.yaml", "community.yaml"]) {
      await copyFile(
        path.join(TESTDATA, "vunnel/alpine/input/secdb/v3.15", file),
        path.join(bundle, "v3.15", file),
      );
    }
    await copyFile(path.join(TESTDATA, "vunnel/debian/input/debian.json"), path.join(bundle, "debian.json"));
    await writeFile(path.join(bundle, "NOTES.md"), "exported for the lab\n");
    const imported = await runCli(["feeds", "import", bundle], env);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toMatch(/^alpine-secdb: 16 stored, 0 unchanged, 0 withdrawn, 0 skipped$/m);
    expect(imported.stdout).toMatch(/^debian-tracker: 6 stored, 0 unchanged, 0 withdrawn, 1 skipped$/m);
    expect(imported.stdout).toMatch(
      /^ {2}skipped CVE-2022-0358 chromium-browser: .*no release with usable data$/m,
    );
    expect(imported.stdout).toMatch(/^not a feed format: NOTES\.md$/m);

    const status = await runCli(["feeds", "status", "--json"], env);
    expect(status.code, status.stdout).toBe(0);
    const feeds = JSON.parse(status.stdout) as {
      feed: string;
      records: number;
      skipped: number;
      stale: boolean;
    }[];
    expect(feeds.map((f) => [f.feed, f.records, f.skipped, f.stale])).toEqual([
      ["alpine-secdb", 16, 0, false],
      ["debian-tracker", 6, 1, false],
    ]);
  });

  it("fails with a clear message when nothing in the path is a feed", async () => {
    const notes = path.join(dataDir, "notes.txt");
    await writeFile(notes, "not a feed");
    const result = await runCli(["feeds", "import", notes], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no feed file could be imported from .*notes\.txt/);
    const missing = await runCli(["feeds", "import", path.join(dataDir, "nowhere")], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/ENOENT|no such file/);
  });
});
