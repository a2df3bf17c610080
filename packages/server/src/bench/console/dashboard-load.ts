import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { type Browser, chromium } from "playwright-core";
import { loadConfig } from "../../config/config.js";
import { runUpkeep } from "../../db/upkeep.js";
import { openSession, SESSION_COOKIE } from "../../identity/sessions.js";
import { createUser } from "../../organizations/create-organization.js";
import { type RunningServer, startServer } from "../../server.js";
import { machineInventory, releasePool } from "../agents/fleet-inventory.js";
import { seedFleet } from "../agents/seed-fleet.js";
import type { BenchContext, ScratchDatabase } from "../suite.js";

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const address = probe.address();
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  if (!address || typeof address === "string") throw new Error("no free port");
  return address.port;
}

export const DEVICES = 10_000;
export const LOADS = 5;
const CONTEXT = { actor: { type: "system", id: null }, requestId: null, ip: null, userAgent: null } as const;

export interface DashboardRun {
  database: string;
  devices: number;
  findings: number;
  /** Navigation to a dashboard showing its counts and its three charts, each in a fresh browser profile (no cache). */
  coldMs: number[];
  /** The same with the browser's cache warm (a reload). */
  warmMs: number[];
  /** The two API answers the dashboard waits for, as the browser timed them on the cold loads. */
  apiMs: number[];
}

/** 10,000 devices in one organisation, three open findings each, and an Owner with a session. */
async function seed(
  server: RunningServer,
): Promise<{ organizationId: string; token: string; findings: number }> {
  const db = server.db;
  const image = machineInventory(releasePool("debian:12", 120, 0, 7), 0, 7);
  const fleet = await seedFleet(db, {
    organizations: 1,
    devicesPerOrganization: DEVICES,
    images: new Map([["debian:12", image]]),
  });
  const organizationId = fleet.organizations[0]?.organizationId ?? "";
  // Findings written in bulk as the owner, like the fleet: matching 10,000 devices is another suite's measure.
  await db.owner.query(
    `INSERT INTO vulnerabilities (id, severity, cvss_v3_score)
     SELECT 'CVE-2099-' || lpad(g::text, 4, '0'), (ARRAY['critical','high','medium','low'])[1 + g % 4], 4 + g % 6
     FROM generate_series(1, 12) g ON CONFLICT (id) DO NOTHING`,
  );
  await db.owner.query(
    `INSERT INTO findings (organization_id, device_id, vulnerability_id, package_name, software_id,
       installed_version, fixed_version, range_status, severity, risk, sla_due_at)
     SELECT d.organization_id, d.id, v.id, s.name, s.id, s.version, s.version || '+fix', 'affected', v.severity,
       40 + k, now() + make_interval(days => (k * 7) - 10)
     FROM devices d
     CROSS JOIN generate_series(1, 3) k
     JOIN LATERAL (SELECT id, name, version FROM software WHERE organization_id = d.organization_id ORDER BY id
       OFFSET k LIMIT 1) s ON true
     JOIN vulnerabilities v ON v.id = 'CVE-2099-' || lpad((1 + (abs(hashtext(d.id::text)) + k) % 12)::text, 4, '0')
     WHERE d.organization_id = $1`,
    [organizationId],
  );
  // Statistics as a running server has them a few minutes after a bulk load: from the embedded
  // database's upkeep job, or from autovacuum on PostgreSQL.
  if (db.kind === "pglite") await runUpkeep(db.owner);
  else await db.owner.exec("ANALYZE");
  const [count] = await db.owner.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM findings WHERE organization_id = $1",
    [organizationId],
  );
  const token = await db.system(CONTEXT, async (tx) => {
    const userId = await createUser(tx, {
      email: "dashboard-owner@bench.example",
      name: "Bench Owner",
      passwordHash: "!",
    });
    await tx.db
      .insertInto("memberships")
      .values({ organization_id: organizationId, user_id: userId, role: "owner" })
      .execute();
    tx.audit(organizationId, {
      action: "users.added",
      target: { type: "user", id: userId },
      details: { role: "owner" },
    });
    return (await openSession(tx, userId, { ip: "127.0.0.1", userAgent: "patchpilot-bench" })).token;
  });
  return { organizationId, token, findings: count?.n ?? 0 };
}

async function loadDashboard(
  browser: Browser,
  server: RunningServer,
  organizationId: string,
  token: string,
): Promise<{ cold: number; warm: number; api: number }> {
  const context = await browser.newContext({
    ignoreHTTPSErrors: true,
    viewport: { width: 1280, height: 800 },
  });
  try {
    await context.addCookies([
      { name: SESSION_COOKIE, value: token, url: server.url, secure: true, httpOnly: true, sameSite: "Lax" },
    ]);
    const page = await context.newPage();
    const url = `${server.url}/orgs/${organizationId}/dashboard`;
    const ready = async () => {
      await page.locator(".stat-value").first().waitFor();
      await page.locator(".recharts-wrapper").nth(2).waitFor();
    };
    let started = performance.now();
    await page.goto(url);
    await ready();
    const cold = performance.now() - started;
    const api = await page.evaluate<number>(
      `Math.max(...performance.getEntriesByType("resource").filter((e) => /\\/(dashboard|findings\\/summary)$/.test(e.name)).map((e) => e.duration))`,
    );
    started = performance.now();
    await page.reload();
    await ready();
    return { cold, warm: performance.now() - started, api };
  } finally {
    await context.close();
  }
}

/** Starts the real HTTPS server on the database, seeds the fleet, and times the dashboard in chromium. */
export async function measureDashboard(
  context: BenchContext,
  database: string,
  scratch: ScratchDatabase | null,
): Promise<DashboardRun> {
  const dataDir = await mkdtemp(path.join(tmpdir(), "pp-bench-console-"));
  const undo = context.onInterrupt(() => rm(dataDir, { recursive: true, force: true }));
  const quiet = new Writable({ write: (_c, _e, done) => done() });
  const server = await startServer(
    loadConfig({
      PATCHPILOT_DATA_DIR: dataDir,
      PATCHPILOT_PORT: String(await freePort()),
      PATCHPILOT_LOG_LEVEL: "warn",
      PATCHPILOT_FEED_SYNC: "off",
      PATCHPILOT_BACKGROUND_WORK: "off",
      ...(scratch ? { DATABASE_URL: scratch.url } : {}),
    }),
    quiet,
  );
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
  try {
    context.say(`${database}: seeding ${DEVICES.toLocaleString("en-US")} devices`);
    const seeded = await seed(server);
    const run: DashboardRun = {
      database,
      devices: DEVICES,
      findings: seeded.findings,
      coldMs: [],
      warmMs: [],
      apiMs: [],
    };
    await loadDashboard(browser, server, seeded.organizationId, seeded.token); // warms the server, not measured
    for (let i = 0; i < LOADS; i++) {
      const load = await loadDashboard(browser, server, seeded.organizationId, seeded.token);
      run.coldMs.push(load.cold);
      run.warmMs.push(load.warm);
      run.apiMs.push(load.api);
    }
    return run;
  } finally {
    await browser.close();
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
    undo();
  }
}
