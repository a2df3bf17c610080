import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../capabilities.js";
import { SYSTEM_WORK } from "../../db/unit-of-work.js";
import type { App } from "../../http/app.js";
import { createOrganization, createUser } from "../../organizations/create-organization.js";
import { testConfig } from "../../testing/app.js";
import { createTestDatabase, type TestDatabase } from "../../testing/database.js";
import { probeOnce, statusReport } from "./status.js";

let t: TestDatabase;
let app: App;

beforeAll(async () => {
  t = await createTestDatabase();
  const config = testConfig({ PATCHPILOT_BACKGROUND_WORK: "off", PATCHPILOT_FEED_SYNC: "off" });
  app = await createApp({ db: t.db, config, logStream: new Writable({ write: (_c, _e, d) => d() }) });
  await app.ready();
  await t.db.system(SYSTEM_WORK, async (tx) => {
    const userId = await createUser(tx, {
      email: "status@example.test",
      name: "Secret Customer",
      passwordHash: "x",
    });
    await createOrganization(tx, { name: "Secret Customer Ltd", ownerUserId: userId });
  });
});
afterAll(async () => {
  await app.close();
  await t.drop();
});

describe("status page", () => {
  it("probes every component, keeps 90 days, and reports uptime per day", async () => {
    const now = new Date();
    await t.db.system(
      SYSTEM_WORK,
      async (tx) => {
        await tx.db
          .insertInto("status_probes")
          .values([
            {
              component: "api",
              probed_at: new Date(now.getTime() - 91 * 86_400_000),
              up: true,
              latency_ms: 1,
            },
            {
              component: "api",
              probed_at: new Date(now.getTime() - 2 * 86_400_000),
              up: false,
              latency_ms: 1,
            },
          ])
          .execute();
      },
      { unaudited: "test fixture" },
    );
    const probed = await probeOnce(t.db, testConfig({ PATCHPILOT_FEED_SYNC: "off" }), now);
    expect(probed).toEqual({ api: true, agent_gateway: true, jobs: true, feeds: true });
    const rows = await t.db.systemReader.selectFrom("status_probes").selectAll().execute();
    expect(rows).toHaveLength(5); // the 91-day-old probe is gone
    const report = await statusReport(t.db, now);
    expect(report.status).toBe("operational");
    const api = report.components.find((c) => c.component === "api");
    expect(api?.days).toHaveLength(90);
    expect(api?.uptime90d).toBe(50);
    expect(api?.days.at(-1)?.uptime).toBe(100);
    expect(api?.days.at(-3)?.uptime).toBe(0);
  });

  it("serves /status and /status.json to anyone, without tenant data", async () => {
    const json = await app.inject({ method: "GET", url: "/status.json" });
    expect(json.statusCode).toBe(200);
    expect(json.json()).toMatchObject({
      status: "operational",
      components: [{ component: "api", up: true }, {}, {}, {}],
    });
    const page = await app.inject({ method: "GET", url: "/status" });
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-type"]).toMatch(/text\/html/);
    expect(page.body).toMatch(/PatchPilot status: operational/);
    expect(page.body).toMatch(/Agent gateway/);
    for (const body of [json.body, page.body]) {
      expect(body).not.toMatch(/Secret Customer|status@example/);
      expect(body).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/);
    }
  });
});
