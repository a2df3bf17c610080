/**
 * The contract between `npm run bench` (run.ts) and each benchmark suite. A suite measures one
 * area, writes its own section of docs/performance.md and judges its own targets; run.ts chooses
 * which suites run, provides the scratch databases and assembles the document.
 */
import type { ScratchDatabase } from "./common/scratch-database.js";

export type { ScratchDatabase };

export interface TargetVerdict {
  text: string;
  met: boolean;
}

export interface SuiteReport {
  /** Markdown for this suite's section of docs/performance.md: starts with a `## ` heading; method, results tables, checks. */
  markdown: string;
  /** One line per target, e.g. "PostgreSQL steady check-in: met (≥ 5000/s, p99 ≤ 50 ms): 6120/s, p99 31 ms". */
  targets: TargetVerdict[];
  /** What to print on the terminal at the end (a compact table). */
  summary: string;
}

export interface BenchContext {
  /** PostgreSQL server URL for scratch databases (DATABASE_URL or postgres://postgres@127.0.0.1:5432/postgres). */
  postgresServerUrl: string;
  /** A throw-away database on that server, dropped by `drop()` and on Ctrl-C. Throws when the server cannot be reached. */
  scratchDatabase(): Promise<ScratchDatabase>;
  /** Length of each measured run in seconds (BENCH_DURATION_SECONDS, default 10). */
  durationSeconds: number;
  /** Registers cleanup to run on Ctrl-C (returns a function that unregisters it). */
  onInterrupt(cleanup: () => Promise<void>): () => void;
  say(text: string): void;
}

export interface Suite {
  /** What `npm run bench -- NAME` selects, and the name in the section's markers. */
  name: string;
  /** The heading of the suite's section (its markdown starts with `## ${title}`). */
  title: string;
  run(context: BenchContext): Promise<SuiteReport>;
}
