import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addTestMember,
  call,
  createTestOrg,
  startTestApp,
  type TestApp,
  type TestOrg,
} from "../testing/app.js";
import { SYSTEM_CONTEXT } from "../testing/database.js";
import { auditContentDigest, chainHash, GENESIS_HASH, PLATFORM_ORGANIZATION_ID } from "./chain.js";
import { verifyAllChains, verifyChain } from "./verify.js";

let t: TestApp;
beforeAll(async () => {
  // No background work: scheduled jobs (daily statistics, checkpoints) write audit rows of their
  // own, which would change the counts these tests assert.
  t = await startTestApp({ backgroundWork: false });
});
afterAll(() => t.close());

async function orgWithHistory(): Promise<TestOrg> {
  const org = await createTestOrg(t.db);
  for (let i = 0; i < 5; i++) {
    const res = await call(t.app, {
      method: "PATCH",
      url: `/api/v1/orgs/${org.organizationId}`,
      as: org.owner,
      body: { name: `Name ${i}` },
    });
    expect(res.statusCode).toBe(200);
  }
  return org;
}

/** Tampering needs the audit trigger out of the way, as a database superuser could do. */
async function asSuperuser(statement: string, params: unknown[]): Promise<void> {
  await t.db.owner.exec("BEGIN");
  try {
    await t.db.owner.exec("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only");
    await t.db.owner.query(statement, params);
    await t.db.owner.exec("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only");
    await t.db.owner.exec("COMMIT");
  } catch (error) {
    await t.db.owner.exec("ROLLBACK");
    throw error;
  }
}

describe("audit hash chain", () => {
  it("links every row to the one before, from the genesis hash, as an offline verifier recomputes it", async () => {
    const org = await orgWithHistory();
    const rows = await t.db.owner.query<
      { seq: number; prev_hash: Buffer; hash: Buffer } & Record<string, unknown>
    >("SELECT * FROM audit_events WHERE organization_id = $1 ORDER BY seq", [org.organizationId]);
    expect(rows.length).toBeGreaterThanOrEqual(7);
    let prev = GENESIS_HASH;
    for (const r of rows) {
      expect(Buffer.from(r.prev_hash).equals(prev)).toBe(true);
      const digest = auditContentDigest({
        organizationId: String(r.organization_id),
        occurredAt: r.occurred_at as Date,
        actorType: String(r.actor_type),
        actorId: (r.actor_id as string | null) ?? null,
        action: String(r.action),
        targetType: (r.target_type as string | null) ?? null,
        targetId: (r.target_id as string | null) ?? null,
        result: r.result as "success" | "failure",
        errorCode: (r.error_code as string | null) ?? null,
        ip: (r.ip as string | null) ?? null,
        userAgent: (r.user_agent as string | null) ?? null,
        requestId: (r.request_id as string | null) ?? null,
        details: r.details as Record<string, unknown>,
      });
      expect(Buffer.from(r.hash).equals(chainHash(prev, r.seq, digest))).toBe(true);
      prev = Buffer.from(r.hash);
    }
    const report = await verifyChain(t.db.systemReader, org.organizationId, "audit");
    expect(report).toMatchObject({ valid: true, checkedRows: rows.length, firstBroken: null });
  });

  it("names people and devices by id only: no email or name in any audit row", async () => {
    const org = await orgWithHistory();
    const member = await addTestMember(t.db, org.organizationId, "operator");
    await call(t.app, {
      method: "PATCH",
      url: `/api/v1/orgs/${org.organizationId}/users/${member.userId}`,
      as: org.owner,
      body: { role: "auditor" },
    });
    const rows = await t.db.owner.query("SELECT * FROM audit_events WHERE organization_id = $1", [
      org.organizationId,
    ]);
    const text = JSON.stringify(rows);
    expect(text).toContain(member.userId);
    expect(text).not.toContain(member.email);
    expect(text).not.toContain(org.owner.email);
  });

  it("reports the first broken link when a row's content is altered", async () => {
    const org = await orgWithHistory();
    await asSuperuser(
      'UPDATE audit_events SET details = \'{"to":"forged"}\' WHERE organization_id = $1 AND seq = 4',
      [org.organizationId],
    );
    const report = await verifyChain(t.db.systemReader, org.organizationId, "audit");
    expect(report.valid).toBe(false);
    expect(report.firstBroken).toEqual({ seq: 4, reason: "its content does not match its hash" });
  });

  it("reports a row removed from the middle, and rows cut from the end", async () => {
    const middle = await orgWithHistory();
    await asSuperuser("DELETE FROM audit_events WHERE organization_id = $1 AND seq = 3", [
      middle.organizationId,
    ]);
    expect((await verifyChain(t.db.systemReader, middle.organizationId, "audit")).firstBroken).toEqual({
      seq: 3,
      reason: "row 3 is missing",
    });

    const tail = await orgWithHistory();
    const head = await t.db.owner.query<{ seq: number }>(
      "SELECT seq FROM audit_chain_heads WHERE organization_id = $1 AND chain = 'audit'",
      [tail.organizationId],
    );
    await asSuperuser("DELETE FROM audit_events WHERE organization_id = $1 AND seq = $2", [
      tail.organizationId,
      head[0]?.seq,
    ]);
    const report = await verifyChain(t.db.systemReader, tail.organizationId, "audit");
    expect(report.valid).toBe(false);
    expect(report.firstBroken?.reason).toMatch(/rows are missing/);
  });

  it("verifies every chain, the platform chain included, and an organisation's own through the API", async () => {
    const org = await orgWithHistory();
    const reports = await verifyAllChains(t.db.systemReader);
    expect(reports.some((r) => r.organizationId === PLATFORM_ORGANIZATION_ID)).toBe(true);
    expect(reports.find((r) => r.organizationId === org.organizationId && r.chain === "audit")?.valid).toBe(
      true,
    );
    const auditor = await addTestMember(t.db, org.organizationId, "auditor");
    const res = await call(t.app, {
      method: "GET",
      url: `/api/v1/orgs/${org.organizationId}/audit-events/verification`,
      as: auditor,
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().chains).toEqual([
      expect.objectContaining({ chain: "audit", valid: true }),
      expect.objectContaining({ chain: "device", valid: true }),
    ]);
  });

  it("keeps the chain ordered under concurrent writers of one organisation", async () => {
    const org = await createTestOrg(t.db);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        t.db.withOrganization(org.organizationId, SYSTEM_CONTEXT, async (tx) => {
          tx.audit({ action: "test.concurrent", details: { i } });
        }),
      ),
    );
    const report = await verifyChain(t.db.systemReader, org.organizationId, "audit");
    expect(report).toMatchObject({ valid: true, checkedRows: 22 });
  });

  it("chains a unit of work's several rows as one batch, in the order queued, beside concurrent writers", async () => {
    const [a, b] = [await createTestOrg(t.db), await createTestOrg(t.db)];
    const before = await t.db.owner.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM audit_events WHERE organization_id = $1",
      [a.organizationId],
    );
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        t.db.withOrganization(a.organizationId, SYSTEM_CONTEXT, async (tx) => {
          for (let j = 0; j < 5; j++)
            tx.audit({ action: "test.batched", details: { i, j, text: "é\u0001'\"" } });
          tx.deviceEvent({ eventType: "test.batched", deviceId: null, details: { i } });
          tx.deviceEvent({ eventType: "test.batched", deviceId: null, details: { i, second: true } });
          if (i % 2 === 0) tx.audit({ action: "test.single" });
        }),
      ),
    );
    await t.db.withOrganization(b.organizationId, SYSTEM_CONTEXT, async (tx) => {
      tx.audit({ action: "test.batched", details: { n: 1 } });
      tx.audit({ action: "test.batched", details: { n: 2 } });
    });
    const expected = (before[0]?.n ?? 0) + 8 * 5 + 4;
    expect(await verifyChain(t.db.systemReader, a.organizationId, "audit")).toMatchObject({
      valid: true,
      checkedRows: expected,
    });
    expect(await verifyChain(t.db.systemReader, a.organizationId, "device")).toMatchObject({
      valid: true,
      checkedRows: 16,
    });
    const order = await t.db.owner.query<{ j: number; i: number }>(
      `SELECT (details->>'i')::int AS i, (details->>'j')::int AS j FROM audit_events
        WHERE organization_id = $1 AND action = 'test.batched' ORDER BY seq`,
      [a.organizationId],
    );
    // Each unit of work's five rows are consecutive and in the order they were queued.
    for (let k = 0; k < order.length; k += 5) {
      const run = order.slice(k, k + 5);
      expect(run.map((r) => r.j)).toEqual([0, 1, 2, 3, 4]);
      expect(new Set(run.map((r) => r.i)).size).toBe(1);
    }
    const heads = await t.db.owner.query<{ chain: string; seq: string }>(
      "SELECT chain, seq::text AS seq FROM audit_chain_heads WHERE organization_id = $1 ORDER BY chain",
      [b.organizationId],
    );
    const bRows = await t.db.owner.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM audit_events WHERE organization_id = $1",
      [b.organizationId],
    );
    expect(heads.find((h) => h.chain === "audit")?.seq).toBe(String(bRows[0]?.n));
  });
});

describe("audit read API", () => {
  it("filters by action, actor, target, result and time, newest first, with a cursor", async () => {
    const org = await orgWithHistory();
    const base = `/api/v1/orgs/${org.organizationId}/audit-events`;
    const get = async (query: string) => {
      const res = await call(t.app, { method: "GET", url: `${base}?${query}`, as: org.owner });
      expect(res.statusCode, res.body).toBe(200);
      return res.json() as {
        items: {
          seq: number;
          action: string;
          actor: { id: string };
          target: { id: string } | null;
          result: string;
        }[];
        nextCursor: string | null;
      };
    };
    const renamed = await get("action=organization.renamed");
    expect(renamed.items.map((e) => e.action)).toEqual(Array(5).fill("organization.renamed"));
    expect(renamed.items.map((e) => e.seq)).toEqual(
      [...renamed.items.map((e) => e.seq)].sort((a, b) => b - a),
    );
    expect((await get("action=organization.*")).items.length).toBe(6);
    expect((await get(`actorId=${org.owner.userId}`)).items.length).toBe(5);
    expect((await get(`targetType=user&targetId=${org.owner.userId}`)).items.map((e) => e.action)).toEqual([
      "users.added",
    ]);
    expect((await get("result=failure")).items).toEqual([]);
    expect(
      (await get(`from=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).items,
    ).toEqual([]);

    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const page = await get(`limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      seen.push(...page.items.map((e) => e.seq));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual([7, 6, 5, 4, 3, 2, 1]);
  });

  it("refuses malformed filters with the field named", async () => {
    const org = await createTestOrg(t.db);
    for (const [query, field] of [
      ["cursor=abc", "cursor"],
      ["from=yesterday", "querystring/from"],
      ["action=DROP%20TABLE", "querystring/action"],
      ["limit=0", "querystring/limit"],
      ["colour=blue", "querystring/colour"],
    ] as const) {
      const res = await call(t.app, {
        method: "GET",
        url: `/api/v1/orgs/${org.organizationId}/audit-events?${query}`,
        as: org.owner,
      });
      expect(res.statusCode, query).toBe(400);
      expect(res.json().error.field, query).toBe(field);
    }
  });

  it("lists device events with their chain fields", async () => {
    const org = await createTestOrg(t.db);
    const deviceId = crypto.randomUUID();
    await t.db.withOrganization(org.organizationId, SYSTEM_CONTEXT, async (tx) => {
      tx.deviceEvent({ eventType: "inventory.reported", deviceId, details: { packages: 3 } });
      tx.deviceEvent({ eventType: "patch.installed", deviceId: crypto.randomUUID() });
    });
    const res = await call(t.app, {
      method: "GET",
      url: `/api/v1/orgs/${org.organizationId}/device-events?deviceId=${deviceId}`,
      as: org.owner,
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().items).toEqual([
      expect.objectContaining({
        eventType: "inventory.reported",
        deviceId,
        details: { packages: 3 },
        seq: 1,
      }),
    ]);
    expect((await verifyChain(t.db.systemReader, org.organizationId, "device")).valid).toBe(true);
  });
});
