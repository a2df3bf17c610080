import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { FeedFormatError } from "./errors.js";
import { parseOsvDocuments, parseOsvRecord } from "./osv.js";
import { mapOsvEcosystem } from "./osv-ecosystems.js";
import { decodeFeedText } from "./text.js";

const TESTDATA = new URL("./testdata/", import.meta.url);
const read = (path: string) => readFileSync(new URL(path, TESTDATA), "utf8");

/** The fields of vunnel's govulndb snapshot the comparison reads. */
interface GoSnapshot {
  item: {
    id: string;
    aliases: string[];
    summary: string;
    details: string;
    references: { url: string }[];
    affected: { package: { name: string }; ranges: { events: { fixed?: string }[] }[] }[];
  };
}

/** A minimal valid OSV record with `fields` on top. */
function osv(fields: Record<string, unknown>): Record<string, unknown> {
  return {
    id: "GHSA-aaaa-bbbb-cccc",
    modified: "2024-05-01T00:00:00Z",
    affected: [
      {
        package: { ecosystem: "npm", name: "left-pad" },
        ranges: [{ type: "SEMVER", events: [{ introduced: "0" }, { fixed: "1.3.0" }] }],
      },
    ],
    ...fields,
  };
}

describe("parseOsvRecord on real records", () => {
  it("GO-2023-1989 gives what vunnel's govulndb snapshot records", () => {
    const file: GoSnapshot = JSON.parse(read("vunnel/govulndb/snapshots/go-2023-1989.json"));
    const snapshot = file.item;
    const [snapshotAffected] = snapshot.affected;
    const { records, skipped } = parseOsvRecord(read("vunnel/govulndb/vulndb/ID/GO-2023-1989.json"));
    expect(skipped).toEqual([]);
    expect(records).toHaveLength(1);
    const [advisory] = records;
    expect(advisory).toMatchObject({
      source: "osv",
      id: snapshot.id,
      aliases: snapshot.aliases,
      summary: snapshot.summary,
      description: snapshot.details,
      publishedAt: "2023-08-02T15:06:02.000Z",
      modifiedAt: "2024-05-20T16:03:47.000Z",
      withdrawn: false,
      references: snapshot.references.map((r) => r.url),
    });
    expect(advisory?.affected).toEqual([
      {
        ecosystem: "go",
        release: null,
        packageName: snapshotAffected?.package.name,
        packageScope: "binary",
        introduced: null, // "introduced": "0"
        fixed: snapshotAffected?.ranges[0]?.events[1]?.fixed,
        lastAffected: null,
        versions: [],
        status: "fixed",
        advisoryId: "GO-2023-1989",
        vendorSeverity: null,
        supersedes: [],
      },
    ]);
  });

  it("BIT-brotli-2020-8927 is skipped: its only package is in the Bitnami ecosystem", () => {
    const { records, skipped } = parseOsvRecord(
      read("vunnel/bitnami/vulndb/data/brotli/BIT-brotli-2020-8927.json"),
    );
    expect(records).toEqual([]);
    expect(skipped).toEqual([
      { record: "BIT-brotli-2020-8927 affected[0]", reason: 'unknown ecosystem "Bitnami"' },
      { record: "BIT-brotli-2020-8927", reason: "no affected package in an ecosystem PatchPilot can match" },
    ]);
  });
});

describe("mapOsvEcosystem", () => {
  it.each([
    ["Debian:12", "dpkg", "debian:12", "source"],
    ["Debian:bookworm", "dpkg", "debian:12", "source"],
    ["Debian:sid", "dpkg", "debian:unstable", "source"],
    ["Ubuntu:22.04:LTS", "dpkg", "ubuntu:22.04", "source"],
    ["Ubuntu:Pro:18.04:LTS", "dpkg", "ubuntu:18.04", "source"],
    ["Ubuntu:24.10", "dpkg", "ubuntu:24.10", "source"],
    ["Alpine:v3.19", "apk", "alpine:3.19", "source"],
    ["Red Hat:enterprise_linux:9::baseos", "rpm", "rhel:9", "binary"],
    ["Red Hat:enterprise_linux:8::appstream", "rpm", "rhel:8", "binary"],
    ["Red Hat:rhel_eus:9.2::baseos", "rpm", "rhel:9", "binary"],
    ["Rocky Linux:9", "rpm", "rocky:9", "binary"],
    ["AlmaLinux:9", "rpm", "almalinux:9", "binary"],
    ["SUSE:Linux Enterprise Server 15 SP5", "rpm", "sles:15.5", "binary"],
    ["SUSE:Linux Enterprise Server 12", "rpm", "sles:12", "binary"],
    ["openSUSE:Leap 15.5", "rpm", "opensuse-leap:15.5", "binary"],
    ["npm", "npm", null, "binary"],
    ["PyPI", "pypi", null, "binary"],
    ["Maven", "maven", null, "binary"],
    ["Go", "go", null, "binary"],
    ["crates.io", "cargo", null, "binary"],
    ["NuGet", "nuget", null, "binary"],
  ])("%s → %s %s (%s)", (name, ecosystem, release, packageScope) => {
    expect(mapOsvEcosystem(name)).toEqual({ ecosystem, release, packageScope });
  });

  it.each([
    "Bitnami",
    "Packagist",
    "Debian",
    "Debian:experimental",
    "Red Hat:openshift:4.14::el9",
    "openSUSE:Tumbleweed",
    "SUSE:Linux Enterprise Desktop 15 SP5",
  ])("%s is not matched", (name) => expect(mapOsvEcosystem(name)).toBeNull());
});

describe("parseOsvRecord ranges", () => {
  it("emits one range per introduced/fixed pair, sorting events the way the OSV spec evaluates them", () => {
    const record = osv({
      affected: [
        {
          package: { ecosystem: "PyPI", name: "django" },
          ranges: [
            {
              type: "ECOSYSTEM",
              events: [
                { fixed: "4.2.8" },
                { introduced: "5.0" },
                { introduced: "4.2" },
                { last_affected: "5.0.1" },
              ],
            },
          ],
          versions: ["4.2", "4.2.1"],
        },
      ],
    });
    const [advisory] = parseOsvRecord(record).records;
    expect(
      advisory?.affected.map((r) => [r.introduced, r.fixed, r.lastAffected, r.status, r.versions]),
    ).toEqual([
      ["4.2", "4.2.8", null, "fixed", ["4.2", "4.2.1"]],
      ["5.0", null, "5.0.1", "affected", ["4.2", "4.2.1"]],
    ]);
  });

  it("skips GIT ranges and limit-bounded intervals with reasons, keeping the rest of the record", () => {
    const record = osv({
      affected: [
        {
          package: { ecosystem: "Debian:12", name: "openssl" },
          ranges: [
            {
              type: "GIT",
              repo: "https://github.com/openssl/openssl",
              events: [{ introduced: "0" }, { fixed: "abc123" }],
            },
            { type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed: "3.0.11-1~deb12u2" }] },
            { type: "ECOSYSTEM", events: [{ introduced: "3.1.0-1" }, { limit: "3.2.0-1" }] },
            { type: "ECOSYSTEM", events: [{ introduced: "3.3.0-1" }, { limit: "*" }] },
          ],
        },
      ],
    });
    const { records, skipped } = parseOsvRecord(record);
    expect(records[0]?.affected).toEqual([
      expect.objectContaining({
        ecosystem: "dpkg",
        release: "debian:12",
        packageName: "openssl",
        packageScope: "source",
        fixed: "3.0.11-1~deb12u2",
      }),
      expect.objectContaining({ introduced: "3.3.0-1", fixed: null, status: "affected" }),
    ]);
    expect(skipped.map((s) => s.reason)).toEqual([
      "affected[0].ranges[0]: GIT ranges name commits, not package versions",
      "affected[0].ranges[2]: interval from 3.1.0-1 ends at limit 3.2.0-1, which the model cannot express",
    ]);
  });

  it("skips a range whose version the ecosystem's comparator refuses", () => {
    const record = osv({
      affected: [
        {
          package: { ecosystem: "Debian:12", name: "curl" },
          ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed: "7.88 beta" }] }],
        },
        {
          package: { ecosystem: "npm", name: "ok" },
          ranges: [{ type: "SEMVER", events: [{ introduced: "1.0.0" }] }],
        },
      ],
    });
    const { records, skipped } = parseOsvRecord(record);
    expect(records[0]?.affected.map((r) => [r.packageName, r.introduced, r.fixed, r.status])).toEqual([
      ["ok", "1.0.0", null, "affected"],
    ]);
    expect(skipped).toContainEqual({
      record: "GHSA-aaaa-bbbb-cccc",
      reason: "affected[0].ranges[0]: version 7.88 beta is not a valid dpkg version",
    });
    expect(skipped).toContainEqual({
      record: "GHSA-aaaa-bbbb-cccc affected[0]",
      reason: "affected[0]: no usable version range or version list",
    });
  });

  it("drops an entry in an unknown ecosystem and keeps the others", () => {
    const record = osv({
      affected: [
        {
          package: { ecosystem: "Hex", name: "plug" },
          ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }] }],
        },
        {
          package: { ecosystem: "Alpine:v3.19", name: "busybox" },
          ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed: "1.36.1-r16" }] }],
        },
      ],
    });
    const { records, skipped } = parseOsvRecord(record);
    expect(records[0]?.affected.map((r) => [r.ecosystem, r.release, r.packageName, r.fixed])).toEqual([
      ["apk", "alpine:3.19", "busybox", "1.36.1-r16"],
    ]);
    expect(skipped).toEqual([
      { record: "GHSA-aaaa-bbbb-cccc affected[0]", reason: 'unknown ecosystem "Hex"' },
    ]);
  });
});

describe("parseOsvRecord fields", () => {
  it("computes CVSS v3 from the vector, stores no v4 score it cannot compute, and maps the severity words", () => {
    const record = osv({
      id: "DSA-5555-1",
      aliases: ["CVE-2024-0001", "DSA-5555-1", "not an id!"],
      related: ["CVE-2024-0002", "GHSA-zzzz-zzzz-zzzz", "CVE-2024-0001"],
      severity: [
        { type: "CVSS_V4", score: "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N" },
        { type: "CVSS_V3", score: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" },
      ],
      database_specific: { severity: "MODERATE", cwe_ids: ["CWE-79", "garbage"] },
    });
    const [advisory] = parseOsvRecord(record).records;
    expect(advisory).toMatchObject({
      id: "DSA-5555-1",
      aliases: ["CVE-2024-0001", "CVE-2024-0002"],
      cvssV3: { score: 9.8, vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" },
      cvssV4: null,
      severity: "medium",
      cwes: ["CWE-79"],
    });
    expect(advisory?.affected[0]?.advisoryId).toBe("DSA-5555-1");
  });

  it("takes Debian's per-package urgency as the range's vendor severity", () => {
    const record = osv({
      affected: [
        {
          package: { ecosystem: "Debian:11", name: "bash" },
          ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }] }],
          ecosystem_specific: { urgency: "unimportant" },
        },
      ],
    });
    const [advisory] = parseOsvRecord(record).records;
    expect(advisory?.affected[0]).toMatchObject({
      vendorSeverity: "negligible",
      status: "affected",
      fixed: null,
    });
    expect(advisory?.severity).toBe("negligible");
  });

  it("keeps a withdrawn record even without affected packages, so the knowledge base can remove it", () => {
    const { records } = parseOsvRecord({
      id: "GHSA-wwww-wwww-wwww",
      modified: "2024-06-01T00:00:00Z",
      withdrawn: "2024-06-01T00:00:00Z",
    });
    expect(records).toEqual([
      expect.objectContaining({ id: "GHSA-wwww-wwww-wwww", withdrawn: true, affected: [] }),
    ]);
  });

  it("bounds a huge description and repairs broken encodings instead of failing", () => {
    const bytes = new TextEncoder().encode(
      JSON.stringify(osv({ details: `caf\u00e9 ${"A".repeat(100_000)}`, summary: "nul\u0000byte" })),
    );
    // Turn the two bytes of "é" into an invalid sequence: 0xC3 followed by a byte that cannot continue it.
    const at = bytes.indexOf(0xc3);
    bytes[at + 1] = 0x20;
    const [advisory] = parseOsvRecord(decodeFeedText(bytes)).records;
    expect(advisory?.description?.startsWith("caf\ufffd ")).toBe(true);
    expect(advisory?.description).toHaveLength(8_000);
    expect(advisory?.description?.endsWith("…")).toBe(true);
    expect(advisory?.summary).toBe("nulbyte");
  });

  it("skips a record whose id is not an OSV id", () => {
    const { records, skipped } = parseOsvRecord(osv({ id: "GHSA aaaa\ufffd" }));
    expect(records).toEqual([]);
    expect(skipped).toEqual([
      { record: "GHSA aaaa\ufffd", reason: 'id "GHSA aaaa\ufffd" is not a valid OSV id' },
    ]);
  });
});

describe("parseOsvDocuments", () => {
  it("skips a truncated document and a record with a wrong-typed field, parsing the good ones", () => {
    const good = JSON.stringify(osv({}));
    const truncated = good.slice(0, 60);
    const wrongType = JSON.stringify(osv({ id: "GHSA-dddd-eeee-ffff", aliases: "CVE-2024-0001" }));
    const { records, skipped } = parseOsvDocuments([
      good,
      truncated,
      wrongType,
      JSON.stringify({ vulns: [osv({ id: "PYSEC-2024-1" })] }),
    ]);
    expect(records.map((r) => r.id)).toEqual(["GHSA-aaaa-bbbb-cccc", "PYSEC-2024-1"]);
    expect(skipped).toHaveLength(2);
    expect(skipped[0]?.record).toBe("#2");
    expect(skipped[0]?.reason).toMatch(/^not JSON/);
    expect(skipped[1]).toEqual({
      record: "GHSA-dddd-eeee-ffff",
      reason: "aliases: expected an array, found a string",
    });
  });

  it("parseOsvRecord refuses text that is not JSON as a whole", () => {
    expect(() => parseOsvRecord('{"id": "GHSA-')).toThrow(FeedFormatError);
  });
});
