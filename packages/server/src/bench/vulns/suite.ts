/**
 * The vulnerabilities suite: feed ingest into the knowledge base, fleet-wide matching and the
 * "devices affected by CVE-X" query, on PostgreSQL at full scale (the targets) and on PGlite at a
 * tenth of it (for information).
 */
import { type Alignment, markdownTable, textTable } from "../common/format.js";
import type { BenchContext, Suite, SuiteReport, TargetVerdict } from "../suite.js";
import { benchVulnerabilities, FULL_SCALE, scaled, type VulnsRun } from "./vulns-run.js";

const TITLE = "Vulnerability intelligence";
const GB = 1024 ** 3;

const n = (value: number) => value.toLocaleString("en-US");
const s = (value: number) => `${value.toFixed(value < 10 ? 2 : 1)} s`;
const msText = (value: number) => `${value.toFixed(value < 10 ? 1 : 0)} ms`;

interface Target {
  name: string;
  goal: string;
  met(run: VulnsRun): boolean;
  measured(run: VulnsRun): string;
}

const TARGETS: Target[] = [
  {
    name: "cold load",
    goal: "≤ 3 min for 520,000 OSV records + 300,000 NVD CVEs",
    met: (r) => r.cold.seconds <= 180,
    measured: (r) => `${s(r.cold.seconds)} (${n(Math.round(r.cold.records / r.cold.seconds))} records/s)`,
  },
  {
    name: "daily delta",
    goal: "≤ 30 s for 2,000 records",
    met: (r) => r.delta.seconds <= 30,
    measured: (r) => s(r.delta.seconds),
  },
  {
    name: "advisory store",
    goal: "≤ 1.5 GB on disk with indexes",
    met: (r) => r.storeBytes <= 1.5 * GB,
    measured: (r) => `${(r.storeBytes / GB).toFixed(2)} GB`,
  },
  {
    name: "full re-match",
    goal: "≤ 2 s for 100,000 installed tuples",
    met: (r) => r.full.seconds <= 2,
    measured: (r) => `${s(r.full.seconds)} (${n(r.full.ranges)} ranges)`,
  },
  {
    name: "incremental re-match",
    goal: "≤ 200 ms after a 1,000-advisory change",
    met: (r) => r.incremental.seconds <= 0.2,
    measured: (r) => msText(r.incremental.seconds * 1000),
  },
  {
    name: "devices affected by CVE-X",
    goal: "p95 ≤ 200 ms on a 100,000-device organisation",
    met: (r) => r.affected.p95 <= 200,
    measured: (r) => `p95 ${msText(r.affected.p95)}`,
  },
];

function rows(runs: VulnsRun[]): string[][] {
  return runs.flatMap((r) => [
    [
      r.database,
      "cold load",
      `${n(r.scale.osv)} OSV + ${n(r.scale.nvd)} NVD`,
      `${s(r.cold.seconds)}, ${n(Math.round(r.cold.records / r.cold.seconds))} records/s`,
    ],
    [
      r.database,
      "daily delta",
      `${n(r.scale.deltaOsv)} OSV + ${n(r.scale.deltaNvd)} NVD`,
      s(r.delta.seconds),
    ],
    [
      r.database,
      "advisory store",
      `${n(r.cold.vulnerabilities)} vulnerabilities, ${n(r.cold.ranges)} ranges, ${n(r.cold.cpeMatches)} CPE matches`,
      `${(r.storeBytes / GB).toFixed(2)} GB`,
    ],
    [r.database, "index load", `${n(r.full.ranges)} ranges into memory`, s(r.indexLoadSeconds)],
    [
      r.database,
      "matching in memory",
      `${n(r.scale.tuples)} tuples (${n(r.full.matched)} vulnerable)`,
      s(r.full.matchSeconds),
    ],
    [r.database, "full re-match", `${n(r.full.tuples)} tuples, recorded`, s(r.full.seconds)],
    [
      r.database,
      "incremental re-match",
      `${n(r.incremental.advisories)} advisories, ${n(r.incremental.softwareChecked)} entries re-checked`,
      msText(r.incremental.seconds * 1000),
    ],
    [
      r.database,
      "devices affected by CVE-X",
      `${n(r.affected.devices)} devices, ${n(r.affected.affected)} affected, ${n(r.affected.findings)} findings`,
      `p50 ${msText(r.affected.p50)}, p95 ${msText(r.affected.p95)}`,
    ],
  ]);
}

const HEADER = ["Database", "Measure", "Scale", "Result"];
const ALIGN: Alignment[] = ["left", "left", "left", "right"];

/** BENCH_VULNS_SCALE (default 1) shrinks everything, for quicker looks while investigating. */
function scaleFactor(raw: string | undefined): number {
  if (raw === undefined || raw === "") return 1;
  const value = Number(raw);
  if (!(value > 0 && value <= 1))
    throw new Error(`BENCH_VULNS_SCALE must be a number in (0, 1], got ${JSON.stringify(raw)}`);
  return value;
}

async function run(context: BenchContext): Promise<SuiteReport> {
  const factor = scaleFactor(process.env.BENCH_VULNS_SCALE);
  const runs: VulnsRun[] = [];
  const scratch = await context.scratchDatabase();
  try {
    runs.push(await benchVulnerabilities(context, "PostgreSQL", scratch, scaled(FULL_SCALE, factor)));
  } finally {
    await scratch.drop();
  }
  runs.push(await benchVulnerabilities(context, "PGlite", null, scaled(FULL_SCALE, factor * 0.1)));
  const postgres = runs[0] as VulnsRun;
  const targets: TargetVerdict[] = TARGETS.map((target) => {
    const met = target.met(postgres) && factor === 1;
    const verdict = factor !== 1 ? `not judged at scale ${factor}` : met ? "met" : "NOT met";
    return {
      met,
      text: `PostgreSQL ${target.name}: ${verdict} (${target.goal}): ${target.measured(postgres)}`,
    };
  });
  const markdown = [
    `## ${TITLE}`,
    "",
    "### Method",
    "",
    "- A seeded corpus in the feeds' published formats (packages/server/src/bench/vulns/corpus.ts): OSV records " +
      "for Debian 12, Ubuntu 22.04, Alpine 3.19, RHEL 9, npm, PyPI, Go and Maven (JSON arrays of 1,000) and NVD " +
      "CVE API 2.0 pages of 2,000, three OSV records in five aliasing an NVD CVE, package names skewed as in real " +
      "feeds. **Cold load** is `importFeedBundle` (what `patchpilot feeds import` runs) on the directory: " +
      "recognise, parse, normalise, store in batches of 1,000, feed state and re-match job. **Daily delta** " +
      "imports corrected versions of 1,000 OSV records and 1,000 NVD CVEs spread over the corpus.",
    "- **Advisory store**: `pg_total_relation_size` of vulnerabilities, aliases, advisories, affected ranges " +
      "and CPE matches after the cold load (and VACUUM ANALYZE on PostgreSQL).",
    "- **Matching**: 100,000 distinct installed (ecosystem, release, name, version) tuples in one organisation's " +
      "catalogue, drawn from the corpus's package universe with its skew. **Index load** reads every affected " +
      "range into the in-memory index; **matching in memory** is `AdvisoryIndex.match` over every tuple; **full " +
      "re-match** is `rematch(all)`: read the catalogue in chunks of 5,000, match, and record each entry's " +
      "vulnerabilities (set-based), the job a first import queues. The tuples are not installed on devices " +
      "here, so no findings are written: fanning matches out to devices is what inventory ingest does per device.",
    "- **Incremental re-match**: 1,000 other OSV records corrected and imported, then the re-match job that " +
      "import queued runs: the index reloads only the changed packages' ranges, and only catalogue entries of " +
      "those packages are matched again, compared only for the vulnerabilities the changed advisories were and are about.",
    "- **Devices affected by CVE-X**: 100,000 devices with 10 open findings each, one CVE on 30 % of them; " +
      `${n(postgres.affected.requests)} sequential GET /api/v1/orgs/:org/vulnerabilities/CVE-X/devices?limit=50 ` +
      "through the application (session, permission check, tenant transaction, JSON), after 10 unmeasured.",
    "- PGlite runs everything at a tenth of the scale, for information; the targets are PostgreSQL's.",
    "",
    "### Results",
    "",
    markdownTable(HEADER, ALIGN, rows(runs)),
    "",
    "### Targets",
    "",
    ...targets.map((t) => `- ${t.text}`),
    "",
    `One-minute load average before the runs: ${runs.map((r) => `${r.database} ${r.loadAverage.toFixed(2)}`).join(", ")}.`,
  ].join("\n");
  return { markdown, targets, summary: textTable(HEADER, ALIGN, rows(runs)) };
}

export const vulnsSuite: Suite = { name: "vulns", title: TITLE, run };
