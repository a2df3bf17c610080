import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseCvrfDocument } from "./cvrf.js";
import { FeedFormatError } from "./errors.js";

const TESTDATA = new URL("./testdata/", import.meta.url);
const read = (path: string) => readFileSync(new URL(path, TESTDATA), "utf8");

describe("parseCvrfDocument: Red Hat CVRF 1.1 (RHSA-2012:0465)", () => {
  const { records, skipped } = parseCvrfDocument(read("csaf/cvrf1.1-examples/CVRF-1.1-rhsa-2012-0465.xml"));

  it("gives one advisory for CVE-2012-1182 with the document's dates and impact", () => {
    expect(skipped).toEqual([]);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      source: "cvrf",
      id: "RHSA-2012:0465/CVE-2012-1182",
      aliases: ["CVE-2012-1182"],
      publishedAt: "2012-04-10T00:00:00.000Z",
      modifiedAt: "2012-04-10T19:43:00.000Z",
      severity: "critical",
      cvssV3: null, // the document scores with CVSS v2 only
      references: [
        "http://www.samba.org/samba/history/samba-3.6.4.html",
        "https://www.redhat.com/security/data/cve/CVE-2012-1182.html",
        "https://bugzilla.redhat.com/show_bug.cgi?id=804093",
      ],
    });
  });

  it("maps the 17 fixed platform:component ids to one range per release and source RPM", () => {
    // RHEL 5 and 6 each have three streams (z-stream, EUS, Long Life) with their own fixed build.
    expect(
      records[0]?.affected.map((r) => [
        r.release,
        r.packageName,
        r.packageScope,
        r.status,
        r.fixed,
        r.advisoryId,
      ]),
    ).toEqual([
      ["rhel:5", "samba", "source", "fixed", "3.0.33-3.39.el5_8", "RHSA-2012:0465"],
      ["rhel:5", "samba", "source", "fixed", "3.0.33-3.7.el5_3.5", "RHSA-2012:0465"],
      ["rhel:5", "samba", "source", "fixed", "3.0.33-3.29.el5_6.5", "RHSA-2012:0465"],
      ["rhel:6", "samba", "source", "fixed", "3.5.10-115.el6_2", "RHSA-2012:0465"],
      ["rhel:6", "samba", "source", "fixed", "3.5.4-68.el6_0.3", "RHSA-2012:0465"],
      ["rhel:6", "samba", "source", "fixed", "3.5.6-86.el6_1.5", "RHSA-2012:0465"],
    ]);
  });
});

describe("parseCvrfDocument: other documents", () => {
  it("skips the OASIS CVRF 1.1 test document's vulnerability: it has no CVE", () => {
    const { records, skipped } = parseCvrfDocument(read("csaf/cvrf1.1-examples/CVRF-1.1-test.xml"));
    expect(records).toEqual([]);
    expect(skipped).toEqual([
      {
        record: "Test Doc 1.0 vulnerabilities[0]",
        reason: "no CVE id, so the vulnerability cannot be tied to one",
      },
    ]);
  });

  it("maps our MSRC-style fixture: KB per product, supersedence, fixed builds, severity threat", () => {
    const { records, skipped } = parseCvrfDocument(read("patchpilot/msrc-windows-kb-cvrf.xml"));
    expect(skipped).toEqual([]);
    expect(records[0]).toMatchObject({
      id: "2024-Jan/CVE-2099-10001",
      aliases: ["CVE-2099-10001"],
      summary: "Windows Kernel Elevation of Privilege Vulnerability",
      severity: "high", // Threat Type="Severity": Important
      cvssV3: { score: 7.8, vector: "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H/E:U/RL:O/RC:C" },
      publishedAt: "2024-01-09T08:00:00.000Z",
    });
    expect(
      records[0]?.affected.map((r) => [
        r.ecosystem,
        r.release,
        r.packageName,
        r.fixed,
        r.advisoryId,
        r.supersedes,
        r.vendorSeverity,
      ]),
    ).toEqual([
      [
        "windows-kb",
        "windows:10.0.22631",
        "windows 11 version 23h2 for x64-based systems",
        "KB5034123",
        "KB5034123",
        ["KB5033375"],
        "high",
      ],
      ["windows", "windows:10.0.22631", "windows", "10.0.22631.3007", "KB5034123", [], "high"],
      [
        "windows-kb",
        "windows:10.0.19045",
        "windows 10 version 22h2 for x64-based systems",
        "KB5034122",
        "KB5034122",
        [],
        "high",
      ],
      ["windows", "windows:10.0.19045", "windows", "10.0.19045.3930", "KB5034122", [], "high"],
    ]);
  });

  it("refuses text that is not a CVRF document", () => {
    expect(() => parseCvrfDocument("<cvrfdoc><DocumentTitle>x</cvrfdoc>")).toThrow(FeedFormatError);
    expect(() => parseCvrfDocument('{"document": {}}')).toThrow(/not XML/);
    expect(() => parseCvrfDocument("<feed></feed>")).toThrow(/no cvrfdoc root element/);
    expect(() => parseCvrfDocument("<cvrfdoc><DocumentTitle>x</DocumentTitle></cvrfdoc>")).toThrow(
      /Identification\/ID is missing/,
    );
  });

  it("does not expand nested entities (billion laughs): the document stays small and parses", () => {
    const entities = ["a", "b", "c", "d", "e"].map((name, i, all) =>
      i === 0 ? '<!ENTITY a "aaaaaaaaaa">' : `<!ENTITY ${name} "${`&${all[i - 1]};`.repeat(10)}">`,
    );
    const bomb = `<?xml version="1.0"?><!DOCTYPE cvrfdoc [${entities.join("")}]><cvrfdoc><DocumentTracking><Identification><ID>${"&e;".repeat(10)}</ID></Identification></DocumentTracking></cvrfdoc>`;
    const started = performance.now();
    expect(parseCvrfDocument(bomb)).toEqual({ records: [], skipped: [] });
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});
