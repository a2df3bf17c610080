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
  CVE,
  type Fleet,
  importFixtureAdvisories,
  opensslPackages,
  seedFindings,
  seedFleet,
} from "../../testing/vulns.js";

let t: TestApp;
let org: TestOrg;
let operator: TestPerson;
let fleet: Fleet;
let other: TestOrg;
let otherFleet: Fleet;
const inAMonth = () => new Date(Date.now() + 30 * 86_400_000).toISOString();

beforeAll(async () => {
  t = await startTestApp();
  await importFixtureAdvisories(t.db);
  org = await createTestOrg(t.db, "Deciding Ltd");
  operator = await addTestMember(t.db, org.organizationId, "operator");
  fleet = await seedFleet(t, org.organizationId);
  other = await createTestOrg(t.db, "Neighbour Ltd");
  otherFleet = await seedFleet(t, other.organizationId, "neighbour");
});
afterAll(() => t.close());

const base = () => `/api/v1/orgs/${org.organizationId}`;
const suppress = (body: unknown, as: TestPerson = operator) =>
  call(t.app, { method: "POST", url: `${base()}/suppressions`, as, body });
const revoke = (id: string, as: TestPerson = operator) =>
  call(t.app, { method: "DELETE", url: `${base()}/suppressions/${id}`, as });

/** Each finding of a vulnerability as "host package status". */
async function statuses(vulnerabilityId: string): Promise<string[]> {
  const response = await call(t.app, {
    method: "GET",
    url: `${base()}/findings?status=all&vulnerabilityId=${vulnerabilityId}&limit=200`,
    as: operator,
  });
  return response
    .json()
    .items.map(
      (f: { device: { hostname: string }; package: { name: string }; status: string }) =>
        `${f.device.hostname.split(".")[0]} ${f.package.name} ${f.status}`,
    )
    .sort();
}

async function lastAudit(action: string) {
  const rows = await t.db.owner.query<{
    actor_id: string;
    target_id: string;
    details: Record<string, unknown>;
  }>(
    "SELECT actor_id, target_id, details FROM audit_events WHERE organization_id = $1 AND action = $2 ORDER BY seq DESC LIMIT 1",
    [org.organizationId, action],
  );
  return rows[0];
}

describe("POST suppressions", () => {
  it("accepts a risk on one device until a date: its findings take the decision, audited with who, why and until when", async () => {
    const expiresAt = inAMonth();
    const response = await suppress({
      vulnerabilityId: "DSA-5532-1",
      scope: { type: "device", id: fleet.web.deviceId },
      kind: "accepted_risk",
      reason: "Internal host; replacement scheduled for next quarter.",
      owner: "Platform team",
      expiresAt,
    });
    expect(response.statusCode, response.body).toBe(201);
    const created = response.json();
    expect(created).toMatchObject({
      vulnerabilityId: CVE.critical,
      packageName: null,
      scope: { type: "device", id: fleet.web.deviceId },
      kind: "accepted_risk",
      justification: null,
      owner: "Platform team",
      createdBy: operator.userId,
      expiresAt: new Date(expiresAt).toISOString(),
      revokedAt: null,
      state: "active",
      findingCount: 2,
    });
    expect(await statuses(CVE.critical)).toEqual([
      "fleet-db libssl3 open",
      "fleet-db openssl open",
      "fleet-web libssl3 accepted_risk",
      "fleet-web openssl accepted_risk",
    ]);
    const finding = (
      await call(t.app, {
        method: "GET",
        url: `${base()}/findings?status=accepted_risk&deviceId=${fleet.web.deviceId}`,
        as: operator,
      })
    ).json().items[0];
    expect(finding.suppression).toMatchObject({
      id: created.id,
      kind: "accepted_risk",
      owner: "Platform team",
      expiresAt: created.expiresAt,
    });
    expect(await lastAudit("suppressions.created")).toMatchObject({
      actor_id: operator.userId,
      target_id: created.id,
      details: {
        vulnerabilityId: CVE.critical,
        kind: "accepted_risk",
        reason: "Internal host; replacement scheduled for next quarter.",
        expiresAt: created.expiresAt,
        scope: { type: "device", id: fleet.web.deviceId },
        findingsCovered: 2,
      },
    });
  });

  it("marks a false positive for a group, with an OpenVEX justification", async () => {
    const response = await suppress({
      vulnerabilityId: CVE.curl,
      scope: { type: "group", id: fleet.groupId },
      kind: "false_positive",
      justification: "vulnerable_code_not_in_execute_path",
      reason: "curl is only used for local health checks.",
      owner: "Web team",
    });
    expect(response.statusCode, response.body).toBe(201);
    expect(response.json()).toMatchObject({
      expiresAt: null,
      findingCount: 2,
      justification: "vulnerable_code_not_in_execute_path",
    });
    expect(await statuses(CVE.curl)).toEqual([
      "fleet-lab curl false_positive",
      "fleet-web curl false_positive",
    ]);
  });

  it("decides for the whole organisation, one package only, and for devices that come later", async () => {
    const response = await suppress({
      vulnerabilityId: CVE.noFix,
      packageName: "libssl3",
      scope: { type: "organization" },
      kind: "false_positive",
      reason: "libssl3 is rebuilt without the affected module here.",
      owner: "Security",
    });
    expect(response.statusCode, response.body).toBe(201);
    expect(await statuses(CVE.noFix)).toEqual([
      "fleet-db libssl3 false_positive",
      "fleet-db openssl open",
      "fleet-web libssl3 false_positive",
      "fleet-web openssl open",
    ]);
    // The organisation is this one only: the neighbour's identical findings stay open.
    const theirs = await call(t.app, {
      method: "GET",
      url: `/api/v1/orgs/${other.organizationId}/findings?status=all&vulnerabilityId=${CVE.noFix}&deviceId=${otherFleet.web.deviceId}`,
      as: other.owner,
    });
    expect(theirs.json().items.map((f: { status: string }) => f.status)).toEqual(["open", "open"]);
    // The matcher applies the same decision to a device that appears afterwards.
    await seedFindings(t, org.organizationId, opensslPackages("3.0.11-1~deb12u1"), {
      hostname: "late.example.test",
    });
    expect((await statuses(CVE.noFix)).filter((s) => s.startsWith("late"))).toEqual([
      "late libssl3 false_positive",
      "late openssl open",
    ]);
  });

  it("puts findings back when revoked, and lets a device's own decision win over a wider one", async () => {
    const wide = (
      await suppress({
        vulnerabilityId: CVE.wontFix,
        scope: { type: "organization" },
        kind: "accepted_risk",
        reason: "bash is not exposed.",
        owner: "Security",
        expiresAt: inAMonth(),
      })
    ).json();
    const own = (
      await suppress({
        vulnerabilityId: CVE.wontFix,
        scope: { type: "device", id: fleet.db.deviceId },
        kind: "false_positive",
        reason: "bash is not installed as a login shell here.",
        owner: "DBA",
      })
    ).json();
    expect(await statuses(CVE.wontFix)).toEqual([
      "fleet-db bash false_positive",
      "fleet-web bash accepted_risk",
    ]);
    expect((await revoke(own.id)).statusCode).toBe(204);
    expect(await statuses(CVE.wontFix)).toEqual([
      "fleet-db bash accepted_risk",
      "fleet-web bash accepted_risk",
    ]);
    expect(await lastAudit("suppressions.revoked")).toMatchObject({
      actor_id: operator.userId,
      target_id: own.id,
      details: { vulnerabilityId: CVE.wontFix, kind: "false_positive", findingsReleased: 1 },
    });
    expect((await revoke(wide.id)).statusCode).toBe(204);
    expect(await statuses(CVE.wontFix)).toEqual(["fleet-db bash open", "fleet-web bash open"]);
    const again = await revoke(wide.id);
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe("suppressions.already_revoked");
    expect((await revoke(crypto.randomUUID())).json().error.code).toBe("suppressions.not_found");
  });
});

describe("GET suppressions", () => {
  it("lists decisions newest first with their state, filtered and paged", async () => {
    const all = (
      await call(t.app, { method: "GET", url: `${base()}/suppressions?limit=200`, as: operator })
    ).json();
    expect(
      all.items.map((s: { vulnerabilityId: string; state: string }) => `${s.vulnerabilityId} ${s.state}`),
    ).toEqual([
      `${CVE.wontFix} revoked`,
      `${CVE.wontFix} revoked`,
      `${CVE.noFix} active`,
      `${CVE.curl} active`,
      `${CVE.critical} active`,
    ]);
    expect(all.items[2].findingCount).toBe(3);
    const revoked = (
      await call(t.app, { method: "GET", url: `${base()}/suppressions?state=revoked`, as: operator })
    ).json();
    expect(revoked.items).toHaveLength(2);
    const byAlias = (
      await call(t.app, {
        method: "GET",
        url: `${base()}/suppressions?vulnerabilityId=DSA-5532-1`,
        as: operator,
      })
    ).json();
    expect(byAlias.items.map((s: { vulnerabilityId: string }) => s.vulnerabilityId)).toEqual([CVE.critical]);
    const first = (
      await call(t.app, { method: "GET", url: `${base()}/suppressions?limit=3`, as: operator })
    ).json();
    const second = (
      await call(t.app, {
        method: "GET",
        url: `${base()}/suppressions?limit=3&cursor=${first.nextCursor}`,
        as: operator,
      })
    ).json();
    expect([...first.items, ...second.items].map((s: { id: string }) => s.id)).toEqual(
      all.items.map((s: { id: string }) => s.id),
    );
    expect(second.nextCursor).toBeNull();
  });
});
