import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { detectFeedFormat } from "./detect.js";

const TESTDATA = new URL("./testdata/", import.meta.url);
/** The first 4 KiB, as an importer would read them: cut anywhere, even inside a JSON string. */
const head = (path: string) => readFileSync(new URL(path, TESTDATA), "utf8").slice(0, 4096);

describe("detectFeedFormat on the real files", () => {
  it.each([
    ["vunnel/govulndb/vulndb/ID/GO-2023-1989.json", "osv"],
    ["vunnel/bitnami/vulndb/data/brotli/BIT-brotli-2020-8927.json", "osv"],
    ["vunnel/nvd/single-entry.json", "nvd"],
    ["vunnel/debian/input/debian.json", "debian-tracker"],
    ["vunnel/alpine/input/secdb/v3.15/main.yaml", "alpine-secdb"],
    ["vunnel/alpine/input/secdb/v3.15/community.yaml", "alpine-secdb"],
    ["kev-data/known_exploited_vulnerabilities.json", "kev-json"],
    ["kev-data/known_exploited_vulnerabilities.csv", "kev-csv"],
    ["vunnel/epss/example-1.csv", "epss-csv"],
    ["vunnel/epss/missing-date.csv", "epss-csv"],
    ["csaf/csaf_2.0/examples/csaf/rhsa-2021_5217.json", "csaf"],
    ["csaf/csaf_2.0/examples/csaf/bsi-2022-0001.json", "csaf"],
    ["csaf/csaf_2.0/examples/csaf/csaf_vex/2022-evd-uc-01-a-001.json", "csaf"],
    ["vunnel/rhel/csaf/advisories/2024/rhsa-2024_6163.json", "csaf"],
    ["patchpilot/msrc-windows-kb-csaf.json", "csaf"],
    ["csaf/cvrf1.1-examples/CVRF-1.1-rhsa-2012-0465.xml", "cvrf"],
    ["csaf/cvrf1.1-examples/CVRF-1.1-test.xml", "cvrf"],
    ["patchpilot/msrc-windows-kb-cvrf.xml", "cvrf"],
    ["trivy/integration-fixtures-db/debian.yaml", "trivy-fixture"],
    ["trivy/integration-fixtures-db/redhat.yaml", "trivy-fixture"],
    ["trivy/integration-fixtures-db/vulnerability.yaml", "trivy-fixture"],
  ])("%s → %s", (path, format) => {
    const name = path.split("/").pop() ?? path;
    expect(detectFeedFormat(name, head(path))).toBe(format);
  });
});

describe("detectFeedFormat on other files", () => {
  it("returns null for files of no known feed format", () => {
    expect(
      detectFeedFormat("schema.json", head("csaf/csaf_2.0/json_schema/csaf_json_schema.json")),
    ).toBeNull();
    expect(detectFeedFormat("findings.tsv", head("trivy/derived-expected-os-findings.tsv"))).toBeNull();
    expect(detectFeedFormat("notes.txt", "hello")).toBeNull();
    expect(detectFeedFormat("feed.xml", "<rss><channel/></rss>")).toBeNull();
    expect(detectFeedFormat("empty.json", "")).toBeNull();
  });

  it("recognises a secdb file whose head shows only package entries by its name", () => {
    expect(detectFeedFormat("main.yaml", "---\n- pkg:\n    name: zlib\n")).toBe("alpine-secdb");
  });

  it("recognises an OSV record written by another producer, and a BOM in front of JSON", () => {
    expect(
      detectFeedFormat("x.json", '\ufeff{"id":"PYSEC-2024-1","modified":"2024-01-01T00:00:00Z","affected":['),
    ).toBe("osv");
  });
});
