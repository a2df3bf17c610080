/**
 * The agents suite: a seeded fleet of simulated agents against the real HTTPS server — steady
 * check-ins, a reconnect storm after a restart, server memory per device, and inventory ingest —
 * with a bare node:http server as the yardstick, on PostgreSQL and (smaller) on PGlite.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { ensureTlsMaterial } from "../../tls/certificate-authority.js";
import { httpsServerOptions } from "../../tls/server-options.js";
import type { BenchContext, Suite, SuiteReport } from "../suite.js";
import { startBareServer } from "./bare-server.js";
import { CONNECTIONS, type FleetRun, runFleet } from "./fleet-run.js";
import { type Baselines, judgeTargets, markdownReport, summary } from "./report.js";
import type { SimulatorResult } from "./simulator.js";
import { SimulatorProcess } from "./simulator-process.js";

const TITLE = "Agents: check-ins, reconnect storm, memory, inventory ingest";

async function baselines(context: BenchContext, simulator: SimulatorProcess): Promise<Baselines> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "pp-bench-bare-"));
  try {
    const tls = await ensureTlsMaterial({ tlsDir: dir, hostnames: ["localhost"] });
    const devices = Array.from({ length: 1000 }, (_, i) => ({
      deviceId: crypto.randomUUID(),
      token: `ppdt_bare${i}`,
      bootedAt: Date.now(),
      body: JSON.stringify({
        facts: { hostname: `bare-${i}`, uptimeSeconds: 0 },
        inventoryHash: "0".repeat(64),
      }),
    }));
    const results: Partial<Record<"http" | "https", SimulatorResult>> = {};
    for (const kind of ["http", "https"] as const) {
      const server = await startBareServer(kind === "https" ? httpsServerOptions(tls) : null);
      try {
        context.say(
          `baseline: bare node:${kind} JSON server (${context.durationSeconds} s, ${CONNECTIONS} connections)`,
        );
        results[kind] = await simulator.run({
          origin: server.origin,
          caPem: kind === "https" ? tls.caCert : null,
          devices,
          connections: CONNECTIONS,
          durationSeconds: context.durationSeconds,
          ratePerSecond: 0,
          mode: "keep-alive",
        });
      } finally {
        await server.close();
      }
    }
    if (!results.http || !results.https) throw new Error("a baseline did not run");
    return { http: results.http, https: results.https };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function run(context: BenchContext): Promise<SuiteReport> {
  const simulator = new SimulatorProcess();
  const runs: FleetRun[] = [];
  const skipped: string[] = [];
  try {
    const bare = await baselines(context, simulator);
    let scratch: Awaited<ReturnType<BenchContext["scratchDatabase"]>> | null = null;
    try {
      scratch = await context.scratchDatabase();
    } catch (error) {
      skipped.push(`PostgreSQL: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (scratch) {
      try {
        runs.push(
          await runFleet({
            database: "PostgreSQL",
            databaseUrl: scratch.url,
            postgresDatabase: scratch.name,
            scale: {
              organizations: 100,
              devicesPerOrganization: 1000,
              ingestOrganizations: 10,
              ingestDevicesPerOrganization: 100,
            },
            simulator,
            context,
          }),
        );
      } finally {
        await scratch.drop();
      }
    }
    runs.push(
      await runFleet({
        database: "PGlite",
        databaseUrl: null,
        postgresDatabase: null,
        scale: {
          organizations: 10,
          devicesPerOrganization: 1000,
          ingestOrganizations: 2,
          ingestDevicesPerOrganization: 50,
        },
        simulator,
        context,
      }),
    );
    const targets = judgeTargets(runs, bare);
    return {
      markdown: markdownReport(TITLE, runs, bare, skipped, scratch),
      targets,
      summary: summary(runs, bare),
    };
  } finally {
    await simulator.close();
  }
}

export const agentsSuite: Suite = { name: "agents", title: TITLE, run };
