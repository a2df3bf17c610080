import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestOrg, startTestApp, type TestApp, type TestOrg } from "../../testing/app.js";
import { debPackage, enrollTestDevice, type TestDevice } from "../../testing/devices.js";
import { advisory, importTestAdvisories, matchQueuedChanges, uploadInventory } from "../../testing/vulns.js";
import type { NormalizedAdvisory } from "../feeds/model.js";
import { rematch } from "./rematch.js";

let t: TestApp;
let org: TestOrg;
beforeAll(async () => {
  t = await startTestApp();
  org = await createTestOrg(t.db, "Matching Ltd");
});
afterAll(() => t.close());

const importAdvisories = (list: NormalizedAdvisory[]) => importTestAdvisories(t.db, list);

async function findingsOf(device: TestDevice) {
  return t.db.owner.query<{
    vulnerability_id: string;
    package_name: string;
    installed_version: string;
    fixed_version: string | null;
    status: string;
  }>(
    "SELECT vulnerability_id, package_name, installed_version, fixed_version, status FROM findings WHERE device_id = $1 ORDER BY vulnerability_id, package_name",
    [device.deviceId],
  );
}

const openssl = (version: string) => [
  debPackage("openssl", version, { sourceName: "openssl", sourceVersion: version }),
  debPackage("libssl3", version, { sourceName: "openssl", sourceVersion: version }),
  debPackage("bash", "5.2.15-2+b2"),
];

describe("matching inventories against advisories", () => {
  it("finds source-package advisories on every binary built from it, in dpkg's version order", async () => {
    await importAdvisories([
      advisory("CVE-2026-0001", [{ fixed: "3.0.11-1~deb12u2" }], { aliases: ["DSA-5532-1"] }),
      advisory("CVE-2026-0002", [{ fixed: null, status: "affected" }]),
      advisory("CVE-2026-0003", [{ release: "debian:11", fixed: "9.9" }]),
    ]);
    const device = await enrollTestDevice(t.db, org.organizationId);
    await uploadInventory(t, device, openssl("3.0.11-1~deb12u1"));
    await matchQueuedChanges(t);
    expect(await findingsOf(device)).toEqual([
      {
        vulnerability_id: "CVE-2026-0001",
        package_name: "libssl3",
        installed_version: "3.0.11-1~deb12u1",
        fixed_version: "3.0.11-1~deb12u2",
        status: "open",
      },
      {
        vulnerability_id: "CVE-2026-0001",
        package_name: "openssl",
        installed_version: "3.0.11-1~deb12u1",
        fixed_version: "3.0.11-1~deb12u2",
        status: "open",
      },
      {
        vulnerability_id: "CVE-2026-0002",
        package_name: "libssl3",
        installed_version: "3.0.11-1~deb12u1",
        fixed_version: null,
        status: "open",
      },
      {
        vulnerability_id: "CVE-2026-0002",
        package_name: "openssl",
        installed_version: "3.0.11-1~deb12u1",
        fixed_version: null,
        status: "open",
      },
    ]);
    // The upgrade closes what it fixes, keeps what it does not, and the history stays.
    await uploadInventory(t, device, openssl("3.0.11-1~deb12u2"));
    await matchQueuedChanges(t);
    const after = await findingsOf(device);
    expect(after.filter((f) => f.vulnerability_id === "CVE-2026-0001").map((f) => f.status)).toEqual([
      "fixed",
      "fixed",
    ]);
    expect(
      after.filter((f) => f.vulnerability_id === "CVE-2026-0002").map((f) => [f.status, f.installed_version]),
    ).toEqual([
      ["open", "3.0.11-1~deb12u2"],
      ["open", "3.0.11-1~deb12u2"],
    ]);
    const events = await t.db.owner.query<{ details: { openedCount: number; closedCount: number } }>(
      "SELECT details FROM device_events WHERE device_id = $1 AND event_type = 'findings.changed' ORDER BY seq",
      [device.deviceId],
    );
    expect(events.map((e) => [e.details.openedCount, e.details.closedCount])).toEqual([
      [2, 0],
      [0, 1],
    ]);
  });

  it("re-checks only the changed packages when a feed changes, and closes findings an advisory no longer supports", async () => {
    const device = await enrollTestDevice(t.db, org.organizationId);
    await uploadInventory(t, device, [debPackage("curl", "7.88.1-10", { sourceName: "curl" })]);
    await matchQueuedChanges(t);
    expect(await findingsOf(device)).toEqual([]);
    const stored = await importAdvisories([
      advisory("CVE-2026-0100", [{ packageName: "curl", fixed: "7.88.1-10+deb12u5" }]),
    ]);
    expect(stored.changedKeys).toEqual([{ ecosystem: "dpkg", release: "debian:12", packageName: "curl" }]);
    const outcome = await rematch(t.db, t.app.vulns.index, { keys: stored.changedKeys });
    expect(outcome).toMatchObject({ opened: 1, closed: 0 });
    expect((await findingsOf(device)).map((f) => [f.vulnerability_id, f.status])).toEqual([
      ["CVE-2026-0100", "open"],
    ]);
    // Matching the same packages again writes nothing: recorded matches that did not change keep
    // their row version.
    const recorded = () =>
      t.db.owner.query<{ vulnerability_id: string; version: string }>(
        `SELECT sv.vulnerability_id, sv.xmin::text AS version FROM software_vulnerabilities sv
           JOIN software s ON s.id = sv.software_id
          WHERE s.organization_id = $1 AND s.name = 'curl' ORDER BY 1`,
        [org.organizationId],
      );
    const first = await recorded();
    expect(first.map((r) => r.vulnerability_id)).toEqual(["CVE-2026-0100"]);
    expect(await rematch(t.db, t.app.vulns.index, { keys: stored.changedKeys })).toMatchObject({
      opened: 0,
      closed: 0,
    });
    expect(await recorded()).toEqual(first);
    // The advisory is corrected: the fix was already in 7.88.1-10.
    const corrected = await importAdvisories([
      advisory("CVE-2026-0100", [{ packageName: "curl", fixed: "7.88.1-9" }], {
        modifiedAt: "2026-02-01T00:00:00Z",
      }),
    ]);
    expect((await rematch(t.db, t.app.vulns.index, { keys: corrected.changedKeys })).closed).toBe(1);
    expect((await findingsOf(device)).map((f) => [f.vulnerability_id, f.status])).toEqual([
      ["CVE-2026-0100", "fixed"],
    ]);
    // Importing the same record again changes nothing.
    expect(
      (
        await importAdvisories([
          advisory("CVE-2026-0100", [{ packageName: "curl", fixed: "7.88.1-9" }], {
            modifiedAt: "2026-02-01T00:00:00Z",
          }),
        ])
      ).unchanged,
    ).toBe(1);
  });

  it("re-matches what an advisory named and was about before it changed or was withdrawn", async () => {
    const device = await enrollTestDevice(t.db, org.organizationId);
    await uploadInventory(t, device, [
      debPackage("zlib1g", "1:1.2.13-1", { sourceName: "zlib", sourceVersion: "1:1.2.13-1" }),
      debPackage("libpng16-16", "1.6.39-2", { sourceName: "libpng1.6", sourceVersion: "1.6.39-2" }),
    ]);
    await matchQueuedChanges(t);
    /** The re-match a feed job makes of a store outcome: only its packages, only its vulnerabilities. */
    const rematchChanged = (stored: Awaited<ReturnType<typeof importAdvisories>>) =>
      rematch(t.db, t.app.vulns.index, {
        keys: stored.changedKeys,
        vulnerabilities: stored.affectedVulnerabilities,
      });
    const open = async () =>
      (await findingsOf(device))
        .filter((f) => f.status === "open")
        .map((f) => [f.vulnerability_id, f.package_name]);

    const first = await importAdvisories([
      advisory("DSA-9150-1", [{ packageName: "zlib", fixed: "1:1.2.13-2" }], { aliases: ["CVE-2026-0150"] }),
    ]);
    expect(first.changedKeys).toEqual([{ ecosystem: "dpkg", release: "debian:12", packageName: "zlib" }]);
    expect(first.affectedVulnerabilities).toEqual(["CVE-2026-0150"]);
    expect(await rematchChanged(first)).toMatchObject({ opened: 1, closed: 0 });
    expect(await open()).toEqual([["CVE-2026-0150", "zlib1g"]]);

    // Corrected: the advisory is about another CVE, in another package. The package and the CVE it
    // named before are matched again, so the old finding closes.
    const moved = await importAdvisories([
      advisory("DSA-9150-1", [{ packageName: "libpng1.6", fixed: "1.6.39-3" }], {
        aliases: ["CVE-2026-0151"],
        modifiedAt: "2026-03-01T00:00:00Z",
      }),
    ]);
    expect(moved.changedKeys.map((k) => k.packageName).sort()).toEqual(["libpng1.6", "zlib"]);
    expect([...moved.affectedVulnerabilities].sort()).toEqual(["CVE-2026-0150", "CVE-2026-0151"]);
    expect(await rematchChanged(moved)).toMatchObject({ opened: 1, closed: 1 });
    expect(await open()).toEqual([["CVE-2026-0151", "libpng16-16"]]);
    const ranges = await t.db.owner.query<{ package_name: string }>(
      "SELECT package_name FROM affected_ranges WHERE advisory_id = 'DSA-9150-1'",
    );
    expect(ranges.map((r) => r.package_name)).toEqual(["libpng1.6"]);

    const withdrawn = await importAdvisories([
      advisory("DSA-9150-1", [{ packageName: "libpng1.6", fixed: "1.6.39-3" }], {
        aliases: ["CVE-2026-0151"],
        modifiedAt: "2026-04-01T00:00:00Z",
        withdrawn: true,
      }),
    ]);
    expect(withdrawn).toMatchObject({ withdrawn: 1, stored: 0, affectedVulnerabilities: ["CVE-2026-0151"] });
    expect(withdrawn.changedKeys).toEqual([
      { ecosystem: "dpkg", release: "debian:12", packageName: "libpng1.6" },
    ]);
    expect(await rematchChanged(withdrawn)).toMatchObject({ opened: 0, closed: 1 });
    expect(await open()).toEqual([]);
    const left = await t.db.owner.query("SELECT 1 FROM affected_ranges WHERE advisory_id = 'DSA-9150-1'");
    expect(left).toEqual([]);
  });

  it("matches a Windows build against Microsoft's fixed builds, and a program against NVD's CPE criteria", async () => {
    const release = "windows:10.0.22631";
    await importAdvisories([
      advisory(
        "CVE-2026-0200",
        [
          {
            ecosystem: "windows",
            release,
            packageName: "windows",
            packageScope: "binary",
            fixed: "10.0.22631.3007",
            advisoryId: "KB5034123",
          },
        ],
        { source: "cvrf" },
      ),
    ]);
    await importAdvisories([
      advisory("CVE-2026-0201", [], {
        source: "nvd",
        cpeMatches: [
          {
            criteria: "cpe:2.3:a:mozilla:firefox:*:*:*:*:*:*:*:*",
            vendor: "mozilla",
            product: "firefox",
            version: null,
            versionStartIncluding: null,
            versionStartExcluding: null,
            versionEndIncluding: null,
            versionEndExcluding: "124.0.1",
          },
        ],
      }),
    ]);
    const windows = (version: string) => ({
      kind: "package" as const,
      ecosystem: "windows" as const,
      release,
      name: "windows",
      version,
    });
    const firefox = (version: string) => ({
      kind: "application" as const,
      ecosystem: "windows" as const,
      release,
      name: "Mozilla Firefox (x64 en-US)",
      version,
      vendor: "Mozilla",
    });
    const device = await enrollTestDevice(t.db, org.organizationId);
    await uploadInventory(t, device, [windows("10.0.22631.2861"), firefox("123.0")]);
    await matchQueuedChanges(t);
    expect(
      (await findingsOf(device)).map((f) => [f.vulnerability_id, f.package_name, f.fixed_version, f.status]),
    ).toEqual([
      ["CVE-2026-0200", "windows", "10.0.22631.3007", "open"],
      ["CVE-2026-0201", "Mozilla Firefox (x64 en-US)", "124.0.1", "open"],
    ]);
    // The cumulative update and the browser update fix both; a look-alike name matches nothing.
    await uploadInventory(t, device, [
      windows("10.0.22631.3007"),
      firefox("124.0.1"),
      { ...firefox("1.0"), name: "Firefox Profile Cleaner", vendor: "Example Tools" },
    ]);
    await matchQueuedChanges(t);
    expect((await findingsOf(device)).map((f) => [f.vulnerability_id, f.status])).toEqual([
      ["CVE-2026-0200", "fixed"],
      ["CVE-2026-0201", "fixed"],
    ]);
  });
});
