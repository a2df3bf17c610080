import { timingSafeEqual } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { sql } from "kysely";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import Type from "typebox";
import type { Config } from "../../config/config.js";
import type { Database } from "../../db/database.js";
import { AppError } from "../../http/errors.js";
import { defineRoute, type RouteDefinition } from "../../http/route.js";

const LOOPBACK = new Set(["127.0.0.1", "::1", "::ffff:127.0.0.1"]);

/**
 * The server's Prometheus metrics, in a registry of its own (one per app, so tests and several
 * apps in one process never mix). Request figures are counted as requests finish; everything
 * read from the database (queues, feeds, backups, restore tests, the pool) is read at scrape time.
 */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly #requests = new Counter({
    name: "patchpilot_http_requests_total",
    help: "HTTP requests answered, by route and status code",
    labelNames: ["method", "route", "status"] as const,
    registers: [this.registry],
  });
  readonly #errors = new Counter({
    name: "patchpilot_http_request_errors_total",
    help: "HTTP requests answered with a 5xx status, by route",
    labelNames: ["method", "route"] as const,
    registers: [this.registry],
  });
  readonly #latency = new Histogram({
    name: "patchpilot_http_request_duration_seconds",
    help: "HTTP request latency, by route",
    labelNames: ["method", "route"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  constructor(
    private readonly db: Database,
    private readonly config: Config,
  ) {
    const reader = () => this.db.systemReader;
    const gauge = (name: string, help: string, labelNames: string[], collect: (g: Gauge) => Promise<void>) =>
      new Gauge({
        name,
        help,
        labelNames,
        registers: [this.registry],
        async collect() {
          this.reset();
          await collect(this);
        },
      });
    gauge(
      "patchpilot_agent_check_ins_5m",
      "Devices that checked in during the last 5 minutes",
      [],
      async (g) => {
        const row = await reader()
          .selectFrom("device_presence")
          .select((eb) => eb.fn.countAll<number>().as("n"))
          .where("last_seen_at", ">", sql<Date>`now() - interval '5 minutes'`)
          .executeTakeFirst();
        g.set(Number(row?.n ?? 0));
      },
    );
    gauge(
      "patchpilot_job_queue_depth",
      "Jobs waiting or running, by kind and state",
      ["kind", "state"],
      async (g) => {
        const rows = await reader()
          .selectFrom("jobs")
          .select(["kind", "state", (eb) => eb.fn.countAll<number>().as("n")])
          .where("state", "in", ["queued", "running"])
          .groupBy(["kind", "state"])
          .execute();
        for (const r of rows) g.set({ kind: r.kind, state: r.state }, Number(r.n));
      },
    );
    gauge(
      "patchpilot_job_failures_7d",
      "Jobs that failed for good in the last 7 days, by kind",
      ["kind"],
      async (g) => {
        const rows = await reader()
          .selectFrom("jobs")
          .select(["kind", (eb) => eb.fn.countAll<number>().as("n")])
          .where("state", "=", "failed")
          .groupBy("kind")
          .execute();
        for (const r of rows) g.set({ kind: r.kind }, Number(r.n));
      },
    );
    gauge(
      "patchpilot_feed_age_seconds",
      "Seconds since each feed last synced successfully",
      ["feed"],
      async (g) => {
        const rows = await reader().selectFrom("feed_state").select(["feed", "last_success_at"]).execute();
        for (const r of rows) {
          if (r.last_success_at) g.set({ feed: r.feed }, (Date.now() - r.last_success_at.getTime()) / 1000);
        }
      },
    );
    gauge(
      "patchpilot_backup_age_seconds",
      "Seconds since the last verified backup (the current RPO); absent when there is none",
      [],
      async (g) => {
        const last = await this.#lastBackup();
        if (last) g.set((Date.now() - last.finished_at.getTime()) / 1000);
      },
    );
    gauge("patchpilot_backup_last_failed", "1 when the most recent backup attempt failed", [], async (g) => {
      const row = await reader()
        .selectFrom("backup_runs")
        .select("state")
        .orderBy("finished_at", "desc")
        .limit(1)
        .executeTakeFirst();
      g.set(row?.state === "failed" ? 1 : 0);
    });
    gauge(
      "patchpilot_rpo_target_seconds",
      "The backup interval: the recovery point objective",
      [],
      async (g) => {
        g.set(this.config.backupIntervalHours * 3600);
      },
    );
    gauge(
      "patchpilot_restore_test_ok",
      "1 when the last restore test passed, 0 when it failed",
      [],
      async (g) => {
        const t = await this.#lastRestoreTest();
        if (t) g.set(t.ok ? 1 : 0);
      },
    );
    gauge(
      "patchpilot_restore_test_duration_seconds",
      "The last restore test's duration: the measured RTO",
      [],
      async (g) => {
        const t = await this.#lastRestoreTest();
        if (t) g.set(t.duration_ms / 1000);
      },
    );
    gauge("patchpilot_restore_test_age_seconds", "Seconds since the last restore test", [], async (g) => {
      const t = await this.#lastRestoreTest();
      if (t) g.set((Date.now() - t.finished_at.getTime()) / 1000);
    });
    gauge(
      "patchpilot_rto_estimate_seconds",
      "The last restore test's duration scaled to the newest backup's size: the expected RTO",
      [],
      async (g) => {
        const [t, last] = [await this.#lastRestoreTest(), await this.#lastBackup()];
        if (!t) return;
        const scale = t.backup_bytes && last?.bytes ? last.bytes / t.backup_bytes : 1;
        g.set((t.duration_ms / 1000) * Math.max(1, scale));
      },
    );
    gauge("patchpilot_db_pool_connections", "Database connections, by state", ["state"], async (g) => {
      const pool = this.db.engine.poolState?.();
      if (!pool) return;
      g.set({ state: "total" }, pool.total);
      g.set({ state: "idle" }, pool.idle);
      g.set({ state: "waiting" }, pool.waiting);
    });
  }

  #lastBackup() {
    return this.db.systemReader
      .selectFrom("backup_runs")
      .select(["finished_at", "bytes"])
      .where("state", "=", "succeeded")
      .where("verified_at", "is not", null)
      .orderBy("finished_at", "desc")
      .limit(1)
      .executeTakeFirst();
  }

  #lastRestoreTest() {
    return this.db.systemReader
      .selectFrom("restore_tests")
      .select(["ok", "duration_ms", "finished_at", "backup_bytes"])
      .orderBy("finished_at", "desc")
      .limit(1)
      .executeTakeFirst();
  }

  /** Counts every answered request under its route pattern (never the raw URL: ids would explode labels). */
  attach(app: FastifyInstance): void {
    app.addHook("onResponse", async (request, reply) => {
      const route = request.routeOptions.url ?? "unmatched";
      const method = request.method;
      const status = String(reply.statusCode);
      this.#requests.inc({ method, route, status });
      if (reply.statusCode >= 500) this.#errors.inc({ method, route });
      this.#latency.observe({ method, route }, reply.elapsedTime / 1000);
    });
  }
}

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * GET /metrics. With PATCHPILOT_METRICS_TOKEN set, a scraper from anywhere sends it as a bearer
 * token; without it, only loopback callers are answered. Either way it shows no tenant data.
 */
export function metricsRoutes(metrics: ServerMetrics, config: Config): RouteDefinition[] {
  return [
    defineRoute({
      method: "GET",
      url: "/metrics",
      summary: "Prometheus metrics (bearer token from PATCHPILOT_METRICS_TOKEN, or loopback only)",
      tags: ["operations"],
      permission: "public",
      contentType: "text/plain; version=0.0.4; charset=utf-8",
      isolationExempt: "platform-wide figures only: no organisation's data or identifiers",
      schema: { response: { 200: Type.String() } },
      async handler({ request }) {
        const token = config.metricsToken?.reveal() ?? null;
        if (token !== null) {
          const header = request.headers.authorization ?? "";
          const given = header.startsWith("Bearer ") ? header.slice(7) : "";
          if (!sameToken(given, token)) throw new AppError("auth.required");
        } else if (!LOOPBACK.has(request.ip)) {
          throw new AppError("auth.forbidden");
        }
        return metrics.registry.metrics();
      },
    }),
  ];
}
