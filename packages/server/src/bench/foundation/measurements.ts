/** What the foundation suite measures, its fixed settings, and the one-line texts of its figures. */
import type { CpuShare } from "../common/cpu.js";
import { ms, rate } from "../common/format.js";
import type { ServerLog } from "../common/server-log.js";
import type { LoadResult } from "./load.js";
import type { WriteAudit } from "./seed.js";

export const CONNECTIONS = 32;
export const WARMUP_SECONDS = 2;
export const MEMBERS = 60;
/** Targets on PostgreSQL with CONNECTIONS connections; PGlite has none (it is the embedded option). */
export const TARGETS = { read: 2000, write: 800, p99Ms: 50 } as const;

/** Where the server runs: in the bench process, or as `patchpilot serve` with two worker processes. */
export type DatabaseKind = "PGlite" | "PostgreSQL" | "PostgreSQL, 2 processes";
export type ScenarioName = "read" | "write";

export interface Measurement {
  database: DatabaseKind;
  scenario: ScenarioName;
  warmup: LoadResult;
  result: LoadResult;
  cpu: CpuShare;
}

export interface DatabaseRun {
  database: DatabaseKind;
  poolSize: string;
  /** The machine's one-minute load average just before the run: other work skews the figures. */
  loadAverage: number;
  measurements: Measurement[];
  writeAudit: WriteAudit | null;
  serverLog: ServerLog;
}

export interface Skipped {
  database: DatabaseKind;
  reason: string;
}

export function brief(result: LoadResult): string {
  return (
    `${rate(result.okPerSecond)} ok/s, p50 ${ms(result.latencyMs.p50)} ms, ` +
    `p99 ${ms(result.latencyMs.p99)} ms, ${result.completed} responses, ` +
    `${result.non2xx} non-2xx, ${result.errors} errors`
  );
}

export function loopText(value: number | null): string {
  return value === null ? "n/a" : `${value.toFixed(0)} %`;
}

export function percentText(value: number | null): string {
  return value === null ? "n/a" : value.toFixed(0);
}

export function cpuText(cpu: CpuShare): string {
  return (
    `CPU (% of one core): server ${cpu.server.toFixed(0)} (event loop busy ${loopText(cpu.eventLoop)}), ` +
    `load generator ${cpu.loadGenerator.toFixed(0)}, ` +
    `postgres processes ${percentText(cpu.postgres)}, other ${cpu.other.toFixed(0)}, idle ${cpu.idle.toFixed(0)}`
  );
}
