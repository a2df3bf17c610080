/**
 * One database's run of the vulnerabilities suite: feed ingest (cold load, daily delta, store
 * size), fleet-wide matching (full and incremental re-match) and "devices affected by CVE-X".
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { loadConfig } from "../../config/config.js";
import type { Database } from "../../db/database.js";
import { SESSION_COOKIE } from "../../identity/sessions.js";
import { startServer } from "../../server.js";
import { importFeedBundle } from "../../vulns/feeds/import/import-feeds.js";
import type { RematchPayload } from "../../vulns/knowledge-base/knowledge-base-writer.js";
import { AdvisoryIndex } from "../../vulns/matching/advisory-index.js";
import { rematch } from "../../vulns/matching/rematch.js";
import { runRematchJob } from "../../vulns/matching/rematch-job.js";
import type { ScratchDatabase } from "../common/scratch-database.js";
import { seedOrganization } from "../foundation/seed.js";
import type { BenchContext } from "../suite.js";
import { cveId, writeCorpus, writeDelta } from "./corpus.js";
import { seedAffectedFleet, seedSoftware } from "./seed.js";

export type DatabaseKind = "PostgreSQL" | "PGlite";

export interface Scale {
  osv: number;
  nvd: number;
  deltaOsv: number;
  deltaNvd: number;
  incremental: number;
  tuples: number;
  devices: number;
}

export const FULL_SCALE: Scale = {
  osv: 520_000,
  nvd: 300_000,
  deltaOsv: 1_000,
  deltaNvd: 1_000,
  incremental: 1_000,
  tuples: 100_000,
  devices: 100_000,
};

export function scaled(scale: Scale, factor: number): Scale {
  const s = (n: number) => Math.max(1, Math.round(n * factor));
  return {
    osv: s(scale.osv),
    nvd: s(scale.nvd),
    deltaOsv: s(scale.deltaOsv),
    deltaNvd: s(scale.deltaNvd),
    incremental: s(scale.incremental),
    tuples: s(scale.tuples),
    devices: s(scale.devices),
  };
}

export interface VulnsRun {
  database: DatabaseKind;
  scale: Scale;
  loadAverage: number;
  corpusBytes: number;
  cold: {
    seconds: number;
    records: number;
    skipped: number;
    ranges: number;
    cpeMatches: number;
    vulnerabilities: number;
  };
  delta: { seconds: number; records: number };
  storeBytes: number;
  indexLoadSeconds: number;
  full: { seconds: number; tuples: number; ranges: number; matched: number; matchSeconds: number };
  incremental: { seconds: number; advisories: number; softwareChecked: number };
  affected: {
    p50: number;
    p95: number;
    requests: number;
    devices: number;
    affected: number;
    findings: number;
  };
}

const KB_TABLES = [
  "vulnerabilities",
  "vulnerability_aliases",
  "advisories",
  "affected_ranges",
  "cpe_matches",
];
const AFFECTED_REQUESTS = 200;

async function count(db: Database, table: string): Promise<number> {
  const [row] = await db.owner.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
  return Number(row?.n ?? 0);
}

const seconds = (since: number) => (performance.now() - since) / 1000;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

export async function benchVulnerabilities(
  context: BenchContext,
  database: DatabaseKind,
  scratch: ScratchDatabase | null,
  scale: Scale,
): Promise<VulnsRun> {
  const say = (text: string) => context.say(`${database}: ${text}`);
  const loadAverage = os.loadavg()[0] ?? 0;
  const work = await mkdtemp(path.join(os.tmpdir(), "pp-bench-vulns-"));
  const removeWork = () => rm(work, { recursive: true, force: true });
  const unregister = context.onInterrupt(removeWork);
  try {
    say(
      `writing the corpus (${scale.osv.toLocaleString("en-US")} OSV records, ${scale.nvd.toLocaleString("en-US")} NVD CVEs)`,
    );
    const corpus = await writeCorpus(path.join(work, "corpus"), scale.osv, scale.nvd);
    const config = loadConfig({
      PATCHPILOT_DATA_DIR: path.join(work, "data"),
      PATCHPILOT_PORT: "0",
      PATCHPILOT_LOG_LEVEL: "warn",
      PATCHPILOT_BACKGROUND_WORK: "off",
      PATCHPILOT_FEED_SYNC: "off",
      DATABASE_URL: scratch?.url,
    });
    const server = await startServer(config);
    try {
      const db = server.db;
      say("cold load");
      let t = performance.now();
      const cold = await importFeedBundle(db, corpus.dir);
      const coldSeconds = seconds(t);
      const records = cold.feeds.reduce((n, f) => n + f.stored, 0);
      const skipped = cold.feeds.reduce((n, f) => n + f.skipped, 0);
      say(`cold load: ${records.toLocaleString("en-US")} records in ${coldSeconds.toFixed(1)} s`);
      if (scratch) await db.owner.exec(`VACUUM ANALYZE ${KB_TABLES.join(", ")}`);
      const [size] = await db.owner.query<{ bytes: string }>(
        `SELECT sum(pg_total_relation_size(c.oid)) AS bytes FROM pg_class c WHERE c.relname = ANY($1::text[])`,
        [KB_TABLES],
      );

      say("daily delta");
      const deltaDir = path.join(work, "delta");
      await writeDelta(deltaDir, scale.osv, scale.nvd, scale.deltaOsv, scale.deltaNvd);
      t = performance.now();
      const delta = await importFeedBundle(db, deltaDir);
      const deltaSeconds = seconds(t);
      const deltaRecords = delta.feeds.reduce((n, f) => n + f.stored, 0);
      await db.owner.exec("DELETE FROM jobs");

      say(`matching: ${scale.tuples.toLocaleString("en-US")} installed tuples`);
      const org = await seedOrganization(db, 0);
      await seedSoftware(db, org.organizationId, scale.tuples);
      await db.owner.exec("ANALYZE software");
      const index = new AdvisoryIndex();
      t = performance.now();
      await index.refresh(db);
      const indexLoadSeconds = seconds(t);
      // The matching itself, in memory: every tuple against the index.
      const tuples = await db.owner.query<{
        ecosystem: string;
        release: string;
        name: string;
        version: string;
        source_name: string | null;
      }>("SELECT ecosystem, release, name, version, source_name FROM software WHERE organization_id = $1", [
        org.organizationId,
      ]);
      t = performance.now();
      let matchedInMemory = 0;
      for (const s of tuples) {
        matchedInMemory +=
          index.match({ ...s, sourceName: s.source_name, sourceVersion: null }).length > 0 ? 1 : 0;
      }
      const matchSeconds = seconds(t);
      t = performance.now();
      const full = await rematch(db, index, { all: true });
      const fullSeconds = seconds(t);
      say(
        `full re-match: ${full.softwareChecked.toLocaleString("en-US")} tuples in ${fullSeconds.toFixed(2)} s`,
      );

      say(`incremental re-match after a ${scale.incremental.toLocaleString("en-US")}-advisory change`);
      const incrementalDir = path.join(work, "incremental");
      // Other records than the daily delta's, corrected a second time.
      await writeDelta(incrementalDir, scale.osv, scale.nvd, scale.incremental, 0, 2, 7);
      await importFeedBundle(db, incrementalDir);
      const [job] = await db.owner.query<{ payload: RematchPayload }>(
        "SELECT payload FROM jobs WHERE kind = 'vulns.rematch' ORDER BY id DESC LIMIT 1",
      );
      t = performance.now();
      const incremental = await runRematchJob(db, index, job?.payload ?? {});
      const incrementalSeconds = seconds(t);
      await db.owner.exec("DELETE FROM jobs");

      say(`devices affected by a CVE: ${scale.devices.toLocaleString("en-US")} devices`);
      const target = cveId(0);
      const fleet = await seedAffectedFleet(db, org.organizationId, {
        devices: scale.devices,
        perDevice: 10,
        vulnerabilityId: target,
        share: 0.3,
      });
      const times: number[] = [];
      const url = `/api/v1/orgs/${org.organizationId}/vulnerabilities/${target}/devices?limit=50`;
      for (let i = 0; i < AFFECTED_REQUESTS + 10; i++) {
        const started = performance.now();
        const response = await server.app.inject({
          method: "GET",
          url,
          headers: { cookie: `${SESSION_COOKIE}=${org.owner.token}` },
        });
        const ms = performance.now() - started;
        if (response.statusCode !== 200)
          throw new Error(`${url} answered ${response.statusCode}: ${response.body}`);
        if (i >= 10) times.push(ms);
      }
      times.sort((a, b) => a - b);
      return {
        database,
        scale,
        loadAverage,
        corpusBytes: corpus.bytes,
        cold: {
          seconds: coldSeconds,
          records,
          skipped,
          ranges: await count(db, "affected_ranges"),
          cpeMatches: await count(db, "cpe_matches"),
          vulnerabilities: await count(db, "vulnerabilities"),
        },
        delta: { seconds: deltaSeconds, records: deltaRecords },
        storeBytes: Number(size?.bytes ?? 0),
        indexLoadSeconds,
        full: {
          seconds: fullSeconds,
          tuples: full.softwareChecked,
          ranges: index.size,
          matched: matchedInMemory,
          matchSeconds,
        },
        incremental: {
          seconds: incrementalSeconds,
          advisories: scale.incremental,
          softwareChecked: incremental.softwareChecked,
        },
        affected: {
          p50: percentile(times, 50),
          p95: percentile(times, 95),
          requests: times.length,
          ...fleet,
        },
      };
    } finally {
      await server.stop();
    }
  } finally {
    await removeWork();
    unregister();
  }
}
