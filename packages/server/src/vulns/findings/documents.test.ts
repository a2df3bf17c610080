import { Spec, Validation } from "@cyclonedx/cyclonedx-library";
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
import { debPackage } from "../../testing/devices.js";
import {
  bashPackage,
  CVE,
  type Fleet,
  importFixtureAdvisories,
  matchQueuedChanges,
  opensslPackages,
  seedFindings,
  seedFleet,
  uploadInventory,
} from "../../testing/vulns.js";
import type { VexStatement } from "./vex-statements.js";

let t: TestApp;
let org: TestOrg;
let auditor: TestPerson;
let fleet: Fleet;
let other: TestOrg;

beforeAll(async () => {
  t = await startTestApp();
  await importFixtureAdvisories(t.db);
  org = await createTestOrg(t.db, "Documented Ltd");
  auditor = await addTestMember(t.db, org.organizationId, "auditor");
  fleet = await seedFleet(t, org.organizationId);
  other = await createTestOrg(t.db, "Undocumented Ltd");
});
afterAll(() => t.close());

const base = () => `/api/v1/orgs/${org.organizationId}`;

describe("GET devices/:deviceId/sbom", () => {
  it("describes the device's software as a schema-valid CycloneDX 1.5 document with purls", async () => {
    const response = await call(t.app, {
      method: "GET",
      url: `${base()}/devices/${fleet.web.deviceId}/sbom`,
      as: auditor,
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers["content-type"]).toBe("application/vnd.cyclonedx+json; charset=utf-8");
    expect(await new Validation.JsonStrictValidator(Spec.Version.v1dot5).validate(response.body)).toBeNull();
    const bom = response.json();
    expect(bom).toMatchObject({ bomFormat: "CycloneDX", specVersion: "1.5", version: 1 });
    expect(bom.serialNumber).toMatch(/^urn:uuid:[0-9a-f-]{36}$/);
    expect(bom.metadata.component).toMatchObject({ type: "device", name: "fleet-web.example.test" });
    const components = bom.components.map((c: { name: string; version: string; purl?: string }) => [
      c.name,
      c.version,
      c.purl,
    ]);
    expect(components.sort()).toEqual([
      ["bash", "5.2.15-2+b2", "pkg:deb/debian/bash@5.2.15-2+b2?arch=amd64&distro=debian-12"],
      ["curl", "7.88.1-10", "pkg:deb/debian/curl@7.88.1-10?arch=amd64&distro=debian-12"],
      ["libssl3", "3.0.11-1~deb12u1", "pkg:deb/debian/libssl3@3.0.11-1~deb12u1?arch=amd64&distro=debian-12"],
      ["openssl", "3.0.11-1~deb12u1", "pkg:deb/debian/openssl@3.0.11-1~deb12u1?arch=amd64&distro=debian-12"],
      ["zlib1g", "1:1.2.13.dfsg-1", "pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?arch=amd64&distro=debian-12"],
    ]);
    const openssl = bom.components.find((c: { name: string }) => c.name === "openssl");
    expect(openssl.properties).toEqual(
      expect.arrayContaining([{ name: "patchpilot:source_name", value: "openssl" }]),
    );
  });

  it("names other ecosystems' packages, and leaves the purl out where there is none", async () => {
    const mixed = await seedFindings(t, org.organizationId, [
      {
        kind: "package",
        ecosystem: "rpm",
        release: "rhel:9",
        name: "openssl",
        version: "1:3.0.7-24.el9",
        arch: "x86_64",
      },
      { kind: "package", ecosystem: "npm", release: "node:20", name: "@babel/core", version: "7.24.0" },
      {
        kind: "application",
        ecosystem: "windows",
        release: "windows:10.0.22631",
        name: "Mozilla Firefox",
        version: "121.0",
        vendor: "Mozilla",
      },
    ]);
    const response = await call(t.app, {
      method: "GET",
      url: `${base()}/devices/${mixed.deviceId}/sbom`,
      as: auditor,
    });
    expect(await new Validation.JsonStrictValidator(Spec.Version.v1dot5).validate(response.body)).toBeNull();
    expect(
      response
        .json()
        .components.map((c: { type: string; name: string; purl?: string; publisher?: string }) => [
          c.type,
          c.name,
          c.purl,
          c.publisher,
        ])
        .sort((a: string[], b: string[]) => (`${a[1]}` < `${b[1]}` ? -1 : 1)),
    ).toEqual([
      ["library", "@babel/core", "pkg:npm/%40babel/core@7.24.0", undefined],
      ["application", "Mozilla Firefox", undefined, "Mozilla"],
      [
        "library",
        "openssl",
        "pkg:rpm/redhat/openssl@3.0.7-24.el9?arch=x86_64&distro=rhel-9&epoch=1",
        undefined,
      ],
    ]);
  });

  it("answers 404 for a missing device and for another organisation's", async () => {
    for (const deviceId of [
      crypto.randomUUID(),
      (await seedFindings(t, other.organizationId, [debPackage("vim", "9.0")])).deviceId,
    ]) {
      const response = await call(t.app, {
        method: "GET",
        url: `${base()}/devices/${deviceId}/sbom`,
        as: auditor,
      });
      expect(response.statusCode).toBe(404);
      expect(response.json().error.code).toBe("devices.not_found");
    }
  });
});

describe("GET vex", () => {
  it("states, per vulnerability and package version, affected (with or without a fix), not affected, fixed or under investigation", async () => {
    const operator = await addTestMember(t.db, org.organizationId, "operator");
    const decide = (body: unknown) =>
      call(t.app, { method: "POST", url: `${base()}/suppressions`, as: operator, body });
    expect(
      (
        await decide({
          vulnerabilityId: CVE.curl,
          scope: { type: "organization" },
          kind: "false_positive",
          justification: "vulnerable_code_not_in_execute_path",
          reason: "curl only runs local health checks.",
          owner: "Web team",
        })
      ).statusCode,
    ).toBe(201);
    expect(
      (
        await decide({
          vulnerabilityId: CVE.noFix,
          packageName: "libssl3",
          scope: { type: "organization" },
          kind: "accepted_risk",
          reason: "Compensating control in the proxy",
          owner: "Security",
          expiresAt: "2099-06-30T00:00:00Z",
        })
      ).statusCode,
    ).toBe(201);
    // The database server is patched: its critical findings are fixed in 3.0.11-1~deb12u2.
    await uploadInventory(t, fleet.db, [...opensslPackages("3.0.11-1~deb12u2"), bashPackage()]);
    await matchQueuedChanges(t);

    const response = await call(t.app, { method: "GET", url: `${base()}/vex`, as: auditor });
    expect(response.statusCode).toBe(200);
    const vex = response.json();
    expect(vex).toMatchObject({
      "@context": "https://openvex.dev/ns/v0.2.0",
      author: "Documented Ltd",
      version: 1,
      tooling: "PatchPilot",
    });
    expect(vex["@id"]).toMatch(/^urn:uuid:/);
    expect(Number.isNaN(Date.parse(vex.timestamp))).toBe(false);
    const deb = (name: string, version: string) =>
      `pkg:deb/debian/${name}@${version}?arch=amd64&distro=debian-12`;
    const u1 = "3.0.11-1~deb12u1";
    const u2 = "3.0.11-1~deb12u2";
    const accepted =
      "Risk accepted by Security until 2099-06-30: Compensating control in the proxy. No fix is available yet";
    expect(
      vex.statements.map((s: VexStatement) => [
        s.vulnerability.name,
        s.products[0]?.["@id"],
        s.status,
        s.justification ?? s.action_statement ?? s.status_notes,
      ]),
    ).toEqual([
      [CVE.critical, deb("libssl3", u1), "affected", `Update libssl3 to ${u2}`],
      [CVE.critical, deb("libssl3", u2), "fixed", undefined],
      [CVE.critical, deb("openssl", u1), "affected", `Update openssl to ${u2}`],
      [CVE.critical, deb("openssl", u2), "fixed", undefined],
      [CVE.noFix, deb("libssl3", u1), "affected", accepted],
      [CVE.noFix, deb("libssl3", u2), "affected", accepted],
      [CVE.noFix, deb("openssl", u1), "affected", "No fix is available yet"],
      [CVE.noFix, deb("openssl", u2), "affected", "No fix is available yet"],
      [CVE.curl, deb("curl", "7.88.1-10"), "not_affected", "vulnerable_code_not_in_execute_path"],
      [
        CVE.wontFix,
        deb("bash", "5.2.15-2+b2"),
        "affected",
        "No fix is available: the distribution will not fix it in this release",
      ],
      [
        CVE.investigating,
        deb("zlib1g", "1:1.2.13.dfsg-1"),
        "under_investigation",
        "The source has not yet said whether it is affected",
      ],
    ]);
    const notAffected = vex.statements.find((s: VexStatement) => s.status === "not_affected");
    expect(notAffected.impact_statement).toBe("curl only runs local health checks.");
    expect(notAffected.products[0].identifiers).toEqual({ purl: deb("curl", "7.88.1-10") });
  });
});
