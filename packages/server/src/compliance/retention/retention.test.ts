import { sql } from "kysely";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { PLATFORM_ORGANIZATION_ID } from "../../audit/chain.js";
import { verifyChain } from "../../audit/verify.js";
import { loadConfig } from "../../config/config.js";
import {
  addTestMember,
  call,
  createTestOrg,
  startTestApp,
  type TestApp,
  type TestOrg,
  testConfig,
} from "../../testing/app.js";
import { SYSTEM_CONTEXT } from "../../testing/database.js";
import { purgeExpiredAuditRows } from "./retention.js";

const DAY = 86_400_000;
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ backgroundWork: false });
});
afterAll(() => t.close());
afterEach(() => {
  vi.useRealTimers();
});

/** Runs `work` with the clock at `at`, so the audit rows it writes carry that time. */
async function at<T>(when: Date, work: () => Promise<T>): Promise<T> {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(when);
  try {
    return await work();
  } finally {
    vi.useRealTimers();
  }
}

async function write(orgId: string, label: string, audit: number, device: number) {
  await t.db.withOrganization(orgId, SYSTEM_CONTEXT, async (tx) => {
    for (let i = 0; i < audit; i++) tx.audit({ action: "test.written", details: { label, i } });
    for (let i = 0; i < device; i++)
      tx.deviceEvent({ eventType: "test.written", deviceId: null, details: { label, i } });
  });
}

async function rows(orgId: string, table: "audit_events" | "device_events") {
  return t.db.owner.query<{
    seq: number;
    occurred_at: Date;
    action?: string;
    details: Record<string, unknown>;
  }>(`SELECT * FROM ${table} WHERE organization_id = $1 ORDER BY seq`, [orgId]);
}

/** An organisation on `plan` with history older than `days`, just inside it, and from today. */
async function orgWithHistory(plan: string, days: number, custom: number | null = null) {
  const now = Date.now();
  const org = await at(new Date(now - (days + 10) * DAY), () => createTestOrg(t.db));
  await t.db.owner.query("UPDATE organizations SET plan = $1, audit_retention_days = $2 WHERE id = $3", [
    plan,
    custom,
    org.organizationId,
  ]);
  await at(new Date(now - (days + 5) * DAY), () => write(org.organizationId, "expired", 3, 2));
  await at(new Date(now - (days + 0.01) * DAY), () => write(org.organizationId, "just expired", 1, 1));
  await at(new Date(now - (days - 0.01) * DAY), () => write(org.organizationId, "just kept", 1, 1));
  await at(new Date(now - (days - 5) * DAY), () => write(org.organizationId, "kept", 2, 1));
  await write(org.organizationId, "today", 1, 1);
  return org;
}

describe("audit retention by plan", () => {
  it("removes exactly the rows past each plan's retention and nothing else, and records what it removed", async () => {
    const tiers = [
      { plan: "free", days: 30, custom: null },
      { plan: "starter", days: 90, custom: null },
      { plan: "professional", days: 365, custom: null },
      { plan: "business", days: 3 * 365, custom: null },
      { plan: "enterprise", days: 45, custom: 45 },
      { plan: "enterprise", days: 3 * 365, custom: null },
    ];
    const orgs: ((typeof tiers)[number] & { org: TestOrg })[] = [];
    for (const tier of tiers)
      orgs.push({ ...tier, org: await orgWithHistory(tier.plan, tier.days, tier.custom) });
    type Row = Awaited<ReturnType<typeof rows>>[number];
    const before = new Map<string, { audit: Row[]; device: Row[] }>();
    for (const { org } of orgs) {
      before.set(org.organizationId, {
        audit: await rows(org.organizationId, "audit_events"),
        device: await rows(org.organizationId, "device_events"),
      });
    }
    const now = new Date();
    const results = await purgeExpiredAuditRows(t.db, now);

    for (const { org, days, plan } of orgs) {
      const id = org.organizationId;
      const cutoff = now.getTime() - days * DAY;
      const old = before.get(id) ?? { audit: [], device: [] };
      const all = await rows(id, "audit_events");
      const audit = all.filter((r) => r.action !== "audit.retention_purged");
      const device = await rows(id, "device_events");
      const seqs = (list: Row[]) => list.map((r) => r.seq);
      // Exactly the rows older than the cutoff are gone; every other row is still there, unchanged.
      expect(seqs(audit), plan).toEqual(seqs(old.audit.filter((r) => r.occurred_at.getTime() >= cutoff)));
      expect(seqs(device), plan).toEqual(seqs(old.device.filter((r) => r.occurred_at.getTime() >= cutoff)));
      expect(audit).toEqual(old.audit.filter((r) => r.occurred_at.getTime() >= cutoff));
      expect(audit.map((r) => r.details.label)).toEqual(["just kept", "kept", "kept", "today"]);
      expect(device.map((r) => r.details.label)).toEqual(["just kept", "kept", "today"]);
      const removedAudit = old.audit.filter((r) => r.occurred_at.getTime() < cutoff).length;
      expect(removedAudit).toBeGreaterThanOrEqual(4);
      // The purge said what it removed, on the organisation's own chain.
      expect(all.slice(-2).map((r) => [r.action, r.details.chain, r.details.removedRows])).toEqual([
        ["audit.retention_purged", "audit", removedAudit],
        ["audit.retention_purged", "device", 3],
      ]);
      expect(results.filter((r) => r.organizationId === id).map((r) => [r.chain, r.removedRows])).toEqual([
        ["audit", removedAudit],
        ["device", 3],
      ]);
      const chains = [
        await verifyChain(t.db.systemReader, id, "audit"),
        await verifyChain(t.db.systemReader, id, "device"),
      ];
      expect(chains.map((c) => [c.valid, c.anchorSeq])).toEqual([
        [true, removedAudit],
        [true, 3],
      ]);
    }
    // Nothing more to remove the next day: no new purge rows either.
    const again = await purgeExpiredAuditRows(t.db, now);
    expect(again.filter((r) => orgs.some((o) => o.org.organizationId === r.organizationId))).toEqual([]);
  });

  it("still detects tampering after a purge", async () => {
    const org = await orgWithHistory("free", 30);
    await purgeExpiredAuditRows(t.db);
    const id = org.organizationId;
    expect((await verifyChain(t.db.systemReader, id, "audit")).valid).toBe(true);
    // A superuser (triggers off) edits a kept row: the chain reports it.
    await t.db.owner.exec("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only");
    await t.db.owner.query(
      'UPDATE audit_events SET details = \'{"label":"forged"}\' WHERE organization_id = $1 AND seq = 8',
      [id],
    );
    await t.db.owner.exec("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only");
    expect((await verifyChain(t.db.systemReader, id, "audit")).firstBroken).toEqual({
      seq: 8,
      reason: "its content does not match its hash",
    });
    // Moving the anchor forward to hide kept rows is caught too: the next row does not link to it.
    const other = await orgWithHistory("free", 30);
    await purgeExpiredAuditRows(t.db);
    await t.db.owner.query(
      "UPDATE audit_chain_anchors SET seq = seq + 1 WHERE organization_id = $1 AND chain = 'device'",
      [other.organizationId],
    );
    expect((await verifyChain(t.db.systemReader, other.organizationId, "device")).valid).toBe(false);
  });

  it("leaves the application role unable to change or remove audit rows, and the retention role unable to remove recent ones", async () => {
    const org = await orgWithHistory("free", 30);
    const id = org.organizationId;
    await expect(
      t.db.withOrganization(id, SYSTEM_CONTEXT, async (tx) => {
        await tx.db.deleteFrom("audit_events").where("seq", "=", 1).execute();
        tx.audit({ action: "test.attempt" });
      }),
    ).rejects.toThrow(/permission denied|append-only/);
    await expect(
      t.db.withOrganization(id, SYSTEM_CONTEXT, async (tx) => {
        await tx.db.updateTable("device_events").set({ event_type: "forged" }).where("seq", "=", 1).execute();
        tx.audit({ action: "test.attempt" });
      }),
    ).rejects.toThrow(/permission denied|append-only/);
    // The system role cannot either.
    await expect(
      t.db.system(SYSTEM_CONTEXT, async (tx) => {
        await sql`DELETE FROM audit_events WHERE organization_id = ${id}`.execute(tx.db);
        tx.audit(id, { action: "test.attempt" });
      }),
    ).rejects.toThrow(/permission denied|append-only/);
    // The retention role may remove only rows older than the shortest retention (30 days).
    await expect(
      t.db.system(SYSTEM_CONTEXT, async (tx) => {
        await sql`SELECT set_config('role', 'patchpilot_retention', true)`.execute(tx.db);
        await sql`DELETE FROM audit_events WHERE organization_id = ${id} AND occurred_at > now() - interval '1 day'`.execute(
          tx.db,
        );
        await sql`SELECT set_config('role', 'patchpilot_system', true)`.execute(tx.db);
        tx.audit(id, { action: "test.attempt" });
      }),
    ).rejects.toThrow(/append-only/);
    expect((await verifyChain(t.db.systemReader, id, "audit")).valid).toBe(true);
  });
});

describe("platform chain retention", () => {
  const PLATFORM = PLATFORM_ORGANIZATION_ID;

  async function writePlatform(label: string, audit: number, device: number) {
    await t.db.system(SYSTEM_CONTEXT, async (tx) => {
      for (let i = 0; i < audit; i++) tx.audit(PLATFORM, { action: "test.platform", details: { label, i } });
      for (let i = 0; i < device; i++)
        tx.deviceEvent(PLATFORM, { eventType: "test.platform", deviceId: null, details: { label, i } });
    });
  }

  it("removes the platform chain's rows past the configured platform retention, anchored, so it still verifies and still catches tampering", async () => {
    const now = Date.now();
    const days = 100;
    await at(new Date(now - (days + 50) * DAY), () => writePlatform("expired", 3, 2));
    await at(new Date(now - (days + 0.01) * DAY), () => writePlatform("just expired", 1, 1));
    await at(new Date(now - (days - 0.01) * DAY), () => writePlatform("just kept", 1, 1));
    await writePlatform("today", 1, 1);
    const before = {
      audit: await rows(PLATFORM, "audit_events"),
      device: await rows(PLATFORM, "device_events"),
    };
    const at0 = new Date();
    const cutoff = at0.getTime() - days * DAY;
    const results = await purgeExpiredAuditRows(t.db, at0, { platformRetentionDays: days });
    const removed = {
      audit: before.audit.filter((r) => r.occurred_at.getTime() < cutoff).length,
      device: before.device.filter((r) => r.occurred_at.getTime() < cutoff).length,
    };
    expect(removed.audit).toBeGreaterThanOrEqual(4);
    expect(removed.device).toBeGreaterThanOrEqual(3);
    expect(
      results
        .filter((r) => r.organizationId === PLATFORM)
        .map((r) => [r.chain, r.removedRows, r.retentionDays]),
    ).toEqual([
      ["audit", removed.audit, days],
      ["device", removed.device, days],
    ]);
    const audit = await rows(PLATFORM, "audit_events");
    const device = await rows(PLATFORM, "device_events");
    expect(audit.filter((r) => r.action !== "audit.retention_purged")).toEqual(
      before.audit.filter((r) => r.occurred_at.getTime() >= cutoff),
    );
    expect(device).toEqual(before.device.filter((r) => r.occurred_at.getTime() >= cutoff));
    expect(device.map((r) => r.details.label).slice(-2)).toEqual(["just kept", "today"]);
    // The purge is recorded on the platform chain itself.
    expect(audit.slice(-2).map((r) => [r.action, r.details.chain, r.details.removedRows])).toEqual([
      ["audit.retention_purged", "audit", removed.audit],
      ["audit.retention_purged", "device", removed.device],
    ]);
    const reports = [
      await verifyChain(t.db.systemReader, PLATFORM, "audit"),
      await verifyChain(t.db.systemReader, PLATFORM, "device"),
    ];
    expect(reports.map((c) => c.valid)).toEqual([true, true]);
    expect(reports.map((c) => c.anchorSeq)).toEqual([
      Math.max(...before.audit.filter((r) => r.occurred_at.getTime() < cutoff).map((r) => Number(r.seq))),
      Math.max(...before.device.filter((r) => r.occurred_at.getTime() < cutoff).map((r) => Number(r.seq))),
    ]);

    // Nothing more to remove: no new rows, no new purge events.
    expect(
      (await purgeExpiredAuditRows(t.db, at0, { platformRetentionDays: days })).filter(
        (r) => r.organizationId === PLATFORM,
      ),
    ).toEqual([]);

    // A kept platform row edited by a superuser (triggers off) breaks the chain at that row.
    const kept = device.at(-1);
    await t.db.owner.exec("ALTER TABLE device_events DISABLE TRIGGER device_events_append_only");
    await t.db.owner.query(
      'UPDATE device_events SET details = \'{"label":"forged"}\' WHERE organization_id = $1 AND seq = $2',
      [PLATFORM, kept?.seq],
    );
    await t.db.owner.exec("ALTER TABLE device_events ENABLE TRIGGER device_events_append_only");
    expect((await verifyChain(t.db.systemReader, PLATFORM, "device")).firstBroken).toEqual({
      seq: Number(kept?.seq),
      reason: "its content does not match its hash",
    });
  });

  it("keeps the platform chain a year by default, and refuses a platform retention under 30 days in the configuration", async () => {
    const now = Date.now();
    await at(new Date(now - 200 * DAY), () => writePlatform("200 days", 1, 0));
    await purgeExpiredAuditRows(t.db, new Date());
    const labels = (await rows(PLATFORM, "audit_events")).map((r) => r.details.label);
    expect(labels).toContain("200 days");
    expect(testConfig().platformAuditRetentionDays).toBe(365);
    expect(
      loadConfig({ PATCHPILOT_PLATFORM_AUDIT_RETENTION_DAYS: "730" }, "/tmp").platformAuditRetentionDays,
    ).toBe(730);
    for (const bad of ["29", "1.5", "forever"])
      expect(() => loadConfig({ PATCHPILOT_PLATFORM_AUDIT_RETENTION_DAYS: bad }, "/tmp"), bad).toThrow(
        /PATCHPILOT_PLATFORM_AUDIT_RETENTION_DAYS must be a whole number from 30 to 36500/,
      );
  });
});

describe("retention settings API", () => {
  it("lets an Owner of an Enterprise organisation set its own retention, and no one else", async () => {
    const org = await createTestOrg(t.db);
    const admin = await addTestMember(t.db, org.organizationId, "admin");
    const url = `/api/v1/orgs/${org.organizationId}/audit-retention`;
    const fixed = await call(t.app, { method: "PUT", url, as: org.owner, body: { days: 400 } });
    expect(fixed.statusCode).toBe(402);
    expect(fixed.json().error.message).toMatch(/Free plan keeps audit history for 30 days/);
    expect((await call(t.app, { method: "GET", url, as: org.owner })).json()).toEqual({
      plan: "free",
      planDays: 30,
      customDays: null,
      effectiveDays: 30,
    });

    await t.db.owner.query("UPDATE organizations SET plan = 'enterprise' WHERE id = $1", [
      org.organizationId,
    ]);
    expect((await call(t.app, { method: "PUT", url, as: admin, body: { days: 400 } })).statusCode).toBe(403);
    for (const days of [29, 36501, "400", 1.5]) {
      const bad = await call(t.app, { method: "PUT", url, as: org.owner, body: { days } });
      expect(bad.statusCode, String(days)).toBe(400);
    }
    const set = await call(t.app, { method: "PUT", url, as: org.owner, body: { days: 400 } });
    expect(set.statusCode).toBe(200);
    expect(set.json()).toEqual({ plan: "enterprise", planDays: null, customDays: 400, effectiveDays: 400 });
    const audit = await t.db.owner.query<{ details: unknown }>(
      "SELECT details FROM audit_events WHERE organization_id = $1 AND action = 'audit.retention_changed'",
      [org.organizationId],
    );
    expect(audit.map((r) => r.details)).toEqual([{ from: null, to: 400 }]);
    const cleared = await call(t.app, { method: "PUT", url, as: org.owner, body: { days: null } });
    expect(cleared.json().effectiveDays).toBe(3 * 365);
  });
});
