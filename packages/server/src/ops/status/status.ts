import { sql } from "kysely";
import Type from "typebox";
import type { Config } from "../../config/config.js";
import type { Database } from "../../db/database.js";
import { SYSTEM_WORK } from "../../db/unit-of-work.js";
import { defineRoute, type RouteDefinition } from "../../http/route.js";
import type { JobRunner } from "../../jobs/job-runner.js";

export const STATUS_PROBE_JOB = "ops.status_probe";
export const COMPONENTS = ["api", "agent_gateway", "jobs", "feeds"] as const;
export type Component = (typeof COMPONENTS)[number];
const LABELS: Record<Component, string> = {
  api: "API",
  agent_gateway: "Agent gateway",
  jobs: "Job processing",
  feeds: "Vulnerability feeds",
};
const DAY_MS = 86_400_000;
const UNAUDITED = "the server's own uptime probes; no organisation's data";

async function timed(check: () => Promise<boolean>): Promise<{ up: boolean; latencyMs: number }> {
  const started = performance.now();
  try {
    const up = await Promise.race([
      check(),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5000).unref()),
    ]);
    return { up, latencyMs: Math.round(performance.now() - started) };
  } catch {
    return { up: false, latencyMs: Math.round(performance.now() - started) };
  }
}

/**
 * One probe of each component, as the status page shows them: the API answers from its database;
 * the agent gateway can read the presence store check-ins write; no job has waited more than ten
 * minutes past its time; no synced feed has gone 48 hours without success.
 */
export async function probeOnce(
  db: Database,
  config: Config,
  at = new Date(),
): Promise<Record<Component, boolean>> {
  const reader = db.systemReader;
  const results: Record<Component, { up: boolean; latencyMs: number }> = {
    api: await timed(async () => {
      await db.ping();
      return true;
    }),
    agent_gateway: await timed(async () => {
      await reader.selectFrom("device_presence").select("device_id").limit(1).execute();
      return true;
    }),
    jobs: await timed(async () => {
      const late = await reader
        .selectFrom("jobs")
        .select("id")
        .where("state", "=", "queued")
        .where("run_at", "<", sql<Date>`now() - interval '10 minutes'`)
        .limit(1)
        .execute();
      return late.length === 0;
    }),
    feeds: await timed(async () => {
      if (!config.feedSync) return true;
      const stale = await reader
        .selectFrom("feed_state")
        .select("feed")
        .where((eb) =>
          eb.or([
            eb("last_success_at", "is", null),
            eb("last_success_at", "<", sql<Date>`now() - interval '48 hours'`),
          ]),
        )
        .where("last_attempt_at", "is not", null)
        .limit(1)
        .execute();
      return stale.length === 0;
    }),
  };
  await db.system(
    SYSTEM_WORK,
    async (tx) => {
      await tx.db
        .insertInto("status_probes")
        .values(
          COMPONENTS.map((component) => ({
            component,
            probed_at: at,
            up: results[component].up,
            latency_ms: results[component].latencyMs,
          })),
        )
        .onConflict((oc) => oc.doNothing())
        .execute();
      await tx.db
        .deleteFrom("status_probes")
        .where("probed_at", "<", new Date(at.getTime() - 90 * DAY_MS))
        .execute();
    },
    { unaudited: UNAUDITED },
  );
  return Object.fromEntries(COMPONENTS.map((c) => [c, results[c].up])) as Record<Component, boolean>;
}

export function registerStatusProbe(db: Database, jobs: JobRunner, config: Config): void {
  jobs.register(STATUS_PROBE_JOB, async () => {
    await probeOnce(db, config);
  });
  jobs.schedule({ kind: STATUS_PROBE_JOB, everyMs: 60_000 });
}

export interface ComponentStatus {
  component: Component;
  name: string;
  up: boolean | null;
  lastProbedAt: string | null;
  uptime90d: number | null;
  days: { date: string; uptime: number | null }[];
}

export interface StatusReport {
  status: "operational" | "degraded" | "unknown";
  generatedAt: string;
  components: ComponentStatus[];
}

/** Current state and 90 days of uptime per component, from the probes alone. */
export async function statusReport(db: Database, now = new Date()): Promise<StatusReport> {
  const since = new Date(now.getTime() - 90 * DAY_MS);
  const daily = await db.systemReader
    .selectFrom("status_probes")
    .select([
      "component",
      sql<string>`to_char(probed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')`.as("day"),
      sql<number>`count(*) FILTER (WHERE up)`.as("up"),
      sql<number>`count(*)`.as("total"),
    ])
    .where("probed_at", ">=", since)
    .groupBy(["component", "day"])
    .execute();
  const latest = await db.systemReader
    .selectFrom("status_probes")
    .select(["component", "up", "probed_at"])
    .distinctOn("component")
    .orderBy("component")
    .orderBy("probed_at", "desc")
    .execute();
  const days: string[] = [];
  for (let i = 89; i >= 0; i--) days.push(new Date(now.getTime() - i * DAY_MS).toISOString().slice(0, 10));
  const components = COMPONENTS.map((component): ComponentStatus => {
    const rows = daily.filter((r) => r.component === component);
    const up = rows.reduce((a, r) => a + Number(r.up), 0);
    const total = rows.reduce((a, r) => a + Number(r.total), 0);
    const last = latest.find((r) => r.component === component);
    return {
      component,
      name: LABELS[component],
      up: last ? last.up : null,
      lastProbedAt: last ? last.probed_at.toISOString() : null,
      uptime90d: total > 0 ? Math.round((up / total) * 100_000) / 1000 : null,
      days: days.map((date) => {
        const r = rows.find((x) => x.day === date);
        return { date, uptime: r ? Math.round((Number(r.up) / Number(r.total)) * 100_000) / 1000 : null };
      }),
    };
  });
  const status = components.some((c) => c.up === null)
    ? components.every((c) => c.up === null)
      ? "unknown"
      : components.some((c) => c.up === false)
        ? "degraded"
        : "operational"
    : components.every((c) => c.up)
      ? "operational"
      : "degraded";
  return { status, generatedAt: now.toISOString(), components };
}

function statusPage(report: StatusReport): string {
  const cell = (uptime: number | null) => {
    const colour =
      uptime === null ? "#ddd" : uptime >= 99.9 ? "#2e9e4f" : uptime >= 95 ? "#e0a000" : "#c62828";
    return `<span class="d" style="background:${colour}"></span>`;
  };
  const rows = report.components
    .map(
      (c) => `<section><h2>${c.name} <small>${c.up === null ? "no data" : c.up ? "up" : "DOWN"}</small></h2>
<div class="bar" title="90 days">${c.days.map((d) => cell(d.uptime)).join("")}</div>
<p>${c.uptime90d === null ? "no probes yet" : `${c.uptime90d}% uptime over 90 days`}</p></section>`,
    )
    .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>PatchPilot status</title>
<style>body{font:15px system-ui,sans-serif;max-width:760px;margin:2rem auto;padding:0 1rem;color:#222}
.bar{display:flex;gap:1px}.d{flex:1;height:28px;border-radius:2px}small{font-weight:normal;color:#555}</style></head>
<body><h1>PatchPilot status: ${report.status}</h1>
<p>Measured by the server's own probes every minute. Updated ${report.generatedAt}. <a href="/status.json">JSON</a></p>
${rows}
</body></html>
`;
}

const EXEMPT = "the platform's own uptime, the same for everyone; no tenant data";

export function statusRoutes(db: Database): RouteDefinition[] {
  return [
    defineRoute({
      method: "GET",
      url: "/status.json",
      summary: "Current state and 90 days of uptime of the API, agent gateway, jobs and feeds",
      tags: ["operations"],
      permission: "public",
      isolationExempt: EXEMPT,
      schema: { response: { 200: Type.Object({}, { additionalProperties: true }) } },
      handler: async () => statusReport(db),
    }),
    defineRoute({
      method: "GET",
      url: "/status",
      summary: "The public status page",
      tags: ["operations"],
      permission: "public",
      contentType: "text/html; charset=utf-8",
      isolationExempt: EXEMPT,
      schema: { response: { 200: Type.String() } },
      handler: async () => statusPage(await statusReport(db)),
    }),
  ];
}
