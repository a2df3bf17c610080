import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { FeedFormatError } from "./errors.js";
import { parseTrivyFixture } from "./trivy-fixture.js";

const TESTDATA = new URL("./testdata/trivy/", import.meta.url);
const DB = new URL("integration-fixtures-db/", TESTDATA);
const files = Object.fromEntries(readdirSync(DB).map((f) => [f, readFileSync(new URL(f, DB), "utf8")]));
const { records, skipped } = parseTrivyFixture(files);
const byId = new Map(records.map((r) => [r.id, r]));

/**
 * Trivy matches dpkg and apk findings by source package (README §1a); the golden reports name the
 * binary package, so the test needs the binary → source pairs of those images.
 */
const SOURCE_OF: Readonly<Record<string, string>> = {
  "libidn2-0": "libidn2",
  e2fslibs: "e2fsprogs",
  libcomerr2: "e2fsprogs",
  libss2: "e2fsprogs",
  "libcom-err2": "e2fsprogs",
  libext2fs2: "e2fsprogs",
  "libcrypto1.1": "openssl",
  "libssl1.1": "openssl",
  "musl-utils": "musl",
};

/** "debian 9.9" → debian:9, "alpine 3.10.2" → alpine:3.10, "ubuntu 18.04" → ubuntu:18.04, "centos 7.6.1810" → centos:7. */
function releaseOf(os: string): string {
  const [family = "", version = ""] = os.split(" ");
  const parts = version.split(".");
  const keep = family === "alpine" || family === "ubuntu" ? 2 : 1;
  return `${family}:${parts.slice(0, keep).join(".")}`;
}

interface Finding {
  golden: string;
  os: string;
  id: string;
  pkg: string;
  fixed: string;
  status: string;
  severity: string;
}

function findings(): Finding[] {
  const [, ...rows] = readFileSync(new URL("derived-expected-os-findings.tsv", TESTDATA), "utf8")
    .trim()
    .split("\n");
  return rows.map((row) => {
    const [golden = "", os = "", id = "", pkg = "", , , fixed = "", status = "", severity = ""] =
      row.split("\t");
    return { golden, os, id, pkg, fixed, status, severity };
  });
}

describe("parseTrivyFixture reproduces the advisories behind Trivy's golden reports", () => {
  it.each(findings().map((f) => [`${f.golden} ${f.id} ${f.pkg}`, f] as const))("%s", (_label, f) => {
    const advisory = byId.get(f.id);
    const release = releaseOf(f.os);
    const packageName = release.startsWith("centos") ? f.pkg : (SOURCE_OF[f.pkg] ?? f.pkg);
    const range = advisory?.affected.find((r) => r.release === release && r.packageName === packageName);
    expect(range, `${f.id} ${release} ${packageName}`).toBeDefined();
    expect(range?.status).toBe(f.status);
    expect(range?.fixed).toBe(f.fixed === "" ? null : f.fixed);
    // Trivy's reported severity: the vendor's where there is one, else the vulnerability's.
    expect((range?.vendorSeverity ?? advisory?.severity)?.toUpperCase()).toBe(f.severity);
  });

  it("keeps RHSA-2019:2471 (RHEL 6) away from CentOS 7, so centos-7's openssl-libs has only the el7 fix", () => {
    const ranges =
      byId
        .get("CVE-2019-1559")
        ?.affected.filter((r) => r.packageName === "openssl-libs" || r.packageName === "openssl") ?? [];
    expect(ranges.map((r) => [r.release, r.packageName, r.fixed, r.advisoryId])).toEqual([
      ["rhel:7", "openssl", "1:1.0.2k-19.el7", "RHSA-2019:2304"],
      ["centos:7", "openssl", "1:1.0.2k-19.el7", "RHSA-2019:2304"],
      ["rhel:6", "openssl", "0:1.0.1e-58.el6_10", "RHSA-2019:2471"],
      ["centos:6", "openssl", "0:1.0.1e-58.el6_10", "RHSA-2019:2471"],
      ["rhel:7", "openssl-libs", "1:1.0.2k-19.el7", "RHSA-2019:2304"],
      ["centos:7", "openssl-libs", "1:1.0.2k-19.el7", "RHSA-2019:2304"],
    ]);
  });

  it("reads the negative cases' fixes as given (bash 4.4-5ubuntu1, musl 1.1.20-r5)", () => {
    expect(byId.get("CVE-2016-9401")?.affected).toEqual([
      expect.objectContaining({ release: "ubuntu:18.04", packageName: "bash", fixed: "4.4-5ubuntu1" }),
    ]);
    expect(byId.get("CVE-2019-14697")?.affected.map((r) => [r.release, r.fixed])).toEqual([
      ["alpine:3.9", "1.1.20-r5"],
      ["alpine:3.10", "1.1.20-r5"],
    ]);
  });

  it("takes details from the vulnerability bucket, CVSS recomputed from NVD's vector", () => {
    expect(byId.get("CVE-2019-18224")).toMatchObject({
      source: "trivy-fixture",
      summary: "libidn2: heap-based buffer overflow in idn2_to_ascii_4i in lib/lookup.c",
      severity: "critical",
      cvssV3: { score: 9.8, vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" },
      cwes: ["CWE-787"],
      publishedAt: "2019-10-21T17:15:00.000Z",
    });
    expect(byId.get("CVE-2019-5094")?.affected[0]?.advisoryId).toBe("DSA-4535-1");
  });

  it("counts what it could not use: CPE indices outside cpe.yaml and details without a package bucket", () => {
    expect(records).toHaveLength(13);
    const reasons = skipped.map((s) => s.reason);
    expect(reasons.filter((r) => r.startsWith("CPE indices"))).toHaveLength(5);
    expect(reasons.filter((r) => r.startsWith("details only"))).toHaveLength(31);
    expect(skipped).toHaveLength(36);
    expect(skipped).toContainEqual({
      record: "Red Hat/openssl/RHSA-2019:2471 Entries[0]",
      reason: "CPE indices 855, 858, 924 are not RHEL releases in the Red Hat CPE bucket",
    });
  });
});

describe("parseTrivyFixture edge cases", () => {
  it("skips bad values and unknown buckets with reasons", () => {
    const yaml = `- bucket: debian 12
  pairs:
    - bucket: curl
      pairs:
        - key: CVE-2024-0001
          value:
            FixedVersion: "7.88 beta"
        - key: CVE-2024-0002
          value:
            Status: 9
        - key: CVE-2024-0003
          value:
            Status: 3
        - key: CVE-2024-0004
          value: {}
- bucket: pip::GitHub Security Advisory pip
  pairs: []
`;
    const result = parseTrivyFixture({ "debian.yaml": yaml });
    expect(result.records.map((r) => [r.id, r.affected[0]?.release, r.affected[0]?.status])).toEqual([
      ["CVE-2024-0004", "debian:12", "affected"],
    ]);
    expect(result.skipped).toEqual([
      { record: "debian 12/curl/CVE-2024-0001", reason: "version 7.88 beta is not a valid dpkg version" },
      { record: "debian 12/curl/CVE-2024-0002", reason: "Status 9 is not one of 0–7" },
      { record: "debian 12/curl/CVE-2024-0003", reason: "Status fixed without FixedVersion" },
      {
        record: "bucket pip::GitHub Security Advisory pip",
        reason: "not a bucket this parser reads (Debian, Ubuntu, Alpine, Red Hat, vulnerability)",
      },
    ]);
  });

  it("refuses files that are not fixture YAML", () => {
    expect(() => parseTrivyFixture({ "x.yaml": "- bucket: [unclosed" })).toThrow(FeedFormatError);
    expect(() => parseTrivyFixture({ "x.yaml": "bucket: debian 9\n" })).toThrow(
      /\(x\.yaml\).*expected a list of buckets/,
    );
  });
});
