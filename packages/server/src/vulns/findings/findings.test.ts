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
import { CVE, type Fleet, importFixtureAdvisories, seedFleet } from "../../testing/vulns.js";
import type { FindingView } from "./finding-view.js";

let t: TestApp;
let org: TestOrg;
let auditor: TestPerson;
let fleet: Fleet;
let other: TestOrg;
let otherFleet: Fleet;

beforeAll(async () => {
  t = await startTestApp();
  await importFixtureAdvisories(t.db);
  org = await createTestOrg(t.db, "Findings Ltd");
  auditor = await addTestMember(t.db, org.organizationId, "auditor");
  fleet = await seedFleet(t, org.organizationId);
  other = await createTestOrg(t.db, "Elsewhere Ltd");
  otherFleet = await seedFleet(t, other.organizationId, "elsewhere");
});
afterAll(() => t.close());

async function list(
  query = "",
  as: TestPerson = auditor,
): Promise<{ items: FindingView[]; nextCursor: string | null }> {
  const response = await call(t.app, {
    method: "GET",
    url: `/api/v1/orgs/${org.organizationId}/findings${query}`,
    as,
  });
  expect(response.statusCode, response.body).toBe(200);
  return response.json();
}

const keys = (items: FindingView[]) =>
  items.map((f) => `${f.device.hostname} ${f.vulnerability.id} ${f.package.name}`);

describe("GET findings", () => {
  it("lists open findings by risk, highest first, with what a person needs to act", async () => {
    const { items, nextCursor } = await list("?limit=200");
    expect(nextCursor).toBeNull();
    expect(items).toHaveLength(13);
    expect(items.map((f) => f.risk)).toEqual([
      98, 98, 98, 98, 45, 45, 39.8, 39.8, 39.8, 39.8, 23.3, 23.3, 3.8,
    ]);
    const top = items.find((f) => f.device.id === fleet.web.deviceId && f.package.name === "openssl");
    expect(top).toMatchObject({
      device: { id: fleet.web.deviceId, hostname: "fleet-web.example.test" },
      vulnerability: {
        id: CVE.critical,
        severity: "critical",
        cvssScore: 9.8,
        epss: 0.9,
        epssPercentile: 0.99,
        kev: true,
      },
      severity: "critical",
      package: { name: "openssl", arch: "amd64" },
      installedVersion: "3.0.11-1~deb12u1",
      fixedVersion: "3.0.11-1~deb12u2",
      rangeStatus: "fixed",
      status: "open",
      risk: 98,
      overdue: false,
      closedAt: null,
      suppression: null,
    });
    // Critical findings are due 14 days after they were first seen (the matcher's clock, to the second).
    const due = Date.parse(top?.slaDueAt ?? "") - Date.parse(top?.firstSeenAt ?? "");
    expect(Math.abs(due - 14 * 86_400_000)).toBeLessThan(1000);
    // "Affected, no fix yet" is its own state, not a fixed version of null with a fixed status.
    const noFix = items.find((f) => f.vulnerability.id === CVE.noFix);
    expect(noFix).toMatchObject({ fixedVersion: null, rangeStatus: "affected", severity: "medium" });
    expect(items.find((f) => f.vulnerability.id === CVE.wontFix)).toMatchObject({
      fixedVersion: null,
      rangeStatus: "will_not_fix",
    });
    // Another organisation's identical fleet is not here.
    expect(items.some((f) => f.device.id === otherFleet.web.deviceId)).toBe(false);
  });

  it("filters by device, group, vulnerability (CVE or alias), package, severity, KEV and fix", async () => {
    expect((await list(`?deviceId=${fleet.lab.deviceId}`)).items.map((f) => f.vulnerability.id)).toEqual([
      CVE.curl,
    ]);
    expect((await list(`?groupId=${fleet.groupId}&limit=200`)).items).toHaveLength(8);
    expect(keys((await list(`?vulnerabilityId=${CVE.critical}`)).items).sort()).toEqual([
      `fleet-db.example.test ${CVE.critical} libssl3`,
      `fleet-db.example.test ${CVE.critical} openssl`,
      `fleet-web.example.test ${CVE.critical} libssl3`,
      `fleet-web.example.test ${CVE.critical} openssl`,
    ]);
    // The DSA is an alias of the CVE; a lower-case CVE id is the same CVE.
    expect((await list("?vulnerabilityId=DSA-5532-1")).items).toHaveLength(4);
    expect((await list("?vulnerabilityId=cve-2026-1001")).items).toHaveLength(4);
    // An advisory of two CVEs names the findings of both (here only curl's are installed).
    expect((await list("?vulnerabilityId=DSA-5600-1")).items.map((f) => f.vulnerability.id)).toEqual([
      CVE.curl,
      CVE.curl,
    ]);
    expect((await list("?vulnerabilityId=CVE-1999-0001")).items).toEqual([]);
    expect((await list("?package=libssl3&limit=200")).items).toHaveLength(4);
    expect((await list("?severity=low")).items.map((f) => f.package.name)).toEqual(["bash", "bash"]);
    expect((await list("?kev=true&limit=200")).items.every((f) => f.vulnerability.id === CVE.critical)).toBe(
      true,
    );
    expect((await list("?kev=false&limit=200")).items).toHaveLength(9);
    expect((await list("?fixAvailable=true&limit=200")).items.map((f) => f.fixedVersion).sort()).toEqual([
      "3.0.11-1~deb12u2",
      "3.0.11-1~deb12u2",
      "3.0.11-1~deb12u2",
      "3.0.11-1~deb12u2",
      "7.88.1-10+deb12u5",
      "7.88.1-10+deb12u5",
    ]);
    expect((await list("?fixAvailable=false&limit=200")).items).toHaveLength(7);
    expect((await list("?status=fixed")).items).toEqual([]);
    expect((await list("?status=all&limit=200")).items).toHaveLength(13);
  });

  it("shows overdue findings when their due date has passed", async () => {
    await t.db.owner.query(
      "UPDATE findings SET sla_due_at = now() - interval '1 day' WHERE device_id = $1 AND package_name = 'curl'",
      [fleet.lab.deviceId],
    );
    const overdue = await list("?overdue=true");
    expect(overdue.items.map((f) => [f.device.id, f.package.name, f.overdue])).toEqual([
      [fleet.lab.deviceId, "curl", true],
    ]);
    expect((await list("?overdue=false&limit=200")).items).toHaveLength(12);
  });

  it("pages through every finding without a gap or a repeat", async () => {
    const all = (await list("?limit=200")).items.map((f) => f.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { items: FindingView[]; nextCursor: string | null } = await list(
        `?limit=3${cursor ? `&cursor=${cursor}` : ""}`,
      );
      seen.push(...page.items.map((f) => f.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(5);
    expect(seen).toEqual(all);
  });

  it("refuses bad filters with the field named, and needs a member", async () => {
    const base = `/api/v1/orgs/${org.organizationId}/findings`;
    for (const [query, field] of [
      ["?status=closed", "querystring/status"],
      ["?severity=urgent", "querystring/severity"],
      ["?kev=maybe", "querystring/kev"],
      ["?deviceId=not-a-uuid", "querystring/deviceId"],
      ["?limit=0", "querystring/limit"],
      ["?sort=risk", "querystring/sort"],
      ["?cursor=bm90LWEtY3Vyc29y", "querystring/cursor"],
    ] as const) {
      const response = await call(t.app, { method: "GET", url: `${base}${query}`, as: auditor });
      expect(response.statusCode, query).toBe(400);
      expect(response.json().error).toMatchObject({ code: "request.invalid", field });
    }
    expect((await call(t.app, { method: "GET", url: base })).statusCode).toBe(401);
    expect((await call(t.app, { method: "GET", url: base, as: other.owner })).statusCode).toBe(404);
  });
});

describe("GET findings/:findingId", () => {
  it("shows one finding, and answers 404 for a missing one or another organisation's", async () => {
    const [first] = (await list()).items;
    const one = await call(t.app, {
      method: "GET",
      url: `/api/v1/orgs/${org.organizationId}/findings/${first?.id}`,
      as: auditor,
    });
    expect(one.statusCode).toBe(200);
    expect(one.json()).toEqual(first);
    const theirs = (
      await call(t.app, {
        method: "GET",
        url: `/api/v1/orgs/${other.organizationId}/findings`,
        as: other.owner,
      })
    ).json().items[0].id;
    for (const id of [crypto.randomUUID(), theirs]) {
      const response = await call(t.app, {
        method: "GET",
        url: `/api/v1/orgs/${org.organizationId}/findings/${id}`,
        as: auditor,
      });
      expect(response.statusCode).toBe(404);
      expect(response.json().error.code).toBe("findings.not_found");
    }
  });
});

describe("GET findings/summary", () => {
  it("counts open findings by severity, KEV, overdue, fixes and devices", async () => {
    const response = await call(t.app, {
      method: "GET",
      url: `/api/v1/orgs/${org.organizationId}/findings/summary`,
      as: auditor,
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      open: { critical: 4, high: 2, medium: 4, low: 2, negligible: 1, unknown: 0, total: 13 },
      kev: 4,
      overdue: 1,
      acceptedRisk: 0,
      falsePositive: 0,
      fixAvailable: 6,
      devicesWithOpenFindings: 3,
      meanTimeToRemediateDays: null,
      trend: [],
    });
  });
});
