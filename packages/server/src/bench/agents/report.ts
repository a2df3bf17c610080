/** The agents suite's figures, verdicts and section of docs/performance.md. */
import os from "node:os";
import { type Alignment, markdownTable, ms, rate, textTable, wholeRate } from "../common/format.js";
import type { ScratchDatabase, TargetVerdict } from "../suite.js";
import {
  CONNECTIONS,
  type FleetRun,
  IMAGE,
  type Measured,
  STORM_CONNECTIONS,
  TARGET_RATE,
} from "./fleet-run.js";
import type { SimulatorResult } from "./simulator.js";

export interface Baselines {
  http: SimulatorResult;
  https: SimulatorResult;
}

const TARGETS = {
  checkInsPerSecond: TARGET_RATE,
  p99Ms: 50,
  minDevices: 100_000,
  minOrganizations: 100,
  shareOfBare: 0.5,
  stormSessionsPerSecond: 550,
  bytesPerDevice: 1024,
  firstInventoriesPerSecond: 200,
  changesPerSecond: 2000,
} as const;

function verdict(label: string, goal: string, met: boolean, measured: string): TargetVerdict {
  return { met, text: `${label}: ${met ? "met" : "NOT met"} (${goal}): ${measured}` };
}

const non2xx = (r: SimulatorResult) => r.completed - r.ok;

function bytesPerDevice(run: FleetRun): number {
  return (run.memory.rssAfter - run.memory.rssBefore) / Math.max(1, run.memory.sessions);
}

function perSecond(m: Measured, count: number): number {
  return count / m.result.durationSeconds;
}

export function judgeTargets(runs: FleetRun[], bare: Baselines): TargetVerdict[] {
  const pg = runs.find((r) => r.database === "PostgreSQL");
  if (!pg)
    return [{ met: false, text: "PostgreSQL agent targets: NOT met (not measured: PostgreSQL was skipped)" }];
  const steady = pg.steady.result;
  const paced = pg.paced?.result;
  const storm = pg.storm.result;
  const fleetOk = pg.devices >= TARGETS.minDevices && pg.organizations >= TARGETS.minOrganizations;
  const pacedOk =
    paced !== undefined &&
    paced.okPerSecond >= TARGETS.checkInsPerSecond * 0.98 &&
    paced.latencyMs.p99 <= TARGETS.p99Ms &&
    non2xx(paced) === 0;
  return [
    verdict(
      "PostgreSQL steady check-in",
      `≥ ${TARGETS.checkInsPerSecond}/s from ${wholeRate(TARGETS.minDevices)} devices in ≥ ${TARGETS.minOrganizations} organisations, p99 ≤ ${TARGETS.p99Ms} ms`,
      fleetOk && steady.okPerSecond >= TARGETS.checkInsPerSecond && pacedOk,
      `${rate(steady.okPerSecond)}/s at full speed; at ${TARGETS.checkInsPerSecond}/s offered ${paced ? `${rate(paced.okPerSecond)}/s, p99 ${ms(paced.latencyMs.p99)} ms` : "not run"}; ${wholeRate(pg.devices)} devices, ${pg.organizations} organisations`,
    ),
    verdict(
      "PostgreSQL check-in vs bare node:http",
      `≥ ${TARGETS.shareOfBare * 100} % of a bare node:http JSON server in the same run`,
      steady.okPerSecond >= bare.http.okPerSecond * TARGETS.shareOfBare,
      `${((100 * steady.okPerSecond) / bare.http.okPerSecond).toFixed(0)} % (${rate(steady.okPerSecond)} vs ${rate(bare.http.okPerSecond)}/s; bare node:https ${rate(bare.https.okPerSecond)}/s)`,
    ),
    verdict(
      "PostgreSQL reconnect storm",
      `≥ ${TARGETS.stormSessionsPerSecond} new TLS sessions/s after a restart, no 5xx`,
      perSecond(pg.storm, storm.handshakes) >= TARGETS.stormSessionsPerSecond &&
        !Object.keys(storm.statusCodes).some((c) => c.startsWith("5")),
      `${rate(perSecond(pg.storm, storm.handshakes))}/s (${storm.resumed} resumed), status ${statusText(storm)}, ${storm.errors} connection errors`,
    ),
    verdict(
      "PostgreSQL server memory per device",
      `≤ ${TARGETS.bytesPerDevice} bytes of RSS per known device`,
      bytesPerDevice(pg) <= TARGETS.bytesPerDevice,
      `${Math.ceil(bytesPerDevice(pg))} bytes (RSS +${mb(pg.memory.rssAfter - pg.memory.rssBefore)} MB for ${wholeRate(pg.memory.sessions)} devices)`,
    ),
    verdict(
      "PostgreSQL first inventories",
      `≥ ${TARGETS.firstInventoriesPerSecond} first-time ${IMAGE.size + IMAGE.extrasPerMachine}-package inventories/s`,
      pg.ingest.full.result.okPerSecond >= TARGETS.firstInventoriesPerSecond &&
        non2xx(pg.ingest.full.result) === 0,
      `${rate(pg.ingest.full.result.okPerSecond)}/s`,
    ),
    verdict(
      "PostgreSQL unchanged inventory",
      "0 row writes",
      pg.ingest.unchangedWrites === 0 && non2xx(pg.ingest.unchanged.result) === 0,
      `${pg.ingest.unchangedWrites} rows written for ${pg.ingest.devices} unchanged inventories`,
    ),
    verdict(
      "PostgreSQL 1 % change",
      `≥ ${TARGETS.changesPerSecond} devices/s`,
      pg.ingest.changes.result.okPerSecond >= TARGETS.changesPerSecond &&
        non2xx(pg.ingest.changes.result) === 0,
      `${rate(pg.ingest.changes.result.okPerSecond)} devices/s`,
    ),
  ];
}

function mb(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}

function statusText(r: SimulatorResult): string {
  return (
    Object.entries(r.statusCodes)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([code, count]) => `${code}×${count}`)
      .join(", ") || "none"
  );
}

const HEADER = [
  "Database",
  "Scenario",
  "Rate (2xx/s)",
  "p50 ms",
  "p99 ms",
  "Answers",
  "Non-2xx",
  "Errors",
  "Server CPU %",
  "Simulator CPU %",
  "PostgreSQL CPU %",
  "DB tx/s",
];
const ALIGN: Alignment[] = ["left", "left", ...Array<Alignment>(10).fill("right")];

function row(database: string, scenario: string, m: Measured): string[] {
  const r = m.result;
  return [
    database,
    scenario,
    rate(r.okPerSecond),
    ms(r.latencyMs.p50),
    ms(r.latencyMs.p99),
    String(r.completed),
    String(non2xx(r)),
    String(r.errors),
    m.cpu.server.toFixed(0),
    m.cpu.loadGenerator.toFixed(0),
    m.cpu.postgres === null ? "n/a" : m.cpu.postgres.toFixed(0),
    m.transactionsPerSecond === null ? "n/a" : rate(m.transactionsPerSecond),
  ];
}

function rows(runs: FleetRun[], bare: Baselines): string[][] {
  const bareRow = (label: string, r: SimulatorResult) => [
    "none",
    label,
    rate(r.okPerSecond),
    ms(r.latencyMs.p50),
    ms(r.latencyMs.p99),
    String(r.completed),
    String(non2xx(r)),
    String(r.errors),
    "",
    (r.cpuMs / 10 / r.durationSeconds).toFixed(0),
    "",
    "",
  ];
  return [
    bareRow("bare node:http JSON server", bare.http),
    bareRow("bare node:https JSON server (same TLS)", bare.https),
    ...runs.flatMap((run) => [
      row(run.database, "warm-up: each device's first check-in", run.warmup),
      row(run.database, "steady check-in, full speed", run.steady),
      ...(run.paced ? [row(run.database, `steady check-in, ${TARGET_RATE}/s offered`, run.paced)] : []),
      row(run.database, "reconnect storm (new TLS connection each)", run.storm),
      row(run.database, "first inventory (PUT, 2,000 packages)", run.ingest.full),
      row(run.database, "unchanged inventory (PUT again)", run.ingest.unchanged),
      row(run.database, "1 % change (POST changes)", run.ingest.changes),
    ]),
  ];
}

export function summary(runs: FleetRun[], bare: Baselines): string {
  return textTable(
    HEADER.slice(0, 8),
    ALIGN.slice(0, 8),
    rows(runs, bare).map((r) => r.slice(0, 8)),
  );
}

export function markdownReport(
  title: string,
  runs: FleetRun[],
  bare: Baselines,
  skipped: string[],
  scratch: ScratchDatabase | null,
): string {
  const lines = [
    `## ${title}`,
    "",
    "### Method",
    "",
    "- The real HTTPS server (`startServer`: its own CA, ECDSA P-256 certificate, TLS 1.3) in the bench process; the " +
      "agent simulator (packages/server/src/bench/agents/simulator.ts) in a child process, speaking HTTP/1.1 " +
      "over TLS with hand-built requests so as much CPU as possible is left to the server. Both, and " +
      "PostgreSQL, share the machine's CPUs.",
    `- The fleet (seeded, the same on every run): ${runs.map((r) => `${r.database} ${wholeRate(r.devices)} devices in ${r.organizations} organisations`).join("; ")}. ` +
      "Devices are written in bulk as the database owner (as a restore would); each organisation's devices run one " +
      `release's image (${IMAGE.size} packages, Debian 12 or Ubuntu 22.04 shaped), stored as one package set.`,
    "- **warm-up**: every device checks in once; each is a token the process has not seen, looked up in the " +
      "database. **steady**: check-ins round the fleet, unchanged facts and inventory, keep-alive, " +
      `${CONNECTIONS} connections, as fast as answers come, then (PostgreSQL) paced at ${TARGET_RATE}/s offered ` +
      "with 64 connections to read p99 at the target rate. Uptime advances with the clock, so no reboot is seen.",
    `- **reconnect storm**: the server is stopped and started again (empty caches), then ${STORM_CONNECTIONS} ` +
      "connections each make a new TLS connection for every check-in (resuming the TLS session they were last " +
      "given when they can); new TLS sessions/s counts completed handshakes. Agents back off with jitter on errors.",
    "- **memory**: the server process's RSS after seeding and after the warm-up (every device known), divided by " +
      "the devices known.",
    `- **ingest**: new devices (no inventory yet) each send a first inventory of the image plus ${IMAGE.extrasPerMachine} ` +
      `role packages from a pool of ${IMAGE.extrasPool} (PUT, about 2,000 packages), then the same again with a new ` +
      `report id (unchanged; rows written to the inventory tables are counted), then a day of ${IMAGE.churn * 100} % churn ` +
      "as changes (POST), 8 and 16 connections; each device's request is sent once and the rate is devices over " +
      "the time until the last answer.",
    "- Baselines in the same run: a bare `node:http` server, and the same over the same TLS settings, that parse the " +
      `JSON body and answer a check-in-sized JSON body; same simulator, ${CONNECTIONS} connections.`,
    "- Rates count 2xx answers over wall-clock time; latency percentiles (nearest rank) over every answer, " +
      "timed in the simulator. CPU is percent of one core (the machine has " +
      `${os.availableParallelism()} × 100 %); DB tx/s from pg_stat_database.` +
      (scratch ? ` PostgreSQL ${scratch.serverVersion} (${scratch.durability}).` : ""),
    "",
    "### Results",
    "",
    markdownTable(HEADER, ALIGN, rows(runs, bare)),
    "",
    ...runs.map(
      (run) =>
        `- ${run.database} memory: RSS ${mb(run.memory.rssBefore)} → ${mb(run.memory.rssAfter)} MB, heap ` +
        `${mb(run.memory.heapBefore)} → ${mb(run.memory.heapAfter)} MB for ${wholeRate(run.memory.sessions)} known devices ` +
        `(${Math.ceil(bytesPerDevice(run))} bytes of RSS each). Storm: ${run.storm.result.handshakes} TLS handshakes ` +
        `(${run.storm.result.resumed} resumed), status ${statusText(run.storm.result)}. Unchanged inventories wrote ` +
        `${run.ingest.unchangedWrites} rows. Load average before: ${run.loadAverage.toFixed(2)}.` +
        (run.serverLog.lines > 0
          ? ` Server log: ${run.serverLog.lines} warning/error lines, first: \`${(run.serverLog.first[0] ?? "").replaceAll("`", "'")}\`.`
          : ""),
    ),
    ...skipped.map((s) => `- Skipped: ${s}`),
  ];
  return lines.join("\n");
}
