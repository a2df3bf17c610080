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
import type { FindingView } from "./finding-view.js";
import { expireSuppressions } from "./suppression-expiry.js";

let t: TestApp;
let org: TestOrg;
let operator: TestPerson;
let fleet: Fleet;
const inAMonth = () => new Date(Date.now() + 30 * 86_400_000).toISOString();

beforeAll(async () => {
  t = await startTestApp({ backgroundWork: false });
  await importFixtureAdvisories(t.db);
  org = await createTestOrg(t.db, "Patching Ltd");
  operator = await addTestMember(t.db, org.organizationId, "operator");
  fleet = await seedFleet(t, org.organizationId);
});
afterAll(() => t.close());

const base = () => `/api/v1/orgs/${org.organizationId}`;

async function findingOf(
  deviceId: string,
  vulnerabilityId: string,
  packageName: string,
): Promise<FindingView> {
  const response = await call(t.app, {
    method: "GET",
    url: `${base()}/findings?status=all&deviceId=${deviceId}&vulnerabilityId=${vulnerabilityId}&package=${packageName}`,
    as: operator,
  });
  const [finding] = response.json().items;
  if (!finding) throw new Error(`no finding of ${vulnerabilityId} in ${packageName}`);
  return finding;
}

const decide = (findingId: string, body: unknown) =>
  call(t.app, { method: "PATCH", url: `${base()}/findings/${findingId}`, as: operator, body });

describe("PATCH findings/:findingId", () => {
  it("accepts one finding's risk on its device and package, and takes it back", async () => {
    const finding = await findingOf(fleet.db.deviceId, CVE.critical, "openssl");
    const accepted = await decide(finding.id, {
      status: "accepted_risk",
      reason: "Maintenance window next week.",
      expiresAt: inAMonth(),
    });
    expect(accepted.statusCode, accepted.body).toBe(200);
    expect(accepted.json()).toMatchObject({
      id: finding.id,
      status: "accepted_risk",
      suppression: {
        kind: "accepted_risk",
        reason: "Maintenance window next week.",
        scope: { type: "device", id: fleet.db.deviceId },
      },
    });
    // The owner defaults to the person deciding; the sibling package on the device stays open.
    expect(accepted.json().suppression.owner).toBe("operator person");
    expect((await findingOf(fleet.db.deviceId, CVE.critical, "libssl3")).status).toBe("open");

    const reopened = await decide(finding.id, { status: "open", reason: "Decided to patch now after all." });
    expect(reopened.statusCode, reopened.body).toBe(200);
    expect(reopened.json()).toMatchObject({ status: "open", suppression: null });
    const audit = await t.db.owner.query<{
      action: string;
      details: { findingId?: string; reason?: string };
    }>(
      "SELECT action, details FROM audit_events WHERE organization_id = $1 AND action LIKE 'suppressions.%' ORDER BY seq",
      [org.organizationId],
    );
    expect(audit.map((a) => [a.action, a.details.findingId, a.details.reason])).toEqual([
      ["suppressions.created", finding.id, "Maintenance window next week."],
      ["suppressions.revoked", finding.id, "Decided to patch now after all."],
    ]);
  });

  it("replaces the device's earlier decision, and keeps the justification of a false positive", async () => {
    const finding = await findingOf(fleet.web.deviceId, CVE.noFix, "openssl");
    await decide(finding.id, { status: "accepted_risk", reason: "first", expiresAt: inAMonth() });
    const dismissed = await decide(finding.id, {
      status: "false_positive",
      reason: "The vulnerable cipher is disabled in the build.",
      justification: "vulnerable_code_not_present",
    });
    expect(dismissed.statusCode, dismissed.body).toBe(200);
    expect(dismissed.json()).toMatchObject({
      status: "false_positive",
      suppression: { kind: "false_positive", justification: "vulnerable_code_not_present" },
    });
    const active = (
      await call(t.app, { method: "GET", url: `${base()}/suppressions?state=active`, as: operator })
    ).json();
    expect(active.items.map((s: { kind: string; reason: string }) => `${s.kind} ${s.reason}`)).toEqual([
      "false_positive The vulnerable cipher is disabled in the build.",
    ]);
  });

  it("does not undo a group's or the organisation's decision from one finding", async () => {
    const wide = await call(t.app, {
      method: "POST",
      url: `${base()}/suppressions`,
      as: operator,
      body: {
        vulnerabilityId: CVE.curl,
        scope: { type: "group", id: fleet.groupId },
        kind: "false_positive",
        reason: "r",
        owner: "o",
      },
    });
    expect(wide.statusCode).toBe(201);
    const finding = await findingOf(fleet.lab.deviceId, CVE.curl, "curl");
    const refused = await decide(finding.id, { status: "open", reason: "please" });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.code).toBe("findings.suppressed_by_wider_scope");
    expect((await findingOf(fleet.lab.deviceId, CVE.curl, "curl")).status).toBe("false_positive");
  });

  it("refuses a decision on a fixed finding, bad input, a missing finding and an Auditor", async () => {
    await uploadInventory(t, fleet.db, [...opensslPackages("3.0.11-1~deb12u2"), bashPackage()]);
    await matchQueuedChanges(t);
    const fixed = await findingOf(fleet.db.deviceId, CVE.critical, "libssl3");
    expect(fixed.status).toBe("fixed");
    const closed = await decide(fixed.id, { status: "false_positive", reason: "late" });
    expect(closed.statusCode).toBe(409);
    expect(closed.json().error.code).toBe("findings.closed");
    const open = await findingOf(fleet.web.deviceId, CVE.wontFix, "bash");
    for (const [body, field] of [
      [{ status: "accepted_risk", reason: "no date" }, "body/expiresAt"],
      [{ status: "accepted_risk", reason: "past", expiresAt: "2020-01-01T00:00:00Z" }, "body/expiresAt"],
      [{ status: "fixed", reason: "x" }, "body/status"],
      [{ status: "open" }, "body/reason"],
      [{ status: "open", reason: "x", note: "y" }, "body/note"],
      [{ status: "open", reason: "x", expiresAt: "2099-01-01T00:00:00Z" }, "body/expiresAt"],
    ] as const) {
      const response = await decide(open.id, body);
      expect(response.statusCode, JSON.stringify(body)).toBe(400);
      expect(response.json().error.field).toBe(field);
    }
    expect((await decide(crypto.randomUUID(), { status: "open", reason: "x" })).json().error.code).toBe(
      "findings.not_found",
    );
    const auditor = await addTestMember(t.db, org.organizationId, "auditor");
    const refused = await call(t.app, {
      method: "PATCH",
      url: `${base()}/findings/${open.id}`,
      as: auditor,
      body: { status: "open", reason: "x" },
    });
    expect(refused.statusCode).toBe(403);
  });
});

describe("expireSuppressions", () => {
  it("gives lapsed accepted risks' findings back, audits each lapse, and is idempotent", async () => {
    const finding = await findingOf(fleet.web.deviceId, CVE.wontFix, "bash");
    const decided = await decide(finding.id, {
      status: "accepted_risk",
      reason: "short reprieve",
      expiresAt: inAMonth(),
    });
    const suppressionId = decided.json().suppression.id;
    // Time passes: the decision's date is now behind us.
    await t.db.owner.query("UPDATE suppressions SET expires_at = now() - interval '1 minute' WHERE id = $1", [
      suppressionId,
    ]);
    expect((await findingOf(fleet.web.deviceId, CVE.wontFix, "bash")).status).toBe("accepted_risk");
    expect(await expireSuppressions(t.db)).toEqual({
      organizations: 1,
      suppressions: 1,
      findingsReleased: 1,
    });
    expect(await findingOf(fleet.web.deviceId, CVE.wontFix, "bash")).toMatchObject({
      status: "open",
      suppression: null,
    });
    const audit = await t.db.owner.query<{
      actor_type: string;
      target_id: string;
      details: { findingsReleased: number };
    }>(
      "SELECT actor_type, target_id, details FROM audit_events WHERE organization_id = $1 AND action = 'suppressions.expired'",
      [org.organizationId],
    );
    expect(audit).toEqual([
      {
        actor_type: "system",
        target_id: suppressionId,
        details: expect.objectContaining({ findingsReleased: 1 }),
      },
    ]);
    expect(await expireSuppressions(t.db)).toEqual({
      organizations: 0,
      suppressions: 0,
      findingsReleased: 0,
    });
    const listed = (
      await call(t.app, { method: "GET", url: `${base()}/suppressions?state=expired`, as: operator })
    ).json();
    expect(listed.items.map((s: { id: string; findingCount: number }) => [s.id, s.findingCount])).toEqual([
      [suppressionId, 0],
    ]);
  });
});
