import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addTestMember,
  call,
  createTestOrg,
  startTestApp,
  type TestApp,
  type TestOrg,
  type TestPerson,
} from "../../testing/app.js";
import {
  bashPackage,
  CVE,
  type Fleet,
  importFixtureAdvisories,
  matchQueuedChanges,
  opensslPackages,
  seedFleet,
  uploadInventory,
} from "../../testing/vulns.js";
import { recordDailyStats } from "./daily-stats.js";

let t: TestApp;
let org: TestOrg;
let operator: TestPerson;
let fleet: Fleet;

beforeAll(async () => {
  t = await startTestApp();
  await importFixtureAdvisories(t.db);
  org = await createTestOrg(t.db, "Measured Ltd");
  operator = await addTestMember(t.db, org.organizationId, "operator");
  fleet = await seedFleet(t, org.organizationId);
  // Everything was first seen ten days ago.
  await t.db.owner.query(
    "UPDATE findings SET first_seen_at = first_seen_at - interval '10 days', sla_due_at = sla_due_at - interval '10 days' WHERE organization_id = $1",
    [org.organizationId],
  );
});
afterAll(() => t.close());

const settingsUrl = () => `/api/v1/orgs/${org.organizationId}/vulnerability-settings`;
const put = (body: unknown, as: TestPerson = org.owner) =>
  call(t.app, { method: "PUT", url: settingsUrl(), as, body });
const summary = async () =>
  (
    await call(t.app, {
      method: "GET",
      url: `/api/v1/orgs/${org.organizationId}/findings/summary`,
      as: operator,
    })
  ).json();

describe("vulnerability settings", () => {
  it("starts from the Cyber Essentials defaults", async () => {
    const response = await call(t.app, { method: "GET", url: settingsUrl(), as: operator });
    expect(response.json()).toEqual({
      slaDays: { critical: 14, high: 14, medium: 30, low: 90 },
      updatedAt: null,
    });
  });

  it("lets an Owner tighten the SLA, moving open findings' due dates with it, audited", async () => {
    expect((await summary()).overdue).toBe(0);
    const response = await put({ slaDays: { critical: 7, high: 5, medium: 30, low: 90 } });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json().slaDays).toEqual({ critical: 7, high: 5, medium: 30, low: 90 });
    // Critical and high findings seen ten days ago are now past their 7 and 5 days.
    expect((await summary()).overdue).toBe(6);
    const [curl] = (
      await call(t.app, {
        method: "GET",
        url: `/api/v1/orgs/${org.organizationId}/findings?vulnerabilityId=${CVE.curl}`,
        as: operator,
      })
    ).json().items;
    expect(Date.parse(curl.slaDueAt) - Date.parse(curl.firstSeenAt)).toBe(5 * 86_400_000);
    expect(curl.overdue).toBe(true);
    const audit = await t.db.owner.query<{ actor_id: string; details: Record<string, unknown> }>(
      "SELECT actor_id, details FROM audit_events WHERE organization_id = $1 AND action = 'vulnerability_settings.updated'",
      [org.organizationId],
    );
    expect(audit).toEqual([
      {
        actor_id: org.owner.userId,
        details: {
          before: { critical: 14, high: 14, medium: 30, low: 90 },
          after: { critical: 7, high: 5, medium: 30, low: 90 },
          // Every finding not yet fixed is re-derived (the matcher's due dates are off by its own clock's milliseconds).
          findingsRescheduled: 13,
        },
      },
    ]);
  });

  it("is an organisation setting: Operators and Auditors may read it, not change it", async () => {
    for (const as of [operator, await addTestMember(t.db, org.organizationId, "auditor")]) {
      const response = await put({ slaDays: { critical: 1, high: 1, medium: 1, low: 1 } }, as);
      expect(response.statusCode).toBe(403);
      expect(response.json().error.code).toBe("auth.forbidden");
    }
  });

  it("refuses days out of range, missing, mistyped or unknown", async () => {
    for (const [slaDays, field] of [
      [{ critical: 0, high: 5, medium: 30, low: 90 }, "body/slaDays/critical"],
      [{ critical: 7, high: 3651, medium: 30, low: 90 }, "body/slaDays/high"],
      [{ critical: 7, high: 5, medium: "30", low: 90 }, "body/slaDays/medium"],
      [{ critical: 7, high: 5, medium: 30 }, "body/slaDays/low"],
      [{ critical: 7, high: 5, medium: 30, low: 90, negligible: 365 }, "body/slaDays/negligible"],
      [{ critical: 7.5, high: 5, medium: 30, low: 90 }, "body/slaDays/critical"],
    ] as const) {
      const response = await put({ slaDays });
      expect(response.statusCode, JSON.stringify(slaDays)).toBe(400);
      expect(response.json().error.field).toBe(field);
    }
  });
});

describe("recordDailyStats", () => {
  it("records the day's open findings, overdue and fixed, and replaces the row when run again", async () => {
    const today = new Date().toISOString().slice(0, 10);
    await recordDailyStats(t.db, org.organizationId, today);
    const row = async () =>
      (
        await t.db.owner.query<Record<string, unknown>>(
          "SELECT critical, high, medium, low, other, kev, overdue, fixed_today FROM finding_daily_stats WHERE organization_id = $1 AND day = $2",
          [org.organizationId, today],
        )
      )[0];
    expect(await row()).toEqual({
      critical: 4,
      high: 2,
      medium: 4,
      low: 2,
      other: 1,
      kev: 4,
      overdue: 6,
      fixed_today: 0,
    });
    // The database server is patched: two critical findings close today.
    await uploadInventory(t, fleet.db, [...opensslPackages("3.0.11-1~deb12u2"), bashPackage()]);
    await matchQueuedChanges(t);
    await recordDailyStats(t.db, org.organizationId, today);
    expect(await row()).toEqual({
      critical: 2,
      high: 2,
      medium: 4,
      low: 2,
      other: 1,
      kev: 2,
      overdue: 4,
      fixed_today: 2,
    });
    const audit = await t.db.owner.query<{ actor_type: string }>(
      "SELECT actor_type FROM audit_events WHERE organization_id = $1 AND action = 'findings.daily_stats_recorded'",
      [org.organizationId],
    );
    expect(audit).toEqual([{ actor_type: "system" }, { actor_type: "system" }]);
    await expect(recordDailyStats(t.db, org.organizationId, "yesterday")).rejects.toThrow(/not a day/);
  });

  it("feeds the summary's trend and its mean time to remediate", async () => {
    const s = await summary();
    expect(s.trend).toEqual([
      {
        day: new Date().toISOString().slice(0, 10),
        critical: 2,
        high: 2,
        medium: 4,
        low: 2,
        other: 1,
        kev: 2,
        overdue: 4,
        fixedToday: 2,
      },
    ]);
    // Fixed today, first seen ten days ago.
    expect(s.meanTimeToRemediateDays).toBe(10);
    expect(s.open.critical).toBe(2);
  });
});
