/**
 * The rollouts suite, on PostgreSQL: plan a two-ring rollout over 100,000 devices (group filters,
 * a maintenance window, another organisation's fleet beside it); dispatch a wave to all of them
 * while the fleet checks in, against the same check-ins without a rollout; how many targeted
 * devices learned of their job within one check-in; and job results ingested per second.
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import type { Inventory, PatchJobResult } from "@patchpilot/protocol";
import { loadConfig } from "../../config/config.js";
import type { Database } from "../../db/database.js";
import { csrfTokenFor, openSession, SESSION_COOKIE } from "../../identity/sessions.js";
import { type RunningServer, startServer } from "../../server.js";
import { machineInventory, releasePool } from "../agents/fleet-inventory.js";
import { CONNECTIONS, IMAGE, RELEASES } from "../agents/fleet-run.js";
import { BENCH_CONTEXT, seedFleet } from "../agents/seed-fleet.js";
import type { SimulatedDevice, SimulatedRequest, SimulatorResult } from "../agents/simulator.js";
import { SimulatorProcess } from "../agents/simulator-process.js";
import { markdownTable, ms, textTable, wholeRate } from "../common/format.js";
import { ServerLog } from "../common/server-log.js";
import type { BenchContext, Suite, SuiteReport, TargetVerdict } from "../suite.js";

const TITLE = "Rollouts: planning, dispatch under check-ins, result ingest";
const DEVICES = Number(process.env.BENCH_ROLLOUTS_DEVICES ?? 100_000);
const OTHER_ORG_DEVICES = Math.max(1000, Math.round(DEVICES / 20));
const RESULTS = Math.min(DEVICES, Number(process.env.BENCH_ROLLOUTS_RESULTS ?? 20_000));

interface Figures {
  devices: number;
  planSeconds: number;
  planned: number;
  dispatchSeconds: number;
  baseline: SimulatorResult;
  duringDispatch: SimulatorResult;
  learned: { targeted: number; delivered: number };
  results: SimulatorResult;
  resultsApplied: number;
}

function image(release: string): Inventory {
  return machineInventory(
    releasePool(release, IMAGE.size, IMAGE.extrasPool, IMAGE.seed + release.length),
    0,
    1,
  );
}

async function ownerSession(db: Database, organizationId: string) {
  return db.system(
    BENCH_CONTEXT,
    async (tx) => {
      const owner = await tx.db
        .selectFrom("memberships")
        .select("user_id")
        .where("organization_id", "=", organizationId)
        .where("role", "=", "owner")
        .executeTakeFirstOrThrow();
      const { token } = await openSession(tx, owner.user_id, {
        ip: "127.0.0.1",
        userAgent: "patchpilot-bench",
      });
      return { cookie: `${SESSION_COOKIE}=${token}`, "x-csrf-token": csrfTokenFor(token) };
    },
    { unaudited: "a session opened by the benchmark, not a sign-in" },
  );
}

/** A group of the organisation holding the devices from `from` (inclusive) to `to` (exclusive) in id order. */
async function seedGroup(db: Database, organizationId: string, name: string, deviceIds: string[]) {
  const rows = await db.owner.query<{ id: string }>(
    "INSERT INTO device_groups (organization_id, name) VALUES ($1, $2) RETURNING id",
    [organizationId, name],
  );
  const groupId = rows[0]?.id as string;
  await db.owner.query(
    `INSERT INTO device_group_members (organization_id, group_id, device_id)
     SELECT $1, $2, unnest($3::uuid[])`,
    [organizationId, groupId, deviceIds],
  );
  return groupId;
}

const patchResult = (): PatchJobResult => ({
  packageManager: "apt",
  preUpdate: { status: "skipped", exitCode: null, log: "" },
  install: { exitCode: 0, log: "Setting up openssl (3.0.15-1~deb12u1) ..." },
  healthCheck: { status: "skipped", exitCode: null, log: "" },
  rollback: { status: "skipped", exitCode: null, log: "" },
  packages: [
    { name: "openssl", fromVersion: "3.0.14-1~deb12u2", toVersion: "3.0.15-1~deb12u1", result: "installed" },
  ],
  rebootRequired: false,
  rebooting: false,
});

async function benchRollouts(
  context: BenchContext,
  databaseUrl: string,
  simulator: SimulatorProcess,
): Promise<Figures> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "pp-bench-rollouts-"));
  const unregister = context.onInterrupt(() => rm(dataDir, { recursive: true, force: true }));
  const config = loadConfig({
    PATCHPILOT_DATA_DIR: dataDir,
    PATCHPILOT_PORT: "0",
    PATCHPILOT_LOG_LEVEL: "warn",
    PATCHPILOT_FEED_SYNC: "off",
    DATABASE_URL: databaseUrl,
  });
  let server: RunningServer | null = null;
  try {
    server = await startServer(config, new ServerLog());
    const { db, app } = server;
    const say = (text: string) => context.say(`PostgreSQL: ${text}`);
    const images = new Map(RELEASES.map((r) => [r, image(r)]));
    say(
      `seeding ${DEVICES.toLocaleString("en-US")} devices, and ${OTHER_ORG_DEVICES} in another organisation`,
    );
    const fleet = await seedFleet(db, { organizations: 1, devicesPerOrganization: DEVICES, images });
    await seedFleet(db, { organizations: 1, devicesPerOrganization: OTHER_ORG_DEVICES, images });
    const organizationId = fleet.organizations[0]?.organizationId as string;
    const ids = fleet.devices.map((d) => d.deviceId);
    const testCount = Math.max(1, Math.round(DEVICES / 100));
    const testGroup = await seedGroup(db, organizationId, "test", ids.slice(0, testCount));
    const productionGroup = await seedGroup(db, organizationId, "production", ids.slice(testCount));
    // Every device is also in this group: a device named by two rings belongs to the first.
    const everyone = await seedGroup(db, organizationId, "everyone", ids);
    await db.owner.query("ANALYZE");
    const headers = await ownerSession(db, organizationId);
    const api = async (method: "GET" | "POST", url: string, body?: unknown) => {
      const reply = await app.inject({
        method,
        url: `/api/v1/orgs/${organizationId}${url}`,
        headers: { ...headers, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
      });
      if (reply.statusCode >= 300) throw new Error(`${method} ${url}: ${reply.statusCode} ${reply.body}`);
      return reply.body ? reply.json() : null;
    };
    // Open all day, every day, in the organisation's time zone: the devices are in their window.
    const window = await api("POST", "/maintenance-windows", {
      name: "always",
      schedule: "0 0 * * *",
      timeZone: "Europe/Berlin",
      durationMinutes: 1440,
    });

    say("planning a two-ring rollout");
    const planStarted = performance.now();
    const planned = await api("POST", "/rollouts", {
      name: "Planned wave",
      mode: "security",
      windowId: window.id,
      rings: [
        { name: "test", groupIds: [testGroup], soakMinutes: 0 },
        { name: "production", groupIds: [productionGroup, everyone], soakMinutes: 0 },
      ],
    });
    const planSeconds = (performance.now() - planStarted) / 1000;
    const plannedCount = (planned.rings as { counts: { total: number } }[]).reduce(
      (n, r) => n + r.counts.total,
      0,
    );
    await api("POST", `/rollouts/${planned.id}/cancel`, { reason: "planning measured" });

    const checkIns = (durationSeconds: number, once = false, devices: SimulatedDevice[] = fleet.devices) => {
      const url = new URL(server?.url ?? "");
      url.hostname = "localhost";
      return readFile(path.join(dataDir, "tls", "ca.crt"), "utf8").then((caPem) =>
        simulator.run({
          origin: url.origin,
          caPem,
          devices,
          connections: CONNECTIONS,
          durationSeconds,
          ratePerSecond: 0,
          mode: "keep-alive",
          ...(once ? { once: true } : {}),
        }),
      );
    };
    say("warm-up: every device checks in once");
    await checkIns(0, true);
    say(`steady check-ins without a rollout (${context.durationSeconds} s)`);
    const baseline = await checkIns(context.durationSeconds);

    say(`a wave to all ${DEVICES.toLocaleString("en-US")} devices, dispatched while they check in`);
    const during = checkIns(context.durationSeconds);
    const dispatchStarted = performance.now();
    const wave = await api("POST", "/rollouts", {
      name: "Wave",
      mode: "security",
      windowId: window.id,
      rings: [{ name: "everyone", groupIds: [everyone], soakMinutes: 0 }],
    });
    let dispatchSeconds = Number.NaN;
    for (;;) {
      const rows = await db.owner.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM rollout_devices WHERE rollout_id = $1 AND state = 'pending'",
        [wave.id],
      );
      if ((rows[0]?.n ?? 1) === 0) {
        dispatchSeconds = (performance.now() - dispatchStarted) / 1000;
        break;
      }
      if (performance.now() - dispatchStarted > 600_000) break;
      await sleep(100);
    }
    const duringDispatch = await during;

    say("one more check-in of every device: who has learned of its job");
    await checkIns(0, true);
    const learnedRows = await db.owner.query<{ targeted: number; delivered: number }>(
      `SELECT count(*)::int AS targeted, count(*) FILTER (WHERE j.delivered_at IS NOT NULL)::int AS delivered
         FROM rollout_devices rd JOIN device_jobs j ON j.id = rd.job_id WHERE rd.rollout_id = $1`,
      [wave.id],
    );

    say(`${RESULTS.toLocaleString("en-US")} job results`);
    const jobs = await db.owner.query<{ id: string; device_id: string }>(
      `SELECT j.id, j.device_id FROM rollout_devices rd JOIN device_jobs j ON j.id = rd.job_id
        WHERE rd.rollout_id = $1 AND j.delivered_at IS NOT NULL LIMIT $2`,
      [wave.id, RESULTS],
    );
    const tokens = new Map(fleet.devices.map((d) => [d.deviceId, d.token]));
    const now = new Date().toISOString();
    const patch = patchResult();
    const requests: SimulatedRequest[] = jobs.map((j) => ({
      method: "POST",
      path: `/api/v1/agent/devices/${j.device_id}/job-results`,
      token: tokens.get(j.device_id) as string,
      body: JSON.stringify({
        reportId: randomUUID(),
        jobId: j.id,
        outcome: "succeeded",
        startedAt: now,
        finishedAt: now,
        summary: "openssl 3.0.15-1~deb12u1 installed",
        patch,
      }),
    }));
    const caPem = await readFile(path.join(dataDir, "tls", "ca.crt"), "utf8");
    const origin = new URL(server.url);
    origin.hostname = "localhost";
    const results = await simulator.run({
      origin: origin.origin,
      caPem,
      devices: [],
      requests,
      connections: 16,
      durationSeconds: 0,
      ratePerSecond: 0,
      mode: "keep-alive",
    });
    const applied = await db.owner.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM rollout_devices WHERE rollout_id = $1 AND state = 'succeeded'",
      [wave.id],
    );
    return {
      devices: DEVICES,
      planSeconds,
      planned: plannedCount,
      dispatchSeconds,
      baseline,
      duringDispatch,
      learned: learnedRows[0] ?? { targeted: 0, delivered: 0 },
      results,
      resultsApplied: applied[0]?.n ?? 0,
    };
  } finally {
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
    unregister();
  }
}

const HEADER = ["measure", "value"];
const ALIGN = ["left", "right"] as const;

function rows(f: Figures): string[][] {
  const drop = 1 - f.duringDispatch.okPerSecond / f.baseline.okPerSecond;
  return [
    [
      "devices in the organisation (+ another organisation's)",
      `${f.devices.toLocaleString("en-US")} (+${OTHER_ORG_DEVICES})`,
    ],
    [
      "plan a two-ring rollout (devices placed)",
      `${f.planSeconds.toFixed(2)} s (${f.planned.toLocaleString("en-US")})`,
    ],
    ["dispatch a wave to every device (jobs queued)", `${f.dispatchSeconds.toFixed(1)} s`],
    [
      "steady check-ins, no rollout",
      `${wholeRate(f.baseline.okPerSecond)}/s, p99 ${ms(f.baseline.latencyMs.p99)}`,
    ],
    [
      "steady check-ins while the wave dispatches",
      `${wholeRate(f.duringDispatch.okPerSecond)}/s, p99 ${ms(f.duringDispatch.latencyMs.p99)} (${(drop * 100).toFixed(1)} % lower)`,
    ],
    [
      "targeted devices that had their job after one check-in",
      `${f.learned.delivered.toLocaleString("en-US")} of ${f.learned.targeted.toLocaleString("en-US")}`,
    ],
    [
      "job results ingested (16 connections)",
      `${wholeRate(f.results.okPerSecond)}/s, p99 ${ms(f.results.latencyMs.p99)} (${f.results.ok} ok, ${f.resultsApplied} applied)`,
    ],
  ];
}

function judge(f: Figures): TargetVerdict[] {
  const drop = 1 - f.duringDispatch.okPerSecond / f.baseline.okPerSecond;
  const verdict = (met: boolean, text: string) => ({ met, text: `${text}: ${met ? "met" : "NOT met"}` });
  return [
    verdict(
      f.planSeconds <= 5,
      `plan ${f.planned.toLocaleString("en-US")} devices in two rings ≤ 5 s (${f.planSeconds.toFixed(2)} s)`,
    ),
    verdict(
      drop <= 0.1,
      `check-in rate drops ≤ 10 % while a rollout dispatches (${(drop * 100).toFixed(1)} %)`,
    ),
    verdict(
      f.learned.delivered === f.learned.targeted && f.learned.targeted > 0,
      `every targeted device learns of its job within one check-in (${f.learned.delivered}/${f.learned.targeted})`,
    ),
    verdict(f.results.okPerSecond >= 2000, `job results ≥ 2,000/s (${wholeRate(f.results.okPerSecond)}/s)`),
  ];
}

async function run(context: BenchContext): Promise<SuiteReport> {
  const simulator = new SimulatorProcess();
  try {
    const scratch = await context.scratchDatabase();
    let figures: Figures;
    try {
      figures = await benchRollouts(context, scratch.url, simulator);
    } finally {
      await scratch.drop();
    }
    const targets = judge(figures);
    const markdown = [
      `## ${TITLE}`,
      "",
      `Measured by \`npm run bench -- rollouts\` on PostgreSQL (${os.cpus().length} cores), the real HTTPS server`,
      "in the bench process and the agent simulator in its own. The organisation's devices are in a",
      "`test` group (1 %), a `production` group (the rest) and an `everyone` group; another",
      "organisation's fleet sits beside them. Planning is the `POST …/rollouts` of a two-ring rollout",
      "(every device in the first ring that names it, inside an always-open maintenance window);",
      "the wave is a one-ring rollout to every device, created while the whole fleet checks in as fast",
      "as it is answered. Job results are posted as agents post them, each applied to its rollout.",
      `Scale: BENCH_ROLLOUTS_DEVICES=${DEVICES}, BENCH_ROLLOUTS_RESULTS=${RESULTS}.`,
      "",
      markdownTable(HEADER, [...ALIGN], rows(figures)),
      "",
      ...targets.map((t) => `- ${t.text}`),
    ].join("\n");
    return { markdown, targets, summary: textTable(HEADER, [...ALIGN], rows(figures)) };
  } finally {
    await simulator.close();
  }
}

export const rolloutsSuite: Suite = { name: "rollouts", title: TITLE, run };
