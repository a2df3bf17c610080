/**
 * `npm run bench [-- SUITE…]`: runs the benchmark suites (all, or the named ones, in the order of
 * SUITES), prints their summaries and rewrites docs/performance.md: the sections of the suites that
 * ran, keeping the other sections and the notes below the notes marker as they were.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { agentsSuite } from "./agents/suite.js";
import { backupSuite } from "./backup/suite.js";
import { say } from "./common/format.js";
import { createScratchDatabase, type ScratchDatabase } from "./common/scratch-database.js";
import { complianceSuite } from "./compliance/suite.js";
import { consoleSuite } from "./console/suite.js";
import { foundationSuite } from "./foundation/suite.js";
import {
  assemblePerformanceDoc,
  mergeSections,
  parsePerformanceDoc,
  performanceHeader,
  renderSection,
  sectionTargets,
} from "./performance-doc.js";
import { rolloutsSuite } from "./rollouts/suite.js";
import type { BenchContext, Suite, SuiteReport } from "./suite.js";
import { versionsSuite } from "./versions/suite.js";
import { vulnsSuite } from "./vulns/suite.js";

/** Every suite, in the order they run and appear in docs/performance.md. */
const SUITES: readonly Suite[] = [
  foundationSuite,
  versionsSuite,
  agentsSuite,
  vulnsSuite,
  rolloutsSuite,
  consoleSuite,
  complianceSuite,
  backupSuite,
];
const DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/postgres";
const DOCS = fileURLToPath(new URL("../../../../docs/", import.meta.url));

/** The measured run's length: 10 s, or BENCH_DURATION_SECONDS (for quicker looks while investigating). */
function durationSeconds(raw: string | undefined): number {
  if (raw === undefined || raw === "") return 10;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 600) {
    throw new Error(
      `BENCH_DURATION_SECONDS must be a whole number from 1 to 600, got ${JSON.stringify(raw)}`,
    );
  }
  return value;
}

/** What to undo if the run is interrupted (Ctrl-C): scratch databases and temporary directories. */
const cleanups = new Set<() => Promise<void>>();

function onInterrupt(cleanup: () => Promise<void>): () => void {
  cleanups.add(cleanup);
  return () => {
    cleanups.delete(cleanup);
  };
}

process.once("SIGINT", () => {
  process.stdout.write("\nInterrupted; cleaning up\n");
  // Dropping a scratch database ends the server's connections to it; their errors must not stop
  // the cleanup half-way, so from here on they are only noted.
  process.on("uncaughtException", (error) => process.stderr.write(`(while cleaning up) ${error.message}\n`));
  void (async () => {
    // Newest first, as nested finally blocks would: a run's data directory before its database.
    for (const cleanup of [...cleanups].reverse()) await cleanup().catch(() => undefined);
  })().finally(() => process.exit(130));
});

/** The suites named on the command line (all when none), or null after reporting unknown names. */
function chooseSuites(names: string[]): Suite[] | null {
  const unknown = names.filter((name) => !SUITES.some((suite) => suite.name === name));
  if (unknown.length > 0) {
    process.stderr.write(
      `Unknown suite${unknown.length > 1 ? "s" : ""}: ${unknown.join(", ")}. ` +
        `Known suites: ${SUITES.map((s) => s.name).join(", ")}.\n`,
    );
    return null;
  }
  return names.length === 0 ? [...SUITES] : SUITES.filter((suite) => names.includes(suite.name));
}

async function main(): Promise<number> {
  const names = process.argv.slice(2);
  const chosen = chooseSuites(names);
  if (!chosen) return 2;
  let duration: number;
  try {
    duration = durationSeconds(process.env.BENCH_DURATION_SECONDS);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  }
  const postgresServerUrl = process.env.DATABASE_URL || DEFAULT_POSTGRES_URL;
  // The last scratch database made, for the header's PostgreSQL line.
  let postgres: ScratchDatabase | null = null;
  const context: BenchContext = {
    postgresServerUrl,
    durationSeconds: duration,
    onInterrupt,
    say,
    async scratchDatabase() {
      postgres = await createScratchDatabase(postgresServerUrl, onInterrupt);
      return postgres;
    },
  };

  const date = new Date();
  const command = `npm run bench${names.length > 0 ? ` -- ${names.join(" ")}` : ""}`;
  const reports = new Map<Suite, SuiteReport>();
  for (const suite of chosen) {
    say(`\n== ${suite.title} (${suite.name}) ==`);
    try {
      reports.set(suite, await suite.run(context));
    } catch (error) {
      // The other suites still run; this one's section stays as the last successful run left it.
      process.stderr.write(
        `Suite ${suite.name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
    }
  }

  const measured = `Measured on ${date.toISOString()} by \`${command}\`.`;
  const fresh = [...reports].map(([suite, report]) => renderSection(suite.name, report, measured));
  const file = path.join(DOCS, "performance.md");
  const previous = parsePerformanceDoc(await readFile(file, "utf8").catch(() => ""));
  const sections = mergeSections(
    fresh,
    previous.sections,
    SUITES.map((suite) => suite.name),
    names.length === 0,
  );
  for (const s of sections) {
    if (!SUITES.some((suite) => suite.name === s.name))
      say(`Kept the section of "${s.name}": not a suite here.`);
  }
  await mkdir(DOCS, { recursive: true });
  await writeFile(
    file,
    assemblePerformanceDoc(
      performanceHeader({ date, command, measured: [...reports.keys()].map((s) => s.title), postgres }),
      sections,
      previous.notes,
    ),
  );

  for (const [suite, report] of reports) say(`\n${suite.title}\n\n${report.summary}`);
  say("\nTargets:");
  for (const section of fresh) {
    for (const t of sectionTargets(section)) say(`  ${section.name}: ${t.text}`);
  }
  say(`\nWrote ${path.relative(process.cwd(), file) || file}`);
  return reports.size === chosen.length ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
