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
import { CVE, type Fleet, importFixtureAdvisories, seedFleet } from "../../testing/vulns.js";
import { affectedPage } from "./affected-devices.js";

let t: TestApp;
let org: TestOrg;
let auditor: TestPerson;
let fleet: Fleet;
let other: TestOrg;

beforeAll(async () => {
  t = await startTestApp();
  await importFixtureAdvisories(t.db);
  org = await createTestOrg(t.db, "Vulnerable Ltd");
  auditor = await addTestMember(t.db, org.organizationId, "auditor");
  fleet = await seedFleet(t, org.organizationId);
  other = await createTestOrg(t.db, "Other Ltd");
  await seedFleet(t, other.organizationId, "other");
});
afterAll(() => t.close());

const get = (path: string, as: TestPerson | null = auditor) =>
  call(t.app, { method: "GET", url: `/api/v1/orgs/${org.organizationId}${path}`, as });

describe("GET vulnerabilities", () => {
  it("lists the organisation's vulnerabilities by risk, with affected devices", async () => {
    const response = await get("/vulnerabilities");
    expect(response.statusCode).toBe(200);
    const { items, nextCursor } = response.json();
    expect(nextCursor).toBeNull();
    expect(
      items.map((v: { id: string; risk: number; affectedDevices: number; openFindings: number }) => [
        v.id,
        v.risk,
        v.affectedDevices,
        v.openFindings,
      ]),
    ).toEqual([
      [CVE.critical, 98, 2, 4],
      [CVE.curl, 45, 2, 2],
      [CVE.noFix, 39.8, 2, 4],
      [CVE.wontFix, 23.3, 2, 2],
      [CVE.investigating, 3.8, 1, 1],
    ]);
    expect(items[0]).toMatchObject({
      severity: "critical",
      cvssScore: 9.8,
      epss: 0.9,
      kev: true,
      summary: `${CVE.critical} in a package`,
    });
  });

  it("sorts by affected devices and pages with a cursor", async () => {
    const first = (await get("/vulnerabilities?sort=affectedDevices&limit=2")).json();
    const second = (
      await get(`/vulnerabilities?sort=affectedDevices&limit=2&cursor=${first.nextCursor}`)
    ).json();
    const third = (
      await get(`/vulnerabilities?sort=affectedDevices&limit=2&cursor=${second.nextCursor}`)
    ).json();
    expect([...first.items, ...second.items, ...third.items].map((v: { id: string }) => v.id)).toEqual([
      CVE.critical,
      CVE.noFix,
      CVE.curl,
      CVE.wontFix,
      CVE.investigating,
    ]);
    expect(third.nextCursor).toBeNull();
  });
});

describe("GET vulnerabilities/:vulnerabilityId", () => {
  it("shows the knowledge base's details with this organisation's counts", async () => {
    const response = await get(`/vulnerabilities/${CVE.critical}`);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      id: CVE.critical,
      aliases: ["DSA-5532-1"],
      severity: "critical",
      cvssV3: { score: 9.8, vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" },
      cvssV4: null,
      cwes: ["CWE-79"],
      epss: { score: 0.9, percentile: 0.99, date: "2026-01-10" },
      kev: { dateAdded: "2026-01-10", dueDate: "2026-01-31", knownRansomware: false },
      organization: {
        affectedDevices: 2,
        openFindings: 4,
        fixedFindings: 0,
        acceptedRisk: 0,
        falsePositive: 0,
      },
    });
  });

  it("finds a vulnerability by an alias (a DSA names its CVE)", async () => {
    const response = await get("/vulnerabilities/DSA-5532-1");
    expect(response.statusCode).toBe(200);
    expect(response.json().id).toBe(CVE.critical);
  });

  it("answers zero counts for a known vulnerability nobody here has, 404 for an unknown one, 409 for an advisory of several", async () => {
    const none = await get(`/vulnerabilities/${CVE.unmatched}`);
    expect(none.statusCode).toBe(200);
    expect(none.json().organization).toEqual({
      affectedDevices: 0,
      openFindings: 0,
      fixedFindings: 0,
      acceptedRisk: 0,
      falsePositive: 0,
      firstSeenAt: null,
    });
    const unknown = await get("/vulnerabilities/CVE-1999-0001");
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error).toMatchObject({
      code: "vulnerabilities.not_found",
      message: "There is no such vulnerability in the knowledge base.",
    });
    const several = await get("/vulnerabilities/DSA-5600-1");
    expect(several.statusCode).toBe(409);
    expect(several.json().error.code).toBe("vulnerabilities.ambiguous_id");
    expect(several.json().error.message).toContain(`${CVE.curl}, ${CVE.unmatched}`);
    expect((await get("/vulnerabilities/<script>")).statusCode).toBe(400);
  });
});

describe("GET vulnerabilities/:vulnerabilityId/devices", () => {
  it("lists the devices with it open, longest exposed first, with the total", async () => {
    const response = await get(`/vulnerabilities/${CVE.critical}/devices?limit=3`);
    expect(response.statusCode).toBe(200);
    const page = response.json();
    expect(page.total).toEqual({ devices: 2, findings: 4 });
    expect(page.items).toHaveLength(3);
    expect(page.items[0]).toMatchObject({
      device: { id: fleet.web.deviceId, hostname: "fleet-web.example.test" },
      installedVersion: "3.0.11-1~deb12u1",
      fixedVersion: "3.0.11-1~deb12u2",
      rangeStatus: "fixed",
      risk: 98,
      overdue: false,
    });
    const rest = (await get(`/vulnerabilities/DSA-5532-1/devices?limit=3&cursor=${page.nextCursor}`)).json();
    expect(rest.nextCursor).toBeNull();
    const all = [...page.items, ...rest.items];
    expect(
      all
        .map((d: { device: { id: string }; package: { name: string } }) => `${d.device.id} ${d.package.name}`)
        .sort(),
    ).toEqual(
      [
        `${fleet.db.deviceId} libssl3`,
        `${fleet.db.deviceId} openssl`,
        `${fleet.web.deviceId} libssl3`,
        `${fleet.web.deviceId} openssl`,
      ].sort(),
    );
    const seen = all.map((d: { firstSeenAt: string }) => d.firstSeenAt);
    expect(seen).toEqual([...seen].sort());
  });

  it("answers 404 for an unknown vulnerability and an empty page for one nobody has", async () => {
    expect((await get("/vulnerabilities/CVE-1999-0001/devices")).statusCode).toBe(404);
    const none = (await get(`/vulnerabilities/${CVE.unmatched}/devices`)).json();
    expect(none).toEqual({ items: [], nextCursor: null, total: { devices: 0, findings: 0 } });
  });

  it("reads a vulnerability's findings through its index, not every finding", async () => {
    // A handful of rows is planned differently from a fleet: build a small one of realistic shape
    // (500 devices, 46 vulnerabilities each, statistics gathered) and read the statement's plan.
    const big = await createTestOrg(t.db, "Planned Ltd");
    const o = big.organizationId;
    await t.db.owner.query(
      `INSERT INTO vulnerabilities (id) SELECT 'CVE-2030-' || g FROM generate_series(1000, 1039) g`,
    );
    await t.db.owner.query(
      `INSERT INTO devices (organization_id, hardware_id, hostname, os_family, os_name, os_version, os_build,
                            os_release, kernel, arch, agent_version, facts_hash)
       SELECT $1, 'plan-hardware-' || g, 'plan-' || g, 'linux', 'Debian', '12', '12.5', 'debian:12', '6.1', 'amd64',
              '0.1.0', '\\x00' FROM generate_series(1, 500) g`,
      [o],
    );
    await t.db.owner.query(
      `INSERT INTO software (organization_id, entry_hash, kind, ecosystem, release, name, version)
       VALUES ($1, sha256('plan'::bytea), 'package', 'dpkg', 'debian:12', 'planpkg', '1.0')`,
      [o],
    );
    await t.db.owner.query(
      `INSERT INTO findings (organization_id, device_id, vulnerability_id, package_name, software_id, installed_version,
                             range_status, severity, risk, sla_due_at)
       SELECT $1, d.id, v.id, 'planpkg', s.id, '1.0', 'fixed', 'high', 50, now()
         FROM devices d CROSS JOIN vulnerabilities v JOIN software s ON s.organization_id = $1
        WHERE d.organization_id = $1`,
      [o],
    );
    await t.db.owner.query("ANALYZE findings");
    await t.db.owner.query("ANALYZE devices");
    const plan = await t.db.withOrganization(o, SYSTEM_CONTEXT, async (tx) => {
      const { sql } = await import("kysely");
      const rows = await sql<{
        "QUERY PLAN": string;
      }>`EXPLAIN ${affectedPage("CVE-2030-1007", null, 51)}`.execute(tx.db);
      return rows.rows.map((r) => r["QUERY PLAN"]).join("\n");
    });
    expect(plan).toContain("findings_vulnerability_open_idx");
    expect(plan).not.toContain("Sort"); // read in order, stopping after a page
    const page = (
      await call(t.app, {
        method: "GET",
        url: `/api/v1/orgs/${o}/vulnerabilities/CVE-2030-1007/devices`,
        as: big.owner,
      })
    ).json();
    expect(page.total).toEqual({ devices: 500, findings: 500 });
    await t.db.owner.query(
      "UPDATE devices SET retired_at = now() WHERE organization_id = $1 AND hostname = 'plan-7'",
      [o],
    );
    const afterRetiring = (
      await call(t.app, {
        method: "GET",
        url: `/api/v1/orgs/${o}/vulnerabilities/CVE-2030-1007/devices`,
        as: big.owner,
      })
    ).json();
    expect(afterRetiring.total).toEqual({ devices: 499, findings: 499 });
  });
});

describe("GET /api/v1/feeds", () => {
  it("shows each feed's health to anyone signed in, stale after 48 hours without success", async () => {
    await t.db.system(
      SYSTEM_CONTEXT,
      async (tx) => {
        await tx.db
          .insertInto("feed_state")
          .values([
            {
              feed: "osv-debian",
              last_attempt_at: new Date(),
              last_success_at: new Date(),
              records: 1200,
              skipped: 2,
            },
            {
              feed: "nvd",
              last_attempt_at: new Date(),
              last_success_at: new Date(Date.now() - 49 * 3_600_000),
              last_error: "HTTP 503 from the NVD API",
            },
            { feed: "kev", last_attempt_at: new Date(), last_error: "timed out" },
          ])
          .execute();
      },
      { unaudited: "test fixture: feed health rows" },
    );
    const response = await call(t.app, { method: "GET", url: "/api/v1/feeds", as: auditor });
    expect(response.statusCode).toBe(200);
    expect(
      response
        .json()
        .items.map((f: { feed: string; stale: boolean; records: number; lastError: string | null }) => [
          f.feed,
          f.stale,
          f.records,
          f.lastError,
        ]),
    ).toEqual([
      ["kev", true, 0, "timed out"],
      ["nvd", true, 0, "HTTP 503 from the NVD API"],
      ["osv-debian", false, 1200, null],
    ]);
    expect((await call(t.app, { method: "GET", url: "/api/v1/feeds" })).statusCode).toBe(401);
  });
});
