/** The foundation suite's report: targets, the results and CPU tables, checks, and the terminal summary. */
import os from "node:os";
import { type Alignment, markdownTable, ms, packageVersion, rate, textTable } from "../common/format.js";
import type { TargetVerdict } from "../suite.js";
import type { LoadResult } from "./load.js";
import {
  brief,
  CONNECTIONS,
  type DatabaseRun,
  loopText,
  MEMBERS,
  type Measurement,
  percentText,
  type Skipped,
  TARGETS,
  WARMUP_SECONDS,
} from "./measurements.js";

export interface FoundationResults {
  durationSeconds: number;
  /** The PostgreSQL server, password masked. */
  postgresTarget: string;
  /** e.g. "15.20 (Debian …); fsync=on, synchronous_commit=on, …", or null when it was not reached. */
  postgresServer: string | null;
  runs: DatabaseRun[];
  skipped: Skipped[];
}

/** The verdict on one measurement; null on PGlite, which has no target. */
function verdict(m: Measurement): TargetVerdict | null {
  if (m.database === "PGlite") return null;
  const want = TARGETS[m.scenario];
  const r = m.result;
  const misses: string[] = [];
  if (r.okPerSecond < want) misses.push(`${rate(r.okPerSecond)} < ${want} req/s`);
  if (!(r.latencyMs.p99 < TARGETS.p99Ms)) misses.push(`p99 ${ms(r.latencyMs.p99)} ≥ ${TARGETS.p99Ms} ms`);
  if (r.non2xx > 0) misses.push(`${r.non2xx} non-2xx`);
  if (r.errors > 0) misses.push(`${r.errors} errors`);
  const goal = `≥ ${want} req/s, p99 < ${TARGETS.p99Ms} ms`;
  return misses.length === 0
    ? { met: true, text: `met (${goal})` }
    : { met: false, text: `NOT met (${goal}): ${misses.join(", ")}` };
}

/** One target per PostgreSQL measurement; none when PostgreSQL was skipped. */
export function targets(results: FoundationResults): TargetVerdict[] {
  return results.runs
    .flatMap((run) => run.measurements)
    .flatMap((m) => {
      const v = verdict(m);
      return v ? [{ met: v.met, text: `${m.database}, ${m.scenario}: ${v.text}` }] : [];
    });
}

const HEADERS = ["Database", "Scenario", "Req/s (2xx)", "p50 ms", "p99 ms", "Requests", "Non-2xx", "Errors"];
const ALIGN: Alignment[] = ["left", "left", "right", "right", "right", "right", "right", "right"];

function cells(m: Measurement): string[] {
  const r = m.result;
  return [
    m.database,
    m.scenario === "read" ? "read: GET users?limit=50" : "write: PATCH user role (audited)",
    rate(r.okPerSecond),
    ms(r.latencyMs.p50),
    ms(r.latencyMs.p99),
    String(r.completed),
    String(r.non2xx),
    String(r.errors),
  ];
}

function statusSummary(r: LoadResult): string {
  return Object.entries(r.statusCodes)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([code, count]) => `${code}×${count}`)
    .join(", ");
}

export function summary(results: FoundationResults): string {
  const rows = results.runs.flatMap((run) => run.measurements);
  const out = [
    textTable(
      [...HEADERS, "Target (PostgreSQL)"],
      [...ALIGN, "left"],
      rows.map((m) => [...cells(m), verdict(m)?.text ?? "no target (embedded)"]),
    ),
    "",
  ];
  for (const run of results.runs) {
    out.push(`${run.database}: pool size ${run.poolSize}`);
    const a = run.writeAudit;
    if (a) {
      out.push(
        `${run.database}: ${a.roleChanges} role-change audit rows, ${a.noOpChanges} no-op, ` +
          `chain ${a.chainValid ? "valid" : "BROKEN"} (${a.chainRows} rows)`,
      );
    }
    if (run.serverLog.lines > 0)
      out.push(`${run.database}: server logged ${run.serverLog.lines} warning/error lines`);
  }
  for (const s of results.skipped) out.push(`${s.database} skipped: ${s.reason}`);
  return out.join("\n");
}

export function markdown(title: string, results: FoundationResults): string {
  const rows = results.runs.flatMap((run) => run.measurements);
  const nproc = os.availableParallelism();
  const poolSize = results.runs.find((r) => r.database === "PostgreSQL")?.poolSize ?? "n/a";
  const out: string[] = [
    `## ${title}`,
    "",
    "### Method",
    "",
    "- The real HTTPS server (`startServer`, TLS from its own CA, log level warn) in the bench process; " +
      "the load generator (autocannon) in a separate child process (`child_process.fork`), " +
      "so the two do not share an event loop. Both, and PostgreSQL, share the machine's CPUs.",
    `- ${CONNECTIONS} concurrent keep-alive connections, no pipelining; per scenario a ` +
      `${WARMUP_SECONDS} s warm-up run (not reported), then a ${results.durationSeconds} s measured run.`,
    `- One organisation: an Owner and ${MEMBERS} other members. All requests are the Owner's, with ` +
      "the session cookie (`__Host-pp_session`) as the console sends it; writes add `x-csrf-token`.",
    "- **read**: `GET /api/v1/orgs/:orgId/users?limit=50` — session lookup, then a tenant-scoped " +
      "transaction (role and organisation set for row-level security) reading a page of 50 members.",
    '- **write**: `PATCH /api/v1/orgs/:orgId/users/:userId` with `{"role":"operator"}` or ' +
      '`{"role":"auditor"}`, whichever the member does not have, so each request changes a role and ' +
      "appends its audit row (hash-chained) in the same transaction. Each connection owns a fixed " +
      "share of the members and walks them in turn.",
    "- Req/s counts 2xx answers only, over the run's wall-clock time. Latency percentiles (nearest " +
      "rank) are over every response of the measured run, timed in the load process with sub-ms " +
      "resolution. Errors are connection errors and timeouts.",
    "- TLS: autocannon 8 always connects with `rejectUnauthorized: false`, so before each run one " +
      "request checks the server certificate against `<dataDir>/tls/ca.crt` and must answer 2xx.",
    `- PostgreSQL: a scratch database (\`CREATE DATABASE pp_bench_…\`, dropped afterwards) on ` +
      `${results.postgresTarget}` +
      (results.postgresServer ? ` (server ${results.postgresServer})` : "") +
      `; server pool size ${poolSize} (\`PATCHPILOT_DATABASE_POOL_SIZE\`). ` +
      "PGlite: on-disk, in the server process, one connection.",
    `- Targets, on PostgreSQL with ${CONNECTIONS} connections: reads ≥ ${TARGETS.read} req/s, audited ` +
      `writes ≥ ${TARGETS.write} req/s, each with p99 < ${TARGETS.p99Ms} ms and no non-2xx answers or ` +
      "errors. PGlite, the embedded option, has none.",
    `- Versions: PGlite ${packageVersion("@electric-sql/pglite")}, autocannon ${packageVersion("autocannon")}.`,
    "",
    "### Results",
    "",
    markdownTable(
      [...HEADERS, "p90 ms", "Max ms", "Target"],
      [...ALIGN, "right", "right", "left"],
      rows.map((m) => [
        ...cells(m),
        ms(m.result.latencyMs.p90),
        ms(m.result.latencyMs.max),
        verdict(m)?.text ?? "no target",
      ]),
    ),
    "",
    `CPU during the measured runs, in percent of one core (the machine has ${nproc} × 100 %). ` +
      "Server: the bench process (server and, for PGlite, the database; GC and libuv threads can take it " +
      "past 100). Event loop busy: its `eventLoopUtilization`; at 100 % the server cannot take more. " +
      "PostgreSQL: the scratch database's backends and the server's background processes (/proc). " +
      "Other: everything else running on the machine.",
    "",
    markdownTable(
      [
        "Database",
        "Scenario",
        "Server",
        "Server event loop busy",
        "Load generator",
        "PostgreSQL",
        "Other",
        "Idle",
      ],
      ["left", "left", "right", "right", "right", "right", "right", "right"],
      rows.map((m) => [
        m.database,
        m.scenario,
        m.cpu.server.toFixed(0),
        loopText(m.cpu.eventLoop),
        m.cpu.loadGenerator.toFixed(0),
        percentText(m.cpu.postgres),
        m.cpu.other.toFixed(0),
        m.cpu.idle.toFixed(0),
      ]),
    ),
    "",
    "One-minute load average before each database's run (other work on the machine skews the figures): " +
      results.runs.map((r) => `${r.database} ${r.loadAverage.toFixed(2)}`).join(", ") +
      ".",
    "",
  ];
  for (const s of results.skipped) out.push(`**${s.database} was skipped:** ${s.reason}`, "");
  out.push("### Checks", "", ...checks(results.runs));
  return out.join("\n");
}

/** Status codes, the warm-ups, the audit rows against the writes confirmed, and the server's log. */
function checks(runs: DatabaseRun[]): string[] {
  const out: string[] = [];
  for (const run of runs) {
    for (const m of run.measurements) {
      out.push(
        `- ${run.database} ${m.scenario}: status codes ${statusSummary(m.result)}` +
          (m.result.errorMessages.length > 0 ? `; errors: ${m.result.errorMessages.join("; ")}` : "") +
          `; warm-up ${brief(m.warmup)}.`,
      );
    }
    const a = run.writeAudit;
    if (a) {
      const confirmed = run.measurements
        .filter((m) => m.scenario === "write")
        .reduce((n, m) => n + m.warmup.ok + m.result.ok, 0);
      out.push(
        `- ${run.database} audit: ${a.roleChanges} \`users.role_changed\` rows for ${confirmed} 2xx ` +
          "PATCH answers (warm-up included; requests cut off when a run stopped may add a few rows), " +
          `${a.noOpChanges} no-op changes; hash chain ${a.chainValid ? "valid" : "BROKEN"} ` +
          `(${a.chainRows} rows).`,
      );
    }
    if (run.serverLog.lines > 0) {
      out.push(`- ${run.database} server log: ${run.serverLog.lines} warning/error lines, first:`);
      for (const line of run.serverLog.first) out.push(`  - \`${line.replaceAll("`", "'")}\``);
    }
  }
  return out;
}
