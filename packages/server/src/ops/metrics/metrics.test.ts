import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../capabilities.js";
import { SYSTEM_WORK } from "../../db/unit-of-work.js";
import type { App } from "../../http/app.js";
import { testConfig } from "../../testing/app.js";
import { createTestDatabase, type TestDatabase } from "../../testing/database.js";

const TOKEN = "m".repeat(40);
let t: TestDatabase;
let open: App;
let guarded: App;

const quiet = () => new Writable({ write: (_c, _e, done) => done() });

beforeAll(async () => {
  t = await createTestDatabase();
  const base = { PATCHPILOT_BACKGROUND_WORK: "off", PATCHPILOT_FEED_SYNC: "off" };
  open = await createApp({ db: t.db, config: testConfig(base), logStream: quiet() });
  guarded = await createApp({
    db: t.db,
    config: testConfig({ ...base, PATCHPILOT_METRICS_TOKEN: TOKEN }),
    logStream: quiet(),
  });
  await Promise.all([open.ready(), guarded.ready()]);
});
afterAll(async () => {
  await open.close();
  await guarded.close();
  await t.drop();
});

describe("/metrics", () => {
  it("answers loopback callers without a token, and nobody else", async () => {
    await open.inject({ method: "GET", url: "/healthz" });
    const res = await open.inject({ method: "GET", url: "/metrics" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/plain/);
    expect(res.body).toMatch(
      /patchpilot_http_requests_total\{method="GET",route="\/healthz",status="200"\} 1/,
    );
    expect(res.body).toMatch(/patchpilot_db_pool_connections\{state="total"\} \d+/);
    expect(res.body).toMatch(/patchpilot_rpo_target_seconds 86400/);
    // A remote scraper without a configured token is refused: the figures are not public.
    const remote = await open.inject({ method: "GET", url: "/metrics", remoteAddress: "203.0.113.9" });
    expect(remote.statusCode).toBe(403);
  });

  it("wants the bearer token when one is configured, from anywhere", async () => {
    expect((await guarded.inject({ method: "GET", url: "/metrics" })).statusCode).toBe(401);
    const wrong = await guarded.inject({
      method: "GET",
      url: "/metrics",
      headers: { authorization: `Bearer ${"x".repeat(40)}` },
    });
    expect(wrong.statusCode).toBe(401);
    const right = await guarded.inject({
      method: "GET",
      url: "/metrics",
      remoteAddress: "203.0.113.9",
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(right.statusCode).toBe(200);
  });

  it("shows the last backup's age, the restore test's result and duration (RTO), and route errors", async () => {
    await t.db.system(
      SYSTEM_WORK,
      async (tx) => {
        await tx.db
          .insertInto("backup_runs")
          .values({
            trigger: "scheduled",
            state: "succeeded",
            started_at: new Date(Date.now() - 3_700_000),
            finished_at: new Date(Date.now() - 3_600_000),
            duration_ms: 1000,
            file: "b.ppbak",
            bytes: 2000,
            verified_at: new Date(),
          })
          .execute();
        await tx.db
          .insertInto("restore_tests")
          .values({
            file: "a.ppbak",
            ok: false,
            started_at: new Date(),
            duration_ms: 4000,
            backup_bytes: 1000,
          })
          .execute();
      },
      { unaudited: "test fixture" },
    );
    const body = (await open.inject({ method: "GET", url: "/metrics" })).body;
    const value = (name: string) => Number(new RegExp(`^${name} ([0-9.e+-]+)$`, "m").exec(body)?.[1]);
    expect(value("patchpilot_backup_age_seconds")).toBeGreaterThan(3590);
    expect(value("patchpilot_backup_age_seconds")).toBeLessThan(3700);
    expect(value("patchpilot_restore_test_ok")).toBe(0);
    expect(value("patchpilot_restore_test_duration_seconds")).toBe(4);
    expect(value("patchpilot_rto_estimate_seconds")).toBe(8);
    expect(value("patchpilot_backup_last_failed")).toBe(0);
    // No organisation id or name ever appears.
    expect(body).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/);
  });
});
