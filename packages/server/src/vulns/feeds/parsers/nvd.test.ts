import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { FeedFormatError } from "./errors.js";
import { parseNvdPage } from "./nvd.js";

const TESTDATA = new URL("./testdata/vunnel/nvd/", import.meta.url);

function page(vulnerabilities: unknown[], extra: Record<string, unknown> = {}) {
  return {
    resultsPerPage: 2000,
    startIndex: 4000,
    totalResults: 250_123,
    format: "NVD_CVE",
    version: "2.0",
    vulnerabilities,
    ...extra,
  };
}

function cve(fields: Record<string, unknown>) {
  return {
    cve: {
      id: "CVE-2024-0001",
      published: "2024-01-01T00:00:00.000",
      lastModified: "2024-02-01T00:00:00.000",
      ...fields,
    },
  };
}

/** The fields of vunnel's NVD snapshot the comparison reads. */
interface NvdSnapshot {
  item: {
    cve: {
      id: string;
      published: string;
      lastModified: string;
      descriptions: { lang: string; value: string }[];
      metrics: { cvssMetricV31: { cvssData: { baseScore: number; vectorString: string } }[] };
      configurations: { nodes: { cpeMatch: { criteria: string; versionEndExcluding: string }[] }[] }[];
    };
  };
}

describe("parseNvdPage on vunnel's single-entry page", () => {
  const file: NvdSnapshot = JSON.parse(
    readFileSync(new URL("snapshots/single-entry/2022/cve-2022-1576.json", TESTDATA), "utf8"),
  );
  const snapshot = file.item.cve;
  const result = parseNvdPage(readFileSync(new URL("single-entry.json", TESTDATA), "utf8"));
  const [advisory] = result.records;

  it("returns the page position for the next request", () => {
    expect(result).toMatchObject({ startIndex: 0, resultsPerPage: 1, totalResults: 1, skipped: [] });
    expect(result.records).toHaveLength(1);
  });

  it("reads the fields the snapshot records, times as UTC", () => {
    const v31 = snapshot.metrics.cvssMetricV31[0]?.cvssData;
    expect(advisory).toMatchObject({
      source: "nvd",
      id: snapshot.id,
      publishedAt: `${snapshot.published}Z`,
      modifiedAt: `${snapshot.lastModified}Z`,
      withdrawn: false,
      description: snapshot.descriptions.find((d) => d.lang === "en")?.value,
      cvssV3: { score: v31?.baseScore, vector: v31?.vectorString },
      cvssV4: null,
      severity: "medium",
      cwes: ["CWE-352"],
      // Two references with the same URL (two sources) are one reference.
      references: ["https://wpscan.com/vulnerability/68deab46-1c16-46ae-a912-a104958ca4cf"],
      affected: [],
    });
  });

  it("turns the vulnerable CPE match into vendor, product and range, unquoting the CPE", () => {
    const match = snapshot.configurations[0]?.nodes[0]?.cpeMatch[0];
    expect(advisory?.cpeMatches).toEqual([
      {
        criteria: match?.criteria,
        vendor: "themeisle",
        product: "wp_maintenance_mode_&_coming_soon",
        version: null,
        versionStartIncluding: null,
        versionStartExcluding: null,
        versionEndIncluding: null,
        versionEndExcluding: match?.versionEndExcluding,
      },
    ]);
  });
});

describe("parseNvdPage edge cases", () => {
  it("marks rejected CVEs withdrawn and takes NVD's v4.0 score as given", () => {
    const vector = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N";
    const { records } = parseNvdPage(
      page([
        cve({ vulnStatus: "Rejected", descriptions: [{ lang: "en", value: "Rejected reason: duplicate." }] }),
        cve({
          id: "CVE-2024-0002",
          metrics: {
            cvssMetricV40: [
              {
                source: "cna@example.com",
                type: "Secondary",
                cvssData: { vectorString: vector, baseScore: 9.3, baseSeverity: "CRITICAL" },
              },
            ],
          },
        }),
      ]),
    );
    expect(records.map((r) => [r.id, r.withdrawn, r.cvssV4, r.severity])).toEqual([
      ["CVE-2024-0001", true, null, null],
      ["CVE-2024-0002", false, { score: 9.3, vector }, "critical"],
    ]);
  });

  it("prefers NVD's Primary v3.1 metric over a CNA's", () => {
    const metric = (source: string, type: string, vectorString: string) => ({
      source,
      type,
      cvssData: { vectorString, baseSeverity: "HIGH" },
    });
    const { records } = parseNvdPage(
      page([
        cve({
          metrics: {
            cvssMetricV31: [
              metric("cna@example.com", "Secondary", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
              metric("nvd@nist.gov", "Primary", "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H"),
            ],
          },
        }),
      ]),
    );
    expect(records[0]?.cvssV3).toEqual({
      score: 7.8,
      vector: "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H",
    });
  });

  it("keeps only vulnerable matches outside negated nodes, and counts unreadable CPEs", () => {
    const { records, skipped } = parseNvdPage(
      page([
        cve({
          configurations: [
            {
              operator: "AND",
              nodes: [
                {
                  operator: "OR",
                  negate: false,
                  cpeMatch: [
                    { vulnerable: true, criteria: "cpe:2.3:a:acme:widget:1.2.3:*:*:*:*:*:*:*" },
                    { vulnerable: true, criteria: "cpe:2.3:a:broken" },
                  ],
                },
                {
                  operator: "OR",
                  negate: false,
                  cpeMatch: [{ vulnerable: false, criteria: "cpe:2.3:o:microsoft:windows:-:*:*:*:*:*:*:*" }],
                },
                {
                  operator: "OR",
                  negate: true,
                  cpeMatch: [{ vulnerable: true, criteria: "cpe:2.3:a:acme:widget:9.9:*:*:*:*:*:*:*" }],
                },
              ],
            },
          ],
        }),
      ]),
    );
    expect(records[0]?.cpeMatches.map((m) => [m.vendor, m.product, m.version])).toEqual([
      ["acme", "widget", "1.2.3"],
    ]);
    expect(skipped).toEqual([
      {
        record: "CVE-2024-0001 configurations[0].nodes[0].cpeMatch[1]",
        reason: '"cpe:2.3:a:broken" is not a CPE 2.3 name',
      },
    ]);
  });

  it("skips a record with a bad id or a wrong-typed field among good ones", () => {
    const { records, skipped } = parseNvdPage(
      page([cve({}), cve({ id: "CVE-24-1" }), cve({ id: "CVE-2024-0003", references: "https://x" }), "junk"]),
    );
    expect(records.map((r) => r.id)).toEqual(["CVE-2024-0001"]);
    expect(skipped).toEqual([
      { record: "CVE-24-1", reason: 'cve.id "CVE-24-1" is not a CVE id' },
      { record: "CVE-2024-0003", reason: "references: expected an array, found a string" },
      { record: "#4003", reason: "expected { cve: {…} }, found a string" },
    ]);
  });

  it("refuses what is not an NVD 2.0 page", () => {
    expect(() => parseNvdPage('{"vulnerabilities": [')).toThrow(FeedFormatError);
    expect(() => parseNvdPage(page([], { format: "NVD_CPE" }))).toThrow(/format is "NVD_CPE"/);
    expect(() => parseNvdPage({ resultsPerPage: 1, startIndex: 0, totalResults: 1 })).toThrow(
      /vulnerabilities: expected an array/,
    );
    expect(() => parseNvdPage(page([], { startIndex: -1 }))).toThrow(/startIndex/);
  });
});
