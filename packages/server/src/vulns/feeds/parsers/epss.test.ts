import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseEpssCsv, parseEpssLines } from "./epss.js";
import { FeedFormatError } from "./errors.js";

const TESTDATA = new URL("./testdata/vunnel/epss/", import.meta.url);
const read = (file: string) => readFileSync(new URL(file, TESTDATA), "utf8");
const HEAD = "#model_version:v2025.03.14,score_date:2025-08-25T00:00:00+0000\ncve,epss,percentile\n";

describe("parseEpssCsv on vunnel's samples", () => {
  it("reads example-1.csv with the header's score date", () => {
    const { records, skipped } = parseEpssCsv(read("example-1.csv"));
    expect(skipped).toEqual([]);
    expect(records).toEqual([
      { cveId: "CVE-1999-0001", epss: 0.00383, percentile: 0.73075, date: "2025-02-20" },
      { cveId: "CVE-1999-0002", epss: 0.01328, percentile: 0.85996, date: "2025-02-20" },
      { cveId: "CVE-1999-0003", epss: 0.04409, percentile: 0.9244, date: "2025-02-20" },
      { cveId: "CVE-1999-0004", epss: 0.00917, percentile: 0.82963, date: "2025-02-20" },
      { cveId: "CVE-1999-0005", epss: 0.91963, percentile: 0.99214, date: "2025-02-20" },
    ]);
  });

  it("refuses invalid-header.csv, naming the header it found", () => {
    expect(() => parseEpssCsv(read("invalid-header.csv"))).toThrow(FeedFormatError);
    expect(() => parseEpssCsv(read("invalid-header.csv"))).toThrow(
      'not a valid FIRST EPSS CSV: expected the column header "cve,epss,percentile", found "invalid,header,format"',
    );
  });

  it("refuses missing-date.csv rather than producing undated scores", () => {
    expect(() => parseEpssCsv(read("missing-date.csv"))).toThrow(
      "not a valid FIRST EPSS CSV: the comment line has no score_date, so the scores cannot be dated",
    );
  });
});

describe("parseEpssCsv edge cases", () => {
  it("skips bad rows with reasons and keeps the rest", () => {
    const { records, skipped } = parseEpssCsv(
      `${HEAD}CVE-2024-0001,0.5,0.9\r\nCVE-2024-0002,1.5,0.9\nCVE-2024-0003,abc,0.1\nGHSA-xxxx,0.1,0.1\nCVE-2024-0005,0.1\n\nCVE-2024-0006,0.1,0.2,extra\n`,
    );
    expect(records).toEqual([{ cveId: "CVE-2024-0001", epss: 0.5, percentile: 0.9, date: "2025-08-25" }]);
    expect(skipped).toEqual([
      { record: "CVE-2024-0002", reason: "epss and percentile must be numbers between 0 and 1" },
      { record: "CVE-2024-0003", reason: "epss and percentile must be numbers between 0 and 1" },
      { record: "line 6", reason: '"GHSA-xxxx" is not a CVE id' },
      { record: "line 7", reason: "expected three fields: cve,epss,percentile" },
      { record: "line 9", reason: "expected three fields: cve,epss,percentile" },
    ]);
  });

  it("refuses a file without the comment line or with an unreadable date", () => {
    expect(() => parseEpssCsv("cve,epss,percentile\nCVE-2024-0001,0.1,0.2\n")).toThrow(
      /first line must be the #model_version/,
    );
    expect(() => parseEpssCsv("#model_version:v1,score_date:soon\ncve,epss,percentile\n")).toThrow(
      /score_date "soon" is not a date/,
    );
    expect(() => parseEpssCsv("")).toThrow(FeedFormatError);
  });

  it("reads a file the size of the real daily one (≈260,000 rows) in well under a few seconds", () => {
    const rows: string[] = [];
    for (let i = 0; i < 260_000; i++)
      rows.push(
        `CVE-${2000 + (i % 25)}-${String(10_000 + i)},0.${String(i % 100_000).padStart(5, "0")},0.${String((i * 7) % 100_000).padStart(5, "0")}`,
      );
    const text = `${HEAD}${rows.join("\n")}\n`;
    const started = performance.now();
    const { records, skipped } = parseEpssCsv(text);
    const elapsed = performance.now() - started;
    expect(skipped).toEqual([]);
    expect(records).toHaveLength(260_000);
    expect(records[259_999]).toEqual({
      cveId: "CVE-2024-269999",
      epss: 0.59999,
      percentile: 0.19993,
      date: "2025-08-25",
    });
    expect(elapsed).toBeLessThan(5_000);
  });

  it("takes lines from a stream-like iterable", () => {
    const { records } = parseEpssLines([
      "#score_date:2025-01-02T00:00:00+0000",
      "cve,epss,percentile",
      "CVE-2025-0001,0.01,0.02",
    ]);
    expect(records).toEqual([{ cveId: "CVE-2025-0001", epss: 0.01, percentile: 0.02, date: "2025-01-02" }]);
  });
});
