import { type InventoryEntry, toWireInventory } from "@patchpilot/protocol";
import { expect } from "vitest";
import type { Database } from "../db/database.js";
import type { NormalizedAdvisory } from "../vulns/feeds/model.js";
import { type StoreOutcome, storeAdvisories } from "../vulns/knowledge-base/store-advisories.js";
import { bumpGeneration } from "../vulns/knowledge-base/store-scores.js";
import type { TestApp } from "./app.js";
import { SYSTEM_CONTEXT } from "./database.js";
import { callAsAgent, debPackage, enrollTestDevice, type TestDevice } from "./devices.js";

const PLATFORM_ORGANIZATION = "00000000-0000-0000-0000-000000000000";

/** Sends a device's whole inventory as its agent would, and checks it was taken. */
export async function uploadInventory(
  t: TestApp,
  device: TestDevice,
  packages: InventoryEntry[],
): Promise<void> {
  const response = await callAsAgent(t.app, {
    method: "PUT",
    url: `/api/v1/agent/devices/${device.deviceId}/inventory`,
    token: device.token,
    body: { reportId: crypto.randomUUID(), inventory: toWireInventory({ packages, updates: [] }) },
  });
  expect(response.statusCode, response.body).toBe(200);
}

/** An OSV-like advisory for Debian 12's openssl unless the ranges say otherwise. */
export function advisory(
  id: string,
  ranges: Partial<NormalizedAdvisory["affected"][number]>[],
  extra: Partial<NormalizedAdvisory> = {},
): NormalizedAdvisory {
  return {
    source: "osv",
    id,
    aliases: [],
    publishedAt: "2026-01-01T00:00:00Z",
    modifiedAt: "2026-01-02T00:00:00Z",
    withdrawn: false,
    summary: `${id} in a package`,
    description: null,
    cvssV3: { score: 7.5, vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N" },
    cvssV4: null,
    severity: null,
    cwes: ["CWE-79"],
    references: [],
    affected: ranges.map((r) => ({
      ecosystem: "dpkg",
      release: "debian:12",
      packageName: "openssl",
      packageScope: "source",
      introduced: null,
      fixed: null,
      lastAffected: null,
      versions: [],
      status: "fixed",
      advisoryId: null,
      vendorSeverity: null,
      supersedes: [],
      ...r,
    })),
    cpeMatches: [],
    ...extra,
  };
}

/** Imports advisories into the knowledge base as a feed sync would (one source per call). */
export async function importTestAdvisories(db: Database, list: NormalizedAdvisory[]): Promise<StoreOutcome> {
  return db.system(SYSTEM_CONTEXT, async (tx) => {
    const outcome = await storeAdvisories(tx, list);
    await bumpGeneration(tx);
    tx.audit(PLATFORM_ORGANIZATION, { action: "feeds.imported", details: { stored: outcome.stored } });
    return outcome;
  });
}

/** Marks vulnerabilities as in CISA's KEV catalogue and scores their EPSS (as the feeds would). */
export async function scoreTestVulnerabilities(
  db: Database,
  scores: { id: string; kev?: boolean; epss?: number; percentile?: number }[],
): Promise<void> {
  await db.system(SYSTEM_CONTEXT, async (tx) => {
    for (const s of scores) {
      await tx.db
        .updateTable("vulnerabilities")
        .set({
          ...(s.kev ? { kev_added: "2026-01-10", kev_due: "2026-01-31", kev_ransomware: false } : {}),
          ...(s.epss !== undefined
            ? { epss: s.epss, epss_percentile: s.percentile ?? s.epss, epss_date: "2026-01-10" }
            : {}),
        })
        .where("id", "=", s.id)
        .execute();
    }
    tx.audit(PLATFORM_ORGANIZATION, { action: "feeds.imported", details: { scored: scores.length } });
  });
}

/** Matches every queued inventory change (after any run already under way) and checks none is left. */
export async function matchQueuedChanges(t: TestApp): Promise<void> {
  await t.app.vulns.matcher.drain();
  const [queued] = await t.db.owner.query<{ n: number }>("SELECT count(*)::int AS n FROM inventory_changes");
  expect(queued?.n, "inventory changes left unmatched").toBe(0);
}

/** A device enrolled in the organisation whose inventory has been matched: its findings exist. */
export async function seedFindings(
  t: TestApp,
  organizationId: string,
  packages: InventoryEntry[],
  options: { hostname?: string } = {},
): Promise<TestDevice> {
  const device = await enrollTestDevice(t.db, organizationId, options);
  await uploadInventory(t, device, packages);
  await matchQueuedChanges(t);
  return device;
}

/** The knowledge base the findings tests share: one vulnerability of each kind a finding can be. */
export const CVE = {
  /** openssl, fixed in 3.0.11-1~deb12u2; critical, in KEV; DSA-5532-1 is its alias. */
  critical: "CVE-2026-1001",
  /** openssl, affected with no fix yet; medium. */
  noFix: "CVE-2026-1002",
  /** curl, fixed in 7.88.1-10+deb12u5; high, EPSS percentile 0.2. */
  curl: "CVE-2026-1003",
  /** bash: the distribution will not fix it; low. */
  wontFix: "CVE-2026-1004",
  /** zlib: the source has not decided; negligible. */
  investigating: "CVE-2026-1005",
  /** nginx, which nobody here has: in the knowledge base, without findings. */
  unmatched: "CVE-2026-1099",
} as const;

export async function importFixtureAdvisories(db: Database): Promise<void> {
  await importTestAdvisories(db, [
    advisory(CVE.critical, [{ fixed: "3.0.11-1~deb12u2" }], {
      aliases: ["DSA-5532-1"],
      cvssV3: { score: 9.8, vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" },
    }),
    advisory(CVE.noFix, [{ status: "affected" }], {
      cvssV3: { score: 5.3, vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N" },
    }),
    advisory(CVE.curl, [{ packageName: "curl", fixed: "7.88.1-10+deb12u5" }]),
    advisory(CVE.wontFix, [{ packageName: "bash", status: "will_not_fix" }], {
      cvssV3: { score: 3.1, vector: "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N" },
    }),
    advisory(CVE.investigating, [{ packageName: "zlib", status: "under_investigation" }], {
      cvssV3: null,
      severity: "negligible",
    }),
    advisory(CVE.unmatched, [{ packageName: "nginx", fixed: "1.22.1-9+deb12u1" }]),
  ]);
  // One advisory that fixes two CVEs: its id names both, so it cannot stand for one of them.
  await importTestAdvisories(db, [
    advisory("DSA-5600-1", [], { aliases: [CVE.curl, CVE.unmatched], cvssV3: null }),
  ]);
  await scoreTestVulnerabilities(db, [
    { id: CVE.critical, kev: true, epss: 0.9, percentile: 0.99 },
    { id: CVE.curl, epss: 0.001, percentile: 0.2 },
  ]);
}

export const opensslPackages = (version: string): InventoryEntry[] => [
  debPackage("openssl", version, { sourceName: "openssl", sourceVersion: version }),
  debPackage("libssl3", version, { sourceName: "openssl", sourceVersion: version }),
];
export const curlPackage = (version = "7.88.1-10") => debPackage("curl", version, { sourceName: "curl" });
export const bashPackage = () => debPackage("bash", "5.2.15-2+b2");
export const zlibPackage = () =>
  debPackage("zlib1g", "1:1.2.13.dfsg-1", { sourceName: "zlib", sourceVersion: "1:1.2.13.dfsg-1" });

export interface Fleet {
  /** openssl and libssl3 (critical, no fix), curl, bash, zlib1g: 7 findings. */
  web: TestDevice;
  /** openssl and libssl3, bash: 5 findings. */
  db: TestDevice;
  /** curl: 1 finding. */
  lab: TestDevice;
  /** Holds web and lab. */
  groupId: string;
}

/** Three devices with the fixture's findings (13 open), and a group of two of them. */
export async function seedFleet(t: TestApp, organizationId: string, prefix = "fleet"): Promise<Fleet> {
  const web = await seedFindings(
    t,
    organizationId,
    [...opensslPackages("3.0.11-1~deb12u1"), curlPackage(), bashPackage(), zlibPackage()],
    { hostname: `${prefix}-web.example.test` },
  );
  const db = await seedFindings(t, organizationId, [...opensslPackages("3.0.11-1~deb12u1"), bashPackage()], {
    hostname: `${prefix}-db.example.test`,
  });
  const lab = await seedFindings(t, organizationId, [curlPackage()], {
    hostname: `${prefix}-lab.example.test`,
  });
  const groupId = await t.db.withOrganization(organizationId, SYSTEM_CONTEXT, async (tx) => {
    const group = await tx.db
      .insertInto("device_groups")
      .values({ name: `${prefix} web servers` })
      .returning("id")
      .executeTakeFirstOrThrow();
    await tx.db
      .insertInto("device_group_members")
      .values([
        { group_id: group.id, device_id: web.deviceId },
        { group_id: group.id, device_id: lab.deviceId },
      ])
      .execute();
    tx.audit({ action: "device_groups.created", target: { type: "device_group", id: group.id } });
    return group.id;
  });
  return { web, db, lab, groupId };
}
