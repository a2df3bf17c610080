/**
 * FIRST EPSS daily CSV (https://www.first.org/epss/data_stats): a comment line
 * `#model_version:v2023.03.01,score_date:2025-02-20T00:00:00+0000`, the header
 * `cve,epss,percentile`, then about 250,000 rows. Read line by line with plain string operations
 * (no regular expression per row); a file without the score date or with another header is
 * refused as a whole, since its scores could not be dated or read by column.
 */
import type { EpssScore, ParseResult, SkippedRecord } from "../model.js";
import { FeedFormatError } from "./errors.js";
import { CVE_ID } from "./ids.js";

const FORMAT = "FIRST EPSS CSV";
const HEADER = "cve,epss,percentile";

/** The YYYY-MM-DD score date from the comment line, or a FeedFormatError naming what is wrong. */
function scoreDate(line: string | undefined): string {
  if (line === undefined || !line.startsWith("#")) {
    throw new FeedFormatError(FORMAT, "first line must be the #model_version:…,score_date:… comment");
  }
  for (const part of line.slice(1).split(",")) {
    const colon = part.indexOf(":");
    if (colon < 0 || part.slice(0, colon).trim() !== "score_date") continue;
    const value = part.slice(colon + 1).trim();
    const date = value.slice(0, 10);
    if (/^\d{4}-\d{2}-\d{2}$/.test(date) && !Number.isNaN(Date.parse(date))) return date;
    throw new FeedFormatError(FORMAT, `score_date "${value.slice(0, 40)}" is not a date`);
  }
  throw new FeedFormatError(FORMAT, "the comment line has no score_date, so the scores cannot be dated");
}

/** A probability written as a decimal between 0 and 1, or null. */
function probability(text: string): number | null {
  if (text === "" || text.length > 32) return null;
  const value = Number(text);
  return Number.isFinite(value) && value >= 0 && value <= 1 ? value : null;
}

/** For callers that stream the file (readline); parseEpssCsv() splits a text into lines for this. */
export function parseEpssLines(lines: Iterable<string>): ParseResult<EpssScore> {
  const iterator = lines[Symbol.iterator]();
  const first = iterator.next();
  const date = scoreDate(first.done ? undefined : first.value.trim());
  const header = iterator.next();
  const headerText = header.done ? "" : header.value.trim();
  if (headerText.toLowerCase() !== HEADER) {
    throw new FeedFormatError(
      FORMAT,
      `expected the column header "${HEADER}", found "${headerText.slice(0, 80)}"`,
    );
  }
  const records: EpssScore[] = [];
  const skipped: SkippedRecord[] = [];
  let lineNumber = 2;
  for (let next = iterator.next(); !next.done; next = iterator.next()) {
    lineNumber++;
    const line = next.value.trim();
    if (line === "") continue;
    const first = line.indexOf(",");
    const second = first < 0 ? -1 : line.indexOf(",", first + 1);
    if (second < 0 || line.indexOf(",", second + 1) >= 0) {
      skipped.push({ record: `line ${lineNumber}`, reason: "expected three fields: cve,epss,percentile" });
      continue;
    }
    const cveId = line.slice(0, first);
    const epss = probability(line.slice(first + 1, second));
    const percentile = probability(line.slice(second + 1));
    if (!CVE_ID.test(cveId)) {
      skipped.push({ record: `line ${lineNumber}`, reason: `"${cveId.slice(0, 40)}" is not a CVE id` });
    } else if (epss === null || percentile === null) {
      skipped.push({ record: cveId, reason: "epss and percentile must be numbers between 0 and 1" });
    } else {
      records.push({ cveId, epss, percentile, date });
    }
  }
  return { records, skipped };
}

function* linesOf(text: string): Generator<string> {
  let start = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  while (start < text.length) {
    const end = text.indexOf("\n", start);
    if (end < 0) {
      yield text.slice(start);
      return;
    }
    yield text.slice(start, end);
    start = end + 1;
  }
}

/** The whole file as text. */
export function parseEpssCsv(text: string): ParseResult<EpssScore> {
  return parseEpssLines(linesOf(text));
}
