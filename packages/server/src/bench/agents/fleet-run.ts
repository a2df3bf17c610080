/** One database's agent benchmark: a seeded fleet against the real HTTPS server, scenario by scenario. */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Inventory } from "@patchpilot/protocol";
import { loadConfig } from "../../config/config.js";
import type { Database } from "../../db/database.js";
import { type RunningServer, startServer } from "../../server.js";
import { type CpuShare, measureCpu, thisProcessCpuMs } from "../common/cpu.js";
import { settledMemory } from "../common/memory.js";
import { ServerLog } from "../common/server-log.js";
import type { BenchContext } from "../suite.js";
import { machineInventory, releasePool } from "./fleet-inventory.js";
import type { InventoryRequestPlan } from "./inventory-requests.js";
import { seedFleet } from "./seed-fleet.js";
import type { SimulatorJob, SimulatorResult } from "./simulator.js";
import type { SimulatorProcess } from "./simulator-process.js";

export interface FleetScale {
  organizations: number;
  devicesPerOrganization: number;
  ingestOrganizations: number;
  ingestDevicesPerOrganization: number;
}

export const IMAGE = { size: 1800, extrasPool: 3000, extrasPerMachine: 200, churn: 0.01, seed: 7 } as const;
export const RELEASES = ["debian:12", "ubuntu:22.04"] as const;
export const CONNECTIONS = 32;
export const STORM_CONNECTIONS = 64;
export const TARGET_RATE = 5000;

export interface Measured {
  result: SimulatorResult;
  cpu: CpuShare;
  /** PostgreSQL transactions committed per second during the run (null on PGlite). */
  transactionsPerSecond: number | null;
}

export interface FleetRun {
  database: string;
  devices: number;
  organizations: number;
  warmup: Measured;
  steady: Measured;
  paced: Measured | null;
  storm: Measured;
  memory: { sessions: number; rssBefore: number; rssAfter: number; heapBefore: number; heapAfter: number };
  ingest: {
    full: Measured;
    unchanged: Measured;
    changes: Measured;
    unchangedWrites: number;
    devices: number;
  };
  loadAverage: number;
  serverLog: ServerLog;
}

export interface FleetSetup {
  database: string;
  databaseUrl: string | null;
  postgresDatabase: string | null;
  scale: FleetScale;
  simulator: SimulatorProcess;
  context: BenchContext;
}

function images(): Map<string, Inventory> {
  return new Map(
    RELEASES.map((release) => [
      release,
      machineInventory(releasePool(release, IMAGE.size, IMAGE.extrasPool, IMAGE.seed + release.length), 0, 1),
    ]),
  );
}

async function committedTransactions(db: Database): Promise<number | null> {
  if (db.kind !== "postgres") return null;
  const rows = await db.owner.query<{ n: number }>(
    "SELECT xact_commit::int8 AS n FROM pg_stat_database WHERE datname = current_database()",
  );
  return Number(rows[0]?.n ?? 0);
}

/** Rows written to the inventory tables since `since` (an unchanged inventory must write none). */
async function inventoryWrites(db: Database, since: Date): Promise<number> {
  const rows = await db.owner.query<{ n: number }>(
    `SELECT ((SELECT count(*) FROM device_inventories WHERE updated_at >= $1)
           + (SELECT count(*) FROM package_sets WHERE created_at >= $1)
           + (SELECT count(*) FROM software WHERE first_seen_at >= $1)
           + (SELECT count(*) FROM agent_reports WHERE received_at >= $1)
           + (SELECT count(*) FROM device_events WHERE occurred_at >= $1 AND event_type LIKE 'inventory.%'))::int AS n`,
    [since],
  );
  return rows[0]?.n ?? 0;
}

export async function runFleet(setup: FleetSetup): Promise<FleetRun> {
  const { context, scale, simulator } = setup;
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "pp-bench-agents-"));
  const unregister = context.onInterrupt(() => rm(dataDir, { recursive: true, force: true }));
  const serverLog = new ServerLog();
  const config = loadConfig({
    PATCHPILOT_DATA_DIR: dataDir,
    PATCHPILOT_PORT: "0",
    PATCHPILOT_LOG_LEVEL: "warn",
    PATCHPILOT_FEED_SYNC: "off",
    DATABASE_URL: setup.databaseUrl ?? undefined,
  });
  let server: RunningServer = await startServer(config, serverLog);
  try {
    const say = (text: string) => context.say(`${setup.database}: ${text}`);
    const loadAverage = os.loadavg()[0] ?? 0;
    const caPem = await readFile(path.join(dataDir, "tls", "ca.crt"), "utf8");
    const origin = () => {
      const url = new URL(server.url);
      url.hostname = "localhost";
      return url.origin;
    };
    const measure = async (job: SimulatorJob): Promise<Measured> => {
      const before = await committedTransactions(server.db);
      const { result, cpu } = await measureCpu({
        work: () => simulator.run(job),
        serverCpuMs: thisProcessCpuMs,
        serverInThisProcess: true,
        loadGeneratorCpuMs: (r) => r.cpuMs,
        postgresDatabase: setup.postgresDatabase,
      });
      // PostgreSQL's statistics trail the commits by up to half a second.
      await sleep(1000);
      const after = await committedTransactions(server.db);
      const transactionsPerSecond =
        before === null || after === null ? null : (after - before) / result.durationSeconds;
      return { result, cpu, transactionsPerSecond };
    };

    const devices = scale.organizations * scale.devicesPerOrganization;
    say(`seeding ${devices.toLocaleString("en-US")} devices in ${scale.organizations} organisations`);
    const fleet = await seedFleet(server.db, {
      organizations: scale.organizations,
      devicesPerOrganization: scale.devicesPerOrganization,
      images: images(),
    });
    const base = {
      origin: origin(),
      caPem,
      devices: fleet.devices,
      ratePerSecond: 0,
      mode: "keep-alive" as const,
    };
    const memoryBefore = settledMemory();
    say("warm-up: every device checks in once (its token is looked up in the database)");
    const warmup = await measure({ ...base, connections: CONNECTIONS, durationSeconds: 0, once: true });
    await server.app.devices.presence.flush();
    const memoryAfter = settledMemory();
    const memory = {
      sessions: server.app.devices.sessions.size,
      rssBefore: memoryBefore.rss,
      rssAfter: memoryAfter.rss,
      heapBefore: memoryBefore.heapUsed,
      heapAfter: memoryAfter.heapUsed,
    };
    say(`steady check-ins (${context.durationSeconds} s, ${CONNECTIONS} connections, as fast as answered)`);
    const steady = await measure({
      ...base,
      connections: CONNECTIONS,
      durationSeconds: context.durationSeconds,
    });
    let paced: Measured | null = null;
    if (setup.databaseUrl) {
      say(`steady check-ins at ${TARGET_RATE}/s (${context.durationSeconds} s)`);
      paced = await measure({
        ...base,
        connections: 64,
        durationSeconds: context.durationSeconds,
        ratePerSecond: TARGET_RATE,
      });
    }

    say("restart, then a reconnect storm: every check-in on a new TLS connection");
    await server.stop();
    server = await startServer(config, serverLog);
    const storm = await measure({
      ...base,
      origin: origin(),
      connections: STORM_CONNECTIONS,
      durationSeconds: context.durationSeconds,
      mode: "reconnect",
    });

    const ingestDevices = scale.ingestOrganizations * scale.ingestDevicesPerOrganization;
    say(`inventory ingest: ${ingestDevices} new devices`);
    const ingestFleet = await seedFleet(server.db, {
      organizations: scale.ingestOrganizations,
      devicesPerOrganization: scale.ingestDevicesPerOrganization,
      images: images(),
      withInventory: false,
    });
    // Their first check-in puts their tokens in the cache, as it would for a newly enrolled agent.
    await measure({
      ...base,
      origin: origin(),
      devices: ingestFleet.devices,
      connections: 8,
      durationSeconds: 0,
      once: true,
    });
    const plan = (kind: InventoryRequestPlan["kind"]): InventoryRequestPlan => ({
      kind,
      devices: ingestFleet.devices.map((d, i) => ({
        deviceId: d.deviceId,
        token: d.token,
        release: RELEASES[Math.floor(i / scale.ingestDevicesPerOrganization) % RELEASES.length] as string,
        seed: 1000 + i,
      })),
      imageSize: IMAGE.size,
      extrasPool: IMAGE.extrasPool,
      extrasPerMachine: IMAGE.extrasPerMachine,
      churn: IMAGE.churn,
      poolSeed: IMAGE.seed,
    });
    const ingest = { ...base, origin: origin(), devices: [], connections: 8, durationSeconds: 0 };
    const full = await measure({ ...ingest, generate: plan("full") });
    const since = (await server.db.owner.query<{ now: Date }>("SELECT now() AS now"))[0]?.now ?? new Date();
    const unchanged = await measure({ ...ingest, generate: plan("unchanged") });
    const unchangedWrites = await inventoryWrites(server.db, since);
    const changes = await measure({ ...ingest, connections: 16, generate: plan("changes") });
    return {
      database: setup.database,
      devices,
      organizations: scale.organizations,
      warmup,
      steady,
      paced,
      storm,
      memory,
      ingest: { full, unchanged, changes, unchangedWrites, devices: ingestDevices },
      loadAverage,
      serverLog,
    };
  } finally {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
    unregister();
  }
}
