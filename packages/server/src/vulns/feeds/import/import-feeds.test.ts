import { copyFile, mkdir, mkdtemp, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import AdmZip from "adm-zip";
import * as tar from "tar";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../../../testing/app.js";
import type { RematchPayload } from "../../knowledge-base/knowledge-base-writer.js";
import { type ImportProgress, importFeedBundle } from "./import-feeds.js";

const TESTDATA = join(import.meta.dirname, "../parsers/testdata");
const FILES: Record<string, string> = {
  "debian/tracker.json": "vunnel/debian/input/debian.json",
  "alpine/v3.15/main.yaml": "vunnel/alpine/input/secdb/v3.15/main.yaml",
  "alpine/v3.15/community.yaml": "vunnel/alpine/input/secdb/v3.15/community.yaml",
  "nvd/page-0.json": "vunnel/nvd/single-entry.json",
  "kev/known_exploited_vulnerabilities.json": "kev-data/known_exploited_vulnerabilities.json",
  "epss/epss_scores.csv": "vunnel/epss/example-1.csv",
  "osv/GO-2023-1989.json": "vunnel/govulndb/vulndb/ID/GO-2023-1989.json",
  "csaf/rhsa-2024_6163.json": "vunnel/rhel/csaf/advisories/2024/rhsa-2024_6163.json",
  "cvrf/rhsa-2012-0465.xml": "csaf/cvrf1.1-examples/CVRF-1.1-rhsa-2012-0465.xml",
};

let t: TestApp;
let work: string;
beforeAll(async () => {
  t = await startTestApp({ backgroundWork: false });
  work = await mkdtemp(join(tmpdir(), "patchpilot-import-test-"));
});
afterAll(async () => {
  await t.close();
  await rm(work, { recursive: true, force: true });
});

async function bundleDir(name: string, extra: Record<string, string | Buffer> = {}): Promise<string> {
  const dir = join(work, name);
  for (const [target, source] of Object.entries(FILES)) {
    await mkdir(join(dir, target, ".."), { recursive: true });
    await copyFile(join(TESTDATA, source), join(dir, target));
  }
  for (const [target, content] of Object.entries(extra)) {
    await mkdir(join(dir, target, ".."), { recursive: true });
    await writeFile(join(dir, target), content);
  }
  return dir;
}

function recordingProgress() {
  const seen = { total: -1, files: [] as string[], ended: false };
  const progress: ImportProgress = {
    start: (total) => {
      seen.total = total;
    },
    file: (name) => {
      seen.files.push(name);
    },
    end: () => {
      seen.ended = true;
    },
  };
  return { seen, progress };
}

const count = async (query: string, params: unknown[] = []) =>
  Number((await t.db.owner.query<{ n: string }>(query, params))[0]?.n);

describe("offline feed import", () => {
  it("imports a directory of every feed format, reporting what it cannot read and changing nothing for it", async () => {
    const nvd = await readFile(join(TESTDATA, FILES["nvd/page-0.json"] ?? ""), "utf8");
    const dir = await bundleDir("mixed", {
      "README.txt": "Feed files for the air-gapped site, exported 2026-11-30.\n",
      // Cut off mid-file, as an interrupted copy leaves it: recognised, refused whole.
      "nvd/page-1.json": nvd.slice(0, Math.floor(nvd.length / 2)),
      "epss/broken.csv": await readFile(join(TESTDATA, "vunnel/epss/invalid-header.csv")),
      // Scores for two CVEs the KEV catalogue brings in (EPSS scores only what the base holds).
      "epss/held.csv":
        "#model_version:v2025.03.14,score_date:2026-11-30T00:00:00+0000\ncve,epss,percentile\n" +
        "CVE-2021-44228,0.94358,0.99990\nCVE-2014-0160,0.94470,0.99995\n",
    });
    const { seen, progress } = recordingProgress();
    const outcome = await importFeedBundle(t.db, dir, { progress });

    expect(seen.total).toBe(13);
    expect(seen.files).toHaveLength(13);
    expect(seen.ended).toBe(true);
    expect(outcome.unrecognised).toEqual(["README.txt"]);
    expect(outcome.failed.map((f) => f.name).sort()).toEqual(["epss/broken.csv", "nvd/page-1.json"]);
    expect(outcome.failed.find((f) => f.name === "nvd/page-1.json")?.reason).toMatch(
      /not a valid NVD.*not JSON/,
    );

    const feeds = Object.fromEntries(outcome.feeds.map((f) => [f.feed, f]));
    expect(Object.keys(feeds).sort()).toEqual(
      ["alpine-secdb", "csaf", "cvrf", "debian-tracker", "epss", "kev", "nvd", "osv"].sort(),
    );
    expect(feeds["alpine-secdb"]?.stored).toBe(16);
    expect(feeds["debian-tracker"]?.stored).toBe(6);
    expect(feeds["debian-tracker"]?.skipped).toBe(1);
    expect(feeds.kev?.kev).toBe(1404);
    expect(feeds.nvd?.stored).toBe(1);
    expect(feeds.epss?.epss).toBe(2);
    const [log4shell] = await t.db.owner.query<{ epss: string; kev_added: Date | null }>(
      "SELECT epss, kev_added FROM vulnerabilities WHERE id = 'CVE-2021-44228'",
    );
    expect([Number(log4shell?.epss), log4shell?.kev_added !== null]).toEqual([0.94358, true]);

    expect(await count("SELECT count(*) AS n FROM advisories WHERE source = 'alpine-secdb'")).toBe(16);
    expect(
      await count("SELECT count(*) AS n FROM advisories WHERE source = 'osv' AND id = 'GO-2023-1989'"),
    ).toBe(1);
    expect(await count("SELECT count(*) AS n FROM vulnerabilities WHERE kev_added IS NOT NULL")).toBe(1404);
    expect(await count("SELECT count(*) AS n FROM affected_ranges WHERE release = 'rhel:9'")).toBeGreaterThan(
      0,
    );
    // Health per feed, one audit row for each feed's run, and the re-match of what changed queued.
    const health = await t.db.owner.query<{ feed: string; records: number; last_error: string | null }>(
      "SELECT feed, records, last_error FROM feed_state ORDER BY feed",
    );
    expect(health.map((h) => h.feed)).toEqual(Object.keys(feeds).sort());
    expect(health.every((h) => h.last_error === null && h.records > 0)).toBe(true);
    expect(await count("SELECT count(*) AS n FROM audit_events WHERE action = 'feeds.imported'")).toBe(8);
    expect(
      await count("SELECT count(*) AS n FROM jobs WHERE kind = 'vulns.rematch' AND state = 'queued'"),
    ).toBeGreaterThan(0);
    // Each advisory feed's job names the packages and the vulnerabilities its advisories changed.
    const jobs = await t.db.owner.query<{ payload: RematchPayload }>(
      "SELECT payload FROM jobs WHERE kind = 'vulns.rematch' AND state = 'queued' ORDER BY id",
    );
    const debian = jobs.find((j) => j.payload.keys?.some((k) => k.release.startsWith("debian:")));
    expect(debian?.payload.advisoryVulnerabilities?.length).toBeGreaterThan(0);
    expect(debian?.payload.advisoryVulnerabilities?.every((v) => /^(CVE|TEMP)-/.test(v))).toBe(true);
  });

  it("finds nothing to change when the same files come again", async () => {
    const before = await count("SELECT count(*) AS n FROM affected_ranges");
    const outcome = await importFeedBundle(t.db, join(work, "mixed"));
    const advisoryFeeds = outcome.feeds.filter((f) => !["kev", "epss"].includes(f.feed));
    expect(advisoryFeeds.every((f) => f.stored === 0 && f.unchanged > 0)).toBe(true);
    expect(await count("SELECT count(*) AS n FROM affected_ranges")).toBe(before);
  });

  it("reads zip and tar.gz bundles, gzip-compressed files inside them, and refuses links", async () => {
    const zip = new AdmZip();
    const osv = JSON.parse(await readFile(join(TESTDATA, FILES["osv/GO-2023-1989.json"] ?? ""), "utf8"));
    zip.addFile(
      "osv/GO-2026-0001.json",
      Buffer.from(JSON.stringify({ ...osv, id: "GO-2026-0001", aliases: ["CVE-2026-40001"] })),
    );
    zip.addFile(
      "epss/epss_scores-current.csv.gz",
      gzipSync(await readFile(join(TESTDATA, FILES["epss/epss_scores.csv"] ?? ""))),
    );
    await writeFile(join(work, "bundle.zip"), zip.toBuffer());
    const fromZip = await importFeedBundle(t.db, join(work, "bundle.zip"));
    expect(fromZip.failed).toEqual([]);
    expect(fromZip.feeds.map((f) => f.feed).sort()).toEqual(["epss", "osv"]);
    expect(await count("SELECT count(*) AS n FROM advisories WHERE id = 'GO-2026-0001'")).toBe(1);

    const tree = join(work, "tree");
    await mkdir(join(tree, "secdb"), { recursive: true });
    const main = await readFile(join(TESTDATA, FILES["alpine/v3.15/main.yaml"] ?? ""), "utf8");
    await writeFile(join(tree, "secdb/main.yaml"), main.replaceAll("CVE-2021-", "CVE-2031-"));
    await import("node:fs/promises").then((fs) => fs.symlink("/etc/passwd", join(tree, "secdb/passwd")));
    await tar.c({ gzip: true, file: join(work, "bundle.tar.gz"), cwd: tree }, ["secdb"]);
    const fromTar = await importFeedBundle(t.db, join(work, "bundle.tar.gz"));
    expect(fromTar.failed).toEqual([
      { name: "secdb/passwd", reason: "SymbolicLink entries are not imported" },
    ]);
    expect(fromTar.feeds[0]?.feed).toBe("alpine-secdb");
    expect(fromTar.feeds[0]?.stored).toBeGreaterThan(0);
    const renamed = new Set(main.match(/CVE-2021-\d+/g));
    expect(renamed.size).toBeGreaterThan(0);
    expect(await count("SELECT count(*) AS n FROM vulnerabilities WHERE id LIKE 'CVE-2031-%'")).toBe(
      renamed.size,
    );
  });

  it("refuses a file too large to be a feed without reading it, and a wrongly encoded record is still read", async () => {
    const dir = join(work, "odd");
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "huge.json"), "");
    await truncate(join(dir, "huge.json"), 300 * 1024 * 1024);
    const osv = await readFile(join(TESTDATA, FILES["osv/GO-2023-1989.json"] ?? ""), "utf8");
    // A Latin-1 é where UTF-8 was promised.
    const latin1 = Buffer.concat([
      Buffer.from(
        osv
          .replace('"GO-2023-1989"', '"GO-2026-0002"')
          .replace(/"aliases":\[[^\]]*\]/, '"aliases":[]')
          .replace('"summary":"', '"summary":"caf'),
      ),
    ]);
    const at = latin1.indexOf("caf") + 3;
    await writeFile(
      join(dir, "GO-2026-0002.json"),
      Buffer.concat([latin1.subarray(0, at), Buffer.from([0xe9]), latin1.subarray(at)]),
    );
    const outcome = await importFeedBundle(t.db, dir);
    expect(outcome.failed).toEqual([{ name: "huge.json", reason: "larger than 268435456 bytes" }]);
    const [row] = await t.db.owner.query<{ summary: string }>(
      "SELECT summary FROM vulnerabilities v JOIN advisories a ON v.id = ANY(a.vulnerability_ids) WHERE a.id = 'GO-2026-0002'",
    );
    expect(row?.summary).toMatch(/^caf\ufffd/);
  });

  it("says so when a path holds no feed at all", async () => {
    await writeFile(join(work, "notes.txt"), "nothing here");
    const outcome = await importFeedBundle(t.db, join(work, "notes.txt"));
    expect(outcome).toEqual({ feeds: [], unrecognised: ["notes.txt"], failed: [] });
    await expect(importFeedBundle(t.db, join(work, "missing"))).rejects.toThrow(/ENOENT/);
  });
});
