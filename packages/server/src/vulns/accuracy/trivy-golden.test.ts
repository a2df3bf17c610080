/**
 * Accuracy against a peer scanner: Trivy's own integration fixture database is imported through the
 * offline importer, the packages its golden reports name are reported by devices as an agent would,
 * and the findings are compared with the goldens: matches, misses, extras and field disagreements
 * are printed, and the bar is none of the last three. (The parser's own test explains where the
 * normalised ranges differ in form from Trivy's buckets; none of those changes a finding.)
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { InventoryEntry } from "@patchpilot/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestOrg, startTestApp, type TestApp, type TestOrg } from "../../testing/app.js";
import { enrollTestDevice } from "../../testing/devices.js";
import { uploadInventory } from "../../testing/vulns.js";
import { importFeedBundle } from "../feeds/import/import-feeds.js";

const TESTDATA = join(import.meta.dirname, "../feeds/parsers/testdata");
const GOLDEN = join(TESTDATA, "trivy/integration-golden");
const IMAGES = [
  "alpine-310",
  "alpine-39",
  "centos-7",
  "debian-buster",
  "debian-stretch",
  "ubuntu-1804",
] as const;

interface GoldenVulnerability {
  VulnerabilityID: string;
  PkgName: string;
  InstalledVersion: string;
  FixedVersion?: string;
  Status: string;
  Severity: string;
  PkgIdentifier: { PURL: string };
}

interface Golden {
  Metadata: { OS: { Family: string; Name: string } };
  Results: { Vulnerabilities?: GoldenVulnerability[] }[];
}

/** One finding, in the terms both sides share. */
interface Row {
  image: string;
  vulnerability: string;
  packageName: string;
  installed: string;
  fixed: string | null;
  status: string;
  severity: string;
}

const key = (r: Row) => `${r.image} ${r.vulnerability} ${r.packageName} ${r.installed}`;

const SOURCES = new Map(
  readFileSync(join(TESTDATA, "patchpilot/trivy-image-sources.tsv"), "utf8")
    .split("\n")
    .filter((line) => line && !line.startsWith("#"))
    .map((line) => {
      const [family, binary, source] = line.split("\t");
      return [`${family}/${binary}`, source ?? ""];
    }),
);

/** The agent's release spelling for an image's OS: major for Debian and CentOS, major.minor otherwise. */
function releaseOf(os: Golden["Metadata"]["OS"]): string {
  const [major, minor] = os.Name.split(".");
  return os.Family === "debian" || os.Family === "centos"
    ? `${os.Family}:${major}`
    : `${os.Family}:${major}.${minor}`;
}

const ECOSYSTEM = { deb: "dpkg", apk: "apk", rpm: "rpm" } as const;

/** An inventory entry from a package URL, as the agent on that image would report it. */
function entryOf(purl: string, family: string, release: string): InventoryEntry {
  const url = new URL(purl.replace(/^pkg:/, "pkg://"));
  const [type, , nameAt] = [url.host, ...url.pathname.split("/").slice(1)];
  const [name = "", version = ""] = decodeURIComponent(nameAt ?? "").split("@");
  const epoch = url.searchParams.get("epoch");
  const full = epoch && epoch !== "0" ? `${epoch}:${version}` : version;
  const source = SOURCES.get(`${family}/${name}`);
  if (source === undefined) throw new Error(`no source package recorded for ${family}/${name}`);
  return {
    kind: "package",
    ecosystem: ECOSYSTEM[type as keyof typeof ECOSYSTEM],
    release,
    name,
    version: full,
    arch: url.searchParams.get("arch") ?? "",
    sourceName: source,
  };
}

function readGolden(image: string): {
  golden: Golden;
  release: string;
  rows: Row[];
  packages: InventoryEntry[];
} {
  const golden = JSON.parse(readFileSync(join(GOLDEN, `${image}.json.golden`), "utf8")) as Golden;
  const release = releaseOf(golden.Metadata.OS);
  const family = golden.Metadata.OS.Family;
  const vulnerabilities = golden.Results.flatMap((r) => r.Vulnerabilities ?? []);
  const rows = vulnerabilities.map((v) => ({
    image,
    vulnerability: v.VulnerabilityID,
    packageName: v.PkgName,
    installed: v.InstalledVersion,
    fixed: v.FixedVersion || null,
    status: v.Status,
    severity: v.Severity.toLowerCase(),
  }));
  const purls = new Set(vulnerabilities.map((v) => v.PkgIdentifier.PURL));
  // Trivy's GitHub dependency snapshot of alpine-310 lists every package of the image, vulnerable
  // or not: those that are not must stay without findings.
  if (image === "alpine-310") {
    const snapshot = JSON.parse(readFileSync(join(GOLDEN, "alpine-310.gsbom.golden"), "utf8")) as {
      manifests: Record<string, { resolved: Record<string, { package_url: string }> }>;
    };
    for (const manifest of Object.values(snapshot.manifests)) {
      for (const p of Object.values(manifest.resolved)) purls.add(p.package_url);
    }
  }
  const packages = [...purls].map((p) => entryOf(p, family, release));
  return { golden, release, rows, packages };
}

let t: TestApp;
let org: TestOrg;
beforeAll(async () => {
  t = await startTestApp({ backgroundWork: false });
  org = await createTestOrg(t.db, "Peer Comparison Ltd");
});
afterAll(() => t.close());

describe("accuracy against Trivy's golden reports", () => {
  it("finds what Trivy finds in its test images, from its own fixture database", async () => {
    const imported = await importFeedBundle(t.db, join(TESTDATA, "trivy/integration-fixtures-db"));
    expect(imported.failed).toEqual([]);
    expect(imported.feeds.map((f) => f.feed)).toEqual(["trivy-fixture"]);
    expect(imported.feeds[0]?.stored).toBeGreaterThan(10);

    const expected: Row[] = [];
    const found: Row[] = [];
    for (const image of IMAGES) {
      const { rows, packages } = readGolden(image);
      expected.push(...rows);
      const device = await enrollTestDevice(t.db, org.organizationId, { hostname: `${image}.golden.test` });
      await uploadInventory(t, device, packages);
      await t.app.vulns.matcher.drain();
      const findings = await t.db.owner.query<{
        vulnerability_id: string;
        package_name: string;
        installed_version: string;
        fixed_version: string | null;
        range_status: string;
        severity: string;
      }>(
        `SELECT vulnerability_id, package_name, installed_version, fixed_version, range_status, severity
           FROM findings WHERE device_id = $1 AND status = 'open'`,
        [device.deviceId],
      );
      found.push(
        ...findings.map((f) => ({
          image,
          vulnerability: f.vulnerability_id,
          packageName: f.package_name,
          installed: f.installed_version,
          fixed: f.fixed_version,
          status: f.range_status,
          severity: f.severity,
        })),
      );
    }

    const ours = new Map(found.map((r) => [key(r), r]));
    const theirs = new Map(expected.map((r) => [key(r), r]));
    const misses = expected.filter((r) => !ours.has(key(r)));
    const extras = found.filter((r) => !theirs.has(key(r)));
    const disagreements = expected.flatMap((r) => {
      const mine = ours.get(key(r));
      if (!mine) return [];
      const fields = (["fixed", "status", "severity"] as const).filter((f) => mine[f] !== r[f]);
      return fields.map((f) => `${key(r)} ${f}: Trivy ${r[f]}, PatchPilot ${mine[f]}`);
    });
    const report = {
      expected: expected.length,
      matched: expected.length - misses.length,
      misses: misses.map(key),
      extras: extras.map(key),
      disagreements,
    };
    console.info(`trivy golden comparison: ${JSON.stringify(report, null, 2)}`);
    expect(report).toEqual({ expected: 25, matched: 25, misses: [], extras: [], disagreements: [] });
  });
});
