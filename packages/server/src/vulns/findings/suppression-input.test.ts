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

let t: TestApp;
let org: TestOrg;
let operator: TestPerson;
let fleet: Fleet;
let otherFleet: Fleet;
const inAMonth = () => new Date(Date.now() + 30 * 86_400_000).toISOString();

beforeAll(async () => {
  t = await startTestApp();
  await importFixtureAdvisories(t.db);
  org = await createTestOrg(t.db, "Careful Ltd");
  operator = await addTestMember(t.db, org.organizationId, "operator");
  fleet = await seedFleet(t, org.organizationId);
  const other = await createTestOrg(t.db, "Next Door Ltd");
  otherFleet = await seedFleet(t, other.organizationId, "nextdoor");
});
afterAll(() => t.close());

const suppress = (body: unknown, as: TestPerson = operator) =>
  call(t.app, { method: "POST", url: `/api/v1/orgs/${org.organizationId}/suppressions`, as, body });

describe("bad decisions", () => {
  const valid = () => ({
    vulnerabilityId: CVE.critical,
    scope: { type: "device", id: fleet.db.deviceId },
    kind: "accepted_risk",
    reason: "Reason",
    owner: "Owner",
    expiresAt: inAMonth(),
  });

  it("refuses bad input with the field named, and changes nothing", async () => {
    const before = await t.db.owner.query("SELECT count(*)::int AS n FROM suppressions");
    const cases: [Record<string, unknown>, number, string, string][] = [
      [{ kind: 5 }, 400, "request.invalid", "body/kind"],
      [{ reason: 42 }, 400, "request.invalid", "body/reason"],
      [{ colour: "red" }, 400, "request.invalid", "body/colour"],
      [
        { scope: { type: "device", id: fleet.db.deviceId, extra: 1 } },
        400,
        "request.invalid",
        "body/scope/extra",
      ],
      [{ expiresAt: new Date(Date.now() - 60_000).toISOString() }, 400, "request.invalid", "body/expiresAt"],
      [{ expiresAt: undefined }, 400, "request.invalid", "body/expiresAt"],
      [{ expiresAt: "next tuesday" }, 400, "request.invalid", "body/expiresAt"],
      [{ reason: "x".repeat(2001) }, 400, "request.invalid", "body/reason"],
      [{ reason: "   " }, 400, "request.invalid", "body/reason"],
      [{ owner: "" }, 400, "request.invalid", "body/owner"],
      [{ justification: "component_not_present" }, 400, "request.invalid", "body/justification"],
      [{ kind: "false_positive", justification: "it_is_fine" }, 400, "request.invalid", "body/justification"],
      [{ scope: { type: "organization", id: fleet.db.deviceId } }, 400, "request.invalid", "body/scope/id"],
      [{ scope: { type: "group" } }, 400, "request.invalid", "body/scope/id"],
      [{ vulnerabilityId: "CVE-1999-0001" }, 404, "vulnerabilities.not_found", "body/vulnerabilityId"],
      [{ vulnerabilityId: "DSA-5600-1" }, 409, "vulnerabilities.ambiguous_id", "body/vulnerabilityId"],
      // Another organisation's device or group is answered like a missing one.
      [{ scope: { type: "device", id: otherFleet.web.deviceId } }, 404, "devices.not_found", "body/scope/id"],
      [{ scope: { type: "device", id: crypto.randomUUID() } }, 404, "devices.not_found", "body/scope/id"],
      [{ scope: { type: "group", id: otherFleet.groupId } }, 404, "device_groups.not_found", "body/scope/id"],
    ];
    for (const [change, status, code, field] of cases) {
      const response = await suppress({ ...valid(), ...change });
      expect(response.statusCode, JSON.stringify(change)).toBe(status);
      expect(response.json().error, JSON.stringify(change)).toMatchObject({ code, field });
    }
    expect(await t.db.owner.query("SELECT count(*)::int AS n FROM suppressions")).toEqual(before);
  });

  it("lets an Auditor decide nothing", async () => {
    const auditor = await addTestMember(t.db, org.organizationId, "auditor");
    const response = await suppress(valid(), auditor);
    expect(response.statusCode).toBe(403);
    expect(response.json().error.code).toBe("auth.forbidden");
  });
});
