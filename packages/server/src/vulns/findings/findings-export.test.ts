import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RequestContext } from "../../http/route.js";
import {
  addTestMember,
  call,
  createTestOrg,
  startTestApp,
  type TestApp,
  type TestOrg,
  type TestPerson,
} from "../../testing/app.js";
import { debPackage } from "../../testing/devices.js";
import {
  advisory,
  CVE,
  importFixtureAdvisories,
  importTestAdvisories,
  seedFindings,
  seedFleet,
} from "../../testing/vulns.js";
import { findingPages } from "./finding-queries.js";

const HOSTILE = '=HYPERLINK("http://x")';
const HEADER =
  "finding_id,device_id,hostname,vulnerability_id,severity,cvss_score,epss,kev,package,arch,installed_version," +
  "fixed_version,range_status,status,risk,first_seen_at,sla_due_at,overdue,closed_at,decision,decision_reason," +
  "decision_owner,decision_expires_at";

let t: TestApp;
let org: TestOrg;
let auditor: TestPerson;

beforeAll(async () => {
  t = await startTestApp();
  await importFixtureAdvisories(t.db);
  // The software catalogue takes any printable name: one that a spreadsheet would run as a formula.
  await importTestAdvisories(t.db, [
    advisory("CVE-2026-1666", [{ packageName: HOSTILE, packageScope: "binary", status: "affected" }]),
  ]);
  org = await createTestOrg(t.db, "Exporting Ltd");
  auditor = await addTestMember(t.db, org.organizationId, "auditor");
  await seedFleet(t, org.organizationId);
  await seedFindings(t, org.organizationId, [debPackage(HOSTILE, "1.0-1")], { hostname: "odd.example.test" });
});
afterAll(() => t.close());

const exportCsv = (query = "") =>
  call(t.app, { method: "GET", url: `/api/v1/orgs/${org.organizationId}/findings.csv${query}`, as: auditor });

const records = (csv: string) => csv.split("\r\n").slice(0, -1);

describe("GET findings.csv", () => {
  it("streams the findings as CSV with a header row, and audits the export", async () => {
    const response = await exportCsv();
    expect(response.statusCode).toBe(200);
    expect(response.headers["content-type"]).toBe("text/csv; charset=utf-8");
    expect(response.headers["content-disposition"]).toMatch(
      /^attachment; filename="findings-\d{4}-\d{2}-\d{2}\.csv"$/,
    );
    const lines = records(response.body);
    expect(lines[0]).toBe(HEADER);
    expect(lines).toHaveLength(1 + 14);
    // Highest risk first: the four critical openssl findings, then the rest.
    expect(lines.slice(1, 5).every((l) => l.includes(`,${CVE.critical},critical,`))).toBe(true);
    const web = lines
      .find((l) => l.includes(",fleet-web.example.test,") && l.includes(",openssl,"))
      ?.split(",");
    expect([web?.[3], web?.[4], web?.[5], web?.[7], web?.[10], web?.[11], web?.[13], web?.[14]]).toEqual([
      CVE.critical,
      "critical",
      "9.8",
      "true",
      "3.0.11-1~deb12u1",
      "3.0.11-1~deb12u2",
      "open",
      "98",
    ]);
    const audit = await t.db.owner.query<{ actor_id: string; details: Record<string, unknown> }>(
      "SELECT actor_id, details FROM audit_events WHERE organization_id = $1 AND action = 'findings.exported'",
      [org.organizationId],
    );
    expect(audit).toEqual([
      { actor_id: auditor.userId, details: { format: "csv", filters: { status: "open" }, rowCount: 14 } },
    ]);
  });

  // CSV injection: the hostile package name must reach a spreadsheet as text, not as a link formula.
  it("writes a package name that looks like a formula as text", async () => {
    const lines = records((await exportCsv(`?package=${encodeURIComponent(HOSTILE)}`)).body);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain(`"'=HYPERLINK(""http://x"")"`);
    expect(lines[1]).not.toMatch(/(^|,)=HYPERLINK/);
  });

  it("applies the list's filters, and answers an empty result with the header alone", async () => {
    const critical = records((await exportCsv("?severity=critical&kev=true")).body);
    expect(critical).toHaveLength(1 + 4);
    const none = await exportCsv("?vulnerabilityId=CVE-1999-0001");
    expect(none.statusCode).toBe(200);
    expect(none.body).toBe(`${HEADER}\r\n`);
    const audit = await t.db.owner.query<{ details: { filters: Record<string, unknown>; rowCount: number } }>(
      "SELECT details FROM audit_events WHERE organization_id = $1 AND action = 'findings.exported' ORDER BY seq DESC LIMIT 1",
      [org.organizationId],
    );
    expect(audit[0]?.details).toEqual({
      format: "csv",
      filters: { status: "open", vulnerabilityId: "CVE-1999-0001" },
      rowCount: 0,
    });
  });

  it("refuses bad filters before anything is written or audited", async () => {
    const response = await exportCsv("?limit=10");
    expect(response.statusCode).toBe(400);
    expect(response.json().error.field).toBe("querystring/limit");
    expect(
      (await call(t.app, { method: "GET", url: `/api/v1/orgs/${org.organizationId}/findings.csv` }))
        .statusCode,
    ).toBe(401);
  });

  it("reads the database a page at a time", async () => {
    const ctx: RequestContext = {
      actor: { type: "user", id: auditor.userId },
      requestId: null,
      ip: null,
      userAgent: null,
      user: null,
      session: null,
      organizationId: org.organizationId,
      role: "auditor",
      device: null,
    };
    const sizes: number[] = [];
    const ids: string[] = [];
    for await (const page of findingPages(t.db, ctx, { status: "open" }, 4)) {
      sizes.push(page.length);
      ids.push(...page.map((r) => r.id));
    }
    expect(sizes).toEqual([4, 4, 4, 2]);
    expect(new Set(ids).size).toBe(14);
  });
});
