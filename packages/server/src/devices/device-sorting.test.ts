import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addTestMember,
  call,
  createTestOrg,
  startTestApp,
  type TestApp,
  type TestOrg,
  type TestPerson,
} from "../testing/app.js";
import { SYSTEM_CONTEXT } from "../testing/database.js";
import { enrollTestDevice } from "../testing/devices.js";
import { CVE, type Fleet, importFixtureAdvisories, seedFleet } from "../testing/vulns.js";

let t: TestApp;
let org: TestOrg;
let other: TestOrg;
let auditor: TestPerson;
let fleet: Fleet;
let otherFleet: Fleet;
let quiet: string;

interface DeviceItem {
  id: string;
  hostname: string;
  os: { name: string; version: string };
  openFindings: number;
  risk: number;
  online: boolean;
  lastSeenAt: string | null;
}

beforeAll(async () => {
  t = await startTestApp();
  await importFixtureAdvisories(t.db);
  org = await createTestOrg(t.db, "Sorted Ltd");
  other = await createTestOrg(t.db, "Unsorted Ltd");
  auditor = await addTestMember(t.db, org.organizationId, "auditor");
  fleet = await seedFleet(t, org.organizationId, "sort");
  otherFleet = await seedFleet(t, other.organizationId, "other");
  // A device without findings, on another OS, and seen long ago.
  quiet = (await enrollTestDevice(t.db, org.organizationId, { hostname: "sort-quiet.example.test" }))
    .deviceId;
  const seen: [string, string][] = [
    [fleet.web.deviceId, "2026-11-30T10:00:00.123456Z"],
    [fleet.db.deviceId, "2026-11-30T11:00:00.654321Z"],
    [fleet.lab.deviceId, "2026-11-30T09:00:00.000001Z"],
    [quiet, "2026-10-01T00:00:00Z"],
  ];
  await t.db.withOrganization(org.organizationId, SYSTEM_CONTEXT, async (tx) => {
    for (const [id, at] of seen) {
      await tx.db
        .updateTable("device_presence")
        .set({ last_seen_at: new Date(at) })
        .where("device_id", "=", id)
        .execute();
    }
    await tx.db
      .updateTable("devices")
      .set({ os_name: "Ubuntu", os_version: "24.04" })
      .where("id", "=", quiet)
      .execute();
    tx.audit({ action: "test.presence_set", target: { type: "organization", id: org.organizationId } });
  });
});
afterAll(() => t.close());

const get = (path: string, as: TestPerson | null = auditor, orgId = org.organizationId) =>
  call(t.app, { method: "GET", url: `/api/v1/orgs/${orgId}${path}`, as });

async function list(query: string): Promise<DeviceItem[]> {
  const response = await get(`/devices?${query}`);
  expect(response.statusCode, response.body).toBe(200);
  return response.json().items;
}

/** Every page of a sort, one device a page, so each cursor is used. */
async function walk(query: string): Promise<string[]> {
  const seen: string[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < 20; i++) {
    const response = await get(`/devices?${query}&limit=1${cursor ? `&cursor=${cursor}` : ""}`);
    expect(response.statusCode, response.body).toBe(200);
    const page: { items: DeviceItem[]; nextCursor: string | null } = response.json();
    seen.push(...page.items.map((d) => d.hostname));
    cursor = page.nextCursor;
    if (!cursor) return seen;
  }
  throw new Error("too many pages");
}

async function openFindingsByDevice(): Promise<Map<string, { n: number; risk: number }>> {
  const rows = await t.db.owner.query<{ device_id: string; n: number; risk: string }>(
    "SELECT device_id, count(*)::int AS n, max(risk)::text AS risk FROM findings WHERE status = 'open' GROUP BY device_id",
  );
  return new Map(rows.map((r) => [r.device_id, { n: r.n, risk: Number(r.risk) }]));
}

describe("sorting devices", () => {
  it("keeps each device's open findings and highest risk in step with its findings", async () => {
    const expected = await openFindingsByDevice();
    const items = await list("limit=50");
    expect(items).toHaveLength(4);
    for (const d of items) {
      expect([d.hostname, d.openFindings, d.risk]).toEqual([
        d.hostname,
        expected.get(d.id)?.n ?? 0,
        expected.get(d.id)?.risk ?? 0,
      ]);
    }
    expect(items.find((d) => d.id === fleet.web.deviceId)?.openFindings).toBeGreaterThan(0);
    // The earliest open SLA due date (what the dashboard's compliance count reads) is kept too.
    const drift = await t.db.owner.query<{ id: string }>(
      `SELECT d.id FROM devices d
        WHERE d.open_sla_due_at IS DISTINCT FROM
              (SELECT min(f.sla_due_at) FROM findings f WHERE f.device_id = d.id AND f.status = 'open')`,
    );
    expect(drift).toEqual([]);
  });

  it("sorts by risk, highest first, and pages by cursor", async () => {
    const items = await list("sort=risk&limit=50");
    const risks = items.map((d) => [d.risk, d.openFindings]);
    expect(risks).toEqual([...risks].sort((a, b) => (b[0] ?? 0) - (a[0] ?? 0) || (b[1] ?? 0) - (a[1] ?? 0)));
    expect(items.at(-1)?.id).toBe(quiet);
    expect(await walk("sort=risk")).toEqual(items.map((d) => d.hostname));
    const ascending = await walk("sort=risk&order=asc");
    expect(ascending).toEqual(items.map((d) => d.hostname).reverse());
  });

  it("sorts by last seen (microseconds kept across pages) and by online state", async () => {
    const order = [
      "sort-db.example.test",
      "sort-web.example.test",
      "sort-lab.example.test",
      "sort-quiet.example.test",
    ];
    expect(await walk("sort=lastSeen")).toEqual(order);
    expect(await walk("sort=lastSeen&order=asc")).toEqual([...order].reverse());
    expect(await walk("sort=online")).toEqual(order);
  });

  it("sorts by operating system, then hostname", async () => {
    const items = await list("sort=os&limit=50");
    const keys = items.map((d) => `${d.os.name}\u0000${d.os.version}\u0000${d.hostname}`);
    expect(keys).toEqual([...keys].sort());
    expect(await walk("sort=os")).toEqual(items.map((d) => d.hostname));
    expect(await walk("sort=os&order=desc")).toEqual(items.map((d) => d.hostname).reverse());
    expect(await walk("sort=hostname")).toEqual(items.map((d) => d.hostname).sort());
  });

  it("follows a decision: an accepted risk leaves the device's open findings", async () => {
    const before = (await list("limit=50")).find((d) => d.id === fleet.lab.deviceId);
    const findings = (await get(`/findings?status=open&limit=200`, org.owner)).json().items as {
      id: string;
      device: { id: string };
      vulnerability: { id: string };
    }[];
    const curl = findings.find((f) => f.device.id === fleet.lab.deviceId && f.vulnerability.id === CVE.curl);
    expect(curl).toBeDefined();
    const decided = await call(t.app, {
      method: "PATCH",
      url: `/api/v1/orgs/${org.organizationId}/findings/${curl?.id}`,
      as: org.owner,
      body: {
        status: "accepted_risk",
        reason: "Lab only",
        expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
      },
    });
    expect(decided.statusCode, decided.body).toBe(200);
    const after = (await list("limit=50")).find((d) => d.id === fleet.lab.deviceId);
    expect(after?.openFindings).toBe((before?.openFindings ?? 0) - 1);
    const expected = await openFindingsByDevice();
    expect(after?.risk).toBe(expected.get(fleet.lab.deviceId)?.risk ?? 0);
  });

  it("refuses sorts and orders outside the allow-list, and cursors made for another sort", async () => {
    for (const query of ["sort=hardware_id", "sort=risk;DROP", "order=sideways", "sort=risk&colour=blue"]) {
      const response = await get(`/devices?${query}`);
      expect(response.statusCode, query).toBe(400);
      expect(response.json().error.code).toBe("request.invalid");
    }
    const first = (await get("/devices?sort=risk&limit=1")).json();
    for (const query of [
      `sort=os&cursor=${first.nextCursor}`,
      `sort=risk&order=asc&cursor=${first.nextCursor}`,
    ]) {
      const response = await get(`/devices?${query}`);
      expect(response.statusCode, query).toBe(400);
      expect(response.json().error.field).toBe("querystring/cursor");
    }
    const forged = Buffer.from(JSON.stringify(["risk", "desc", "x", "1", "not-a-uuid"])).toString(
      "base64url",
    );
    expect((await get(`/devices?sort=risk&cursor=${forged}`)).statusCode).toBe(400);
  });

  it("never sorts another organisation's devices in", async () => {
    for (const sort of ["risk", "lastSeen", "os", "online"]) {
      const ids = (await list(`sort=${sort}&limit=200`)).map((d) => d.id);
      expect(ids).not.toContain(otherFleet.web.deviceId);
      expect(ids).toHaveLength(4);
    }
  });
});

describe("a device's rollout history", () => {
  it("lists the rollouts a device took part in, with its ring and state", async () => {
    const created = await call(t.app, {
      method: "POST",
      url: `/api/v1/orgs/${org.organizationId}/rollouts`,
      as: org.owner,
      body: {
        name: "curl for the web servers",
        mode: "packages",
        packages: [{ name: "curl" }],
        rings: [{ name: "Web", groupIds: [fleet.groupId], requireApproval: true }],
      },
    });
    expect(created.statusCode, created.body).toBe(201);
    const rolloutId = created.json().id;
    const response = await get(`/devices/${fleet.web.deviceId}/rollouts`);
    expect(response.statusCode, response.body).toBe(200);
    const { items, nextCursor } = response.json();
    expect(nextCursor).toBeNull();
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({
      rolloutId,
      name: "curl for the web servers",
      mode: "packages",
      ring: 0,
      ringName: "Web",
      attempts: expect.any(Number),
    });
    expect(typeof items[0].state).toBe("string");
    // The database server is not in the group: it took part in nothing.
    expect((await get(`/devices/${fleet.db.deviceId}/rollouts`)).json().items).toEqual([]);
  });

  it("answers another organisation's device, or a missing one, as not found", async () => {
    for (const id of [otherFleet.web.deviceId, crypto.randomUUID()]) {
      const response = await get(`/devices/${id}/rollouts`);
      expect(response.statusCode).toBe(404);
      expect(response.json().error.code).toBe("devices.not_found");
    }
    expect((await get(`/devices/${fleet.web.deviceId}/rollouts`, null)).statusCode).toBe(401);
    expect((await get(`/devices/${fleet.web.deviceId}/rollouts?limit=0`)).statusCode).toBe(400);
  });
});
