/** One database's run of the foundation suite: start the server, seed, read scenario, write scenario, check. */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { loadConfig } from "../../config/config.js";
import type { Database } from "../../db/database.js";
import { openDatabase } from "../../db/open.js";
import { SESSION_COOKIE } from "../../identity/sessions.js";
import { startServer } from "../../server.js";
import { measureCpu, thisProcessCpuMs } from "../common/cpu.js";
import type { ScratchDatabase } from "../common/scratch-database.js";
import { ServerLog } from "../common/server-log.js";
import type { BenchContext } from "../suite.js";
import type { LoadJob } from "./load.js";
import { LoadProcess } from "./load-process.js";
import {
  brief,
  CONNECTIONS,
  cpuText,
  type DatabaseKind,
  type DatabaseRun,
  MEMBERS,
  type Measurement,
  WARMUP_SECONDS,
} from "./measurements.js";
import { auditWrites, type BenchOrg, currentRoles, seedOrganization } from "./seed.js";
import { ServerProcess } from "./server-process.js";

// Time for requests still in flight when a run stops to finish before the roles are read back.
const SETTLE_MS = 1000;

/** Runs both scenarios against a fresh server on PGlite (scratch null) or on the scratch database. */
export async function benchDatabase(
  context: BenchContext,
  database: DatabaseKind,
  scratch: ScratchDatabase | null,
  workers = 1,
): Promise<DatabaseRun> {
  const loadAverage = os.loadavg()[0] ?? 0;
  if (loadAverage > 1) {
    context.say(
      `${database}: note: load average ${loadAverage.toFixed(2)}; other work on the machine lowers the figures`,
    );
  }
  const databaseUrl = scratch?.url ?? null;
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "pp-bench-"));
  const removeDataDir = () => rm(dataDir, { recursive: true, force: true });
  const unregister = context.onInterrupt(removeDataDir);
  const serverLog = new ServerLog();
  try {
    const config = loadConfig({
      PATCHPILOT_DATA_DIR: dataDir,
      PATCHPILOT_PORT: "0",
      PATCHPILOT_FEED_SYNC: "off",
      PATCHPILOT_LOG_LEVEL: "warn",
      PATCHPILOT_DATABASE_POOL_SIZE: process.env.PATCHPILOT_DATABASE_POOL_SIZE,
      DATABASE_URL: databaseUrl ?? undefined,
    });
    // With worker processes the server is `patchpilot serve` in its own process tree, and the
    // bench reaches the database through a handle of its own for seeding and checking.
    const spawned =
      workers > 1
        ? await ServerProcess.start({
            PATCHPILOT_DATA_DIR: dataDir,
            PATCHPILOT_PORT: "0",
            PATCHPILOT_FEED_SYNC: "off",
            PATCHPILOT_LOG_LEVEL: "warn",
            PATCHPILOT_WORKERS: String(workers),
            DATABASE_URL: databaseUrl ?? "",
            ...(process.env.PATCHPILOT_DATABASE_POOL_SIZE
              ? { PATCHPILOT_DATABASE_POOL_SIZE: process.env.PATCHPILOT_DATABASE_POOL_SIZE }
              : {}),
          })
        : null;
    const server = spawned
      ? {
          url: spawned.url,
          db: await openDatabase({ databaseUrl, pgliteDir: null, poolSize: 4, migrate: false }),
          async stop() {
            await spawned.stop();
            await this.db.close();
          },
        }
      : await startServer(config, serverLog);
    const load = new LoadProcess();
    try {
      const org = await seedOrganization(server.db, MEMBERS);
      const origin = new URL(server.url);
      origin.hostname = config.host;
      const caPem = await readFile(path.join(dataDir, "tls", "ca.crt"), "utf8");
      const measurements = await runScenarios(context, {
        database,
        db: server.db,
        load,
        org,
        origin: origin.origin,
        caPem,
        postgresDatabase: scratch?.name ?? null,
        serverProcess: spawned,
      });
      await sleep(SETTLE_MS);
      const writeAudit = await auditWrites(server.db, org.organizationId);
      return {
        database,
        loadAverage,
        poolSize: databaseUrl
          ? `${config.databasePoolSize}${workers > 1 ? ` per process, ${workers} processes` : ""}`
          : "n/a (one in-process connection)",
        measurements,
        writeAudit,
        serverLog,
      };
    } finally {
      await load.close();
      await server.stop();
    }
  } finally {
    await removeDataDir();
    unregister();
  }
}

interface ScenarioSetup {
  database: DatabaseKind;
  db: Database;
  load: LoadProcess;
  org: BenchOrg;
  origin: string;
  caPem: string;
  /** The scratch database's name, to account for its PostgreSQL processes' CPU. */
  postgresDatabase: string | null;
  serverProcess: ServerProcess | null;
}

async function runScenarios(context: BenchContext, setup: ScenarioSetup): Promise<Measurement[]> {
  const { database, db, load, org, origin, caPem } = setup;
  const { durationSeconds, say } = context;
  const cookie = `${SESSION_COOKIE}=${org.owner.token}`;
  const base = { origin, caPem, connections: CONNECTIONS };
  const measurements: Measurement[] = [];

  const readJob = (seconds: number): LoadJob => ({
    ...base,
    durationSeconds: seconds,
    headers: { cookie },
    scenario: { kind: "read", path: `/api/v1/orgs/${org.organizationId}/users?limit=50` },
  });
  say(`${database}: read warm-up (${WARMUP_SECONDS} s)`);
  const readWarmup = await load.run(readJob(WARMUP_SECONDS));
  say(`${database}: read (${durationSeconds} s)`);
  const read = await measure(setup, readJob(durationSeconds));
  say(`  ${brief(read.result)}\n  ${cpuText(read.cpu)}`);
  measurements.push({ database, scenario: "read", warmup: readWarmup, ...read });

  // Each run starts from the roles the database holds, so every PATCH really changes one.
  const writeJob = async (seconds: number): Promise<LoadJob> => {
    await sleep(SETTLE_MS);
    return {
      ...base,
      durationSeconds: seconds,
      headers: { cookie, "x-csrf-token": org.owner.csrf },
      scenario: {
        kind: "write",
        organizationId: org.organizationId,
        members: await currentRoles(db, org),
      },
    };
  };
  say(`${database}: write warm-up (${WARMUP_SECONDS} s)`);
  const writeWarmup = await load.run(await writeJob(WARMUP_SECONDS));
  say(`${database}: write (${durationSeconds} s)`);
  const write = await measure(setup, await writeJob(durationSeconds));
  say(`  ${brief(write.result)}\n  ${cpuText(write.cpu)}`);
  measurements.push({ database, scenario: "write", warmup: writeWarmup, ...write });
  return measurements;
}

/** A measured load run, with the CPU of the server (here, or its own processes) and of PostgreSQL. */
function measure(setup: ScenarioSetup, job: LoadJob) {
  const { serverProcess } = setup;
  return measureCpu({
    work: () => setup.load.run(job),
    serverCpuMs: serverProcess ? () => serverProcess.cpuMs() : thisProcessCpuMs,
    serverInThisProcess: serverProcess === null,
    loadGeneratorCpuMs: (result) => result.cpuMs,
    postgresDatabase: setup.postgresDatabase,
  });
}
