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
import { SYSTEM_CONTEXT } from "../../testing/database.js";

const AUDIT_HEADER =
  "seq,id,occurred_at,actor_type,actor_id,action,target_type,target_id,result,error_code,ip,user_agent,request_id,details,prev_hash,hash";
const DEVICE_HEADER =
  "seq,id,occurred_at,device_id,actor_type,actor_id,event_type,result,error_code,request_id,details,prev_hash,hash";

let t: TestApp;
let org: TestOrg;
let auditor: TestPerson;
const deviceId = crypto.randomUUID();

beforeAll(async () => {
  t = await startTestApp({ backgroundWork: false });
  org = await createTestOrg(t.db);
  auditor = await addTestMember(t.db, org.organizationId, "auditor");
  await t.db.withOrganization(org.organizationId, SYSTEM_CONTEXT, async (tx) => {
    for (const start of ['=HYPERLINK("http://x")', "+1", "-cmd", "@SUM(A1)", "\tTAB", "\rCR", "plain"]) {
      tx.audit({ action: "test.exported", target: { type: "thing", id: start }, details: { start } });
    }
    tx.deviceEvent({ eventType: "inventory.reported", deviceId, details: { packages: 3 } });
    tx.deviceEvent({ eventType: "=cmd", deviceId: crypto.randomUUID() });
  });
});
afterAll(() => t.close());

const get = (url: string, as: TestPerson = auditor) => call(t.app, { method: "GET", url, as });
const records = (csv: string) => csv.split("\r\n").slice(0, -1);

describe("CSV export of audit and device events", () => {
  it("streams audit events oldest first with a header row, formulas neutralised, and audits the export", async () => {
    const res = await get(`/api/v1/orgs/${org.organizationId}/audit-events.csv?action=test.exported`);
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("text/csv; charset=utf-8");
    expect(res.headers["content-disposition"]).toMatch(
      /^attachment; filename="audit-events-\d{4}-\d{2}-\d{2}\.csv"$/,
    );
    const lines = records(res.body);
    expect(lines[0]).toBe(AUDIT_HEADER);
    expect(lines).toHaveLength(8);
    const targets = lines.slice(1).map((l) => l.split(",")[7]);
    // A cell a spreadsheet would run starts with a quote mark instead.
    expect(targets.slice(0, 4)).toEqual(['"\'=HYPERLINK(""http://x"")"', "'+1", "'-cmd", "'@SUM(A1)"]);
    expect(targets[4]).toBe("'\tTAB");
    expect(targets[5]).toBe('"\'\rCR"');
    expect(targets[6]).toBe("plain");
    const seqs = lines.slice(1).map((l) => Number(l.split(",")[0]));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    const audit = await t.db.owner.query<{ actor_id: string; details: Record<string, unknown> }>(
      "SELECT actor_id, details FROM audit_events WHERE organization_id = $1 AND action = 'audit.exported'",
      [org.organizationId],
    );
    expect(audit.at(-1)).toMatchObject({
      actor_id: auditor.userId,
      details: { chain: "audit", filters: { action: "test.exported" } },
    });
  });

  it("exports device events with the read API's filters", async () => {
    const res = await get(`/api/v1/orgs/${org.organizationId}/device-events.csv?deviceId=${deviceId}`);
    expect(res.statusCode).toBe(200);
    const lines = records(res.body);
    expect(lines[0]).toBe(DEVICE_HEADER);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain(",inventory.reported,");
    const all = records((await get(`/api/v1/orgs/${org.organizationId}/device-events.csv`)).body);
    expect(all.some((l) => l.includes(",'=cmd,"))).toBe(true);
  });

  it("answers an empty range with the header only, and an inverted range with 400", async () => {
    const future = new Date(Date.now() + 86_400_000).toISOString();
    const later = new Date(Date.now() + 2 * 86_400_000).toISOString();
    const empty = await get(
      `/api/v1/orgs/${org.organizationId}/audit-events.csv?from=${encodeURIComponent(future)}&to=${encodeURIComponent(later)}`,
    );
    expect(empty.statusCode).toBe(200);
    expect(empty.body).toBe(`${AUDIT_HEADER}\r\n`);
    const emptyDevice = await get(
      `/api/v1/orgs/${org.organizationId}/device-events.csv?from=${encodeURIComponent(future)}&to=${encodeURIComponent(later)}`,
    );
    expect(emptyDevice.body).toBe(`${DEVICE_HEADER}\r\n`);
    const before = await t.db.owner.query(
      "SELECT count(*)::int AS n FROM audit_events WHERE organization_id = $1",
      [org.organizationId],
    );
    const inverted = await get(
      `/api/v1/orgs/${org.organizationId}/audit-events.csv?from=${encodeURIComponent(later)}&to=${encodeURIComponent(future)}`,
    );
    expect(inverted.statusCode).toBe(400);
    expect(inverted.json().error).toMatchObject({ code: "compliance.invalid_range", field: "to" });
    const after = await t.db.owner.query(
      "SELECT count(*)::int AS n FROM audit_events WHERE organization_id = $1",
      [org.organizationId],
    );
    expect(after).toEqual(before);
    expect((await get(`/api/v1/orgs/${org.organizationId}/audit-events.csv?colour=blue`)).statusCode).toBe(
      400,
    );
  });

  it("pages through more rows than one page holds", async () => {
    const big = await createTestOrg(t.db);
    await t.db.withOrganization(big.organizationId, SYSTEM_CONTEXT, async (tx) => {
      for (let i = 0; i < 2300; i++) tx.deviceEvent({ eventType: "bulk", deviceId: null, details: { i } });
    });
    const res = await get(`/api/v1/orgs/${big.organizationId}/device-events.csv`, big.owner);
    const lines = records(res.body);
    expect(lines).toHaveLength(2301);
    expect(lines.slice(1).map((l) => Number(l.split(",")[0]))).toEqual(
      Array.from({ length: 2300 }, (_, i) => i + 1),
    );
  });
});
