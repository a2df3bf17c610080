import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { FeedFormatError } from "./errors.js";
import { parseKevCsv, parseKevJson } from "./kev.js";

const TESTDATA = new URL("./testdata/kev-data/", import.meta.url);
const jsonText = readFileSync(new URL("known_exploited_vulnerabilities.json", TESTDATA), "utf8");
const csvText = readFileSync(new URL("known_exploited_vulnerabilities.csv", TESTDATA), "utf8");

describe("CISA KEV catalogue 2025.08.25", () => {
  const fromJson = parseKevJson(jsonText);
  const fromCsv = parseKevCsv(csvText);

  it("gives the same 1,404 entries from the JSON and the CSV", () => {
    const catalogue: { count: number } = JSON.parse(jsonText);
    expect(catalogue.count).toBe(1404);
    expect(fromJson.skipped).toEqual([]);
    expect(fromCsv.skipped).toEqual([]);
    expect(fromJson.records).toHaveLength(1404);
    expect(fromCsv.records).toEqual(fromJson.records);
  });

  it("reads the first entry field by field (JSON \\/ escapes and non-ASCII quotes included)", () => {
    expect(fromJson.records[0]).toEqual({
      cveId: "CVE-2025-48384",
      vendorProject: "Git",
      product: "Git",
      name: "Git Link Following Vulnerability",
      dateAdded: "2025-08-25",
      dueDate: "2025-09-15",
      knownRansomware: false,
      notes: expect.stringContaining("https://github.com/git/git/security/advisories/GHSA-vwqx-4fm8-6qc9 ;"),
    });
  });

  it('marks "Known" ransomware use as true, and only that', () => {
    const sharePoint = fromJson.records.find((e) => e.cveId === "CVE-2025-49704");
    expect(sharePoint).toMatchObject({
      vendorProject: "Microsoft",
      product: "SharePoint",
      knownRansomware: true,
    });
    const catalogue: { vulnerabilities: { knownRansomwareCampaignUse: string }[] } = JSON.parse(jsonText);
    const raw = catalogue.vulnerabilities;
    const known = raw.filter((v) => v.knownRansomwareCampaignUse === "Known").length;
    expect(known).toBe(293);
    expect(fromJson.records.filter((e) => e.knownRansomware)).toHaveLength(known);
  });

  it("trims names (the catalogue writes 'SimpleHelp ' with a trailing space)", () => {
    expect(fromJson.records.find((e) => e.cveId === "CVE-2024-57727")?.vendorProject).toBe("SimpleHelp");
  });
});

describe("KEV edge cases", () => {
  const header =
    "cveID,vendorProject,product,vulnerabilityName,dateAdded,shortDescription,requiredAction,dueDate,knownRansomwareCampaignUse,notes,cwes\n";

  it("skips malformed rows and keeps the good ones", () => {
    const csv =
      header +
      'CVE-2024-0001,Acme,"Widget, Pro","Acme ""Widget"" Flaw",2024-01-02,"line one\nline two",Patch.,2024-01-23,Known,,"CWE-1, CWE-2"\n' +
      "CVE-2024-0002,Acme,Widget,Flaw,2024-13-45,d,a,2024-01-23,Unknown,,\n" +
      "NOT-A-CVE,Acme,Widget,Flaw,2024-01-02,d,a,2024-01-23,Unknown,,\n" +
      "CVE-2024-0004,too,few,fields\n";
    const { records, skipped } = parseKevCsv(csv);
    expect(records).toEqual([
      {
        cveId: "CVE-2024-0001",
        vendorProject: "Acme",
        product: "Widget, Pro",
        name: 'Acme "Widget" Flaw',
        dateAdded: "2024-01-02",
        dueDate: "2024-01-23",
        knownRansomware: true,
        notes: "",
      },
    ]);
    expect(skipped).toEqual([
      { record: "CVE-2024-0002", reason: 'dateAdded "2024-13-45" is not a YYYY-MM-DD date' },
      { record: "NOT-A-CVE", reason: 'cveID "NOT-A-CVE" is not a CVE id' },
      // Line 6: the first row spans lines 2 and 3.
      { record: "CVE-2024-0004", reason: "line 6: 4 fields, the header has 11" },
    ]);
  });

  it("skips a JSON entry with a wrong-typed field", () => {
    const good = {
      cveID: "CVE-2024-0001",
      vendorProject: "A",
      product: "B",
      vulnerabilityName: "C",
      dateAdded: "2024-01-01",
      dueDate: "2024-01-22",
      knownRansomwareCampaignUse: "Unknown",
      notes: "",
    };
    const { records, skipped } = parseKevJson({
      vulnerabilities: [good, { ...good, cveID: "CVE-2024-0002", product: 42 }],
    });
    expect(records.map((r) => r.cveId)).toEqual(["CVE-2024-0001"]);
    expect(skipped).toEqual([
      { record: "CVE-2024-0002", reason: "product: expected a string, found a number" },
    ]);
  });

  it("refuses files that are not the catalogue", () => {
    expect(() => parseKevCsv("cve,epss,percentile\nCVE-2024-0001,0.1,0.2\n")).toThrow(FeedFormatError);
    expect(() => parseKevJson('{"vulnerabilities": [')).toThrow(FeedFormatError);
    expect(() => parseKevJson({ count: 0 })).toThrow(/vulnerabilities array/);
  });
});
