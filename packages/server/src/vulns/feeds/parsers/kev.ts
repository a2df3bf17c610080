/**
 * CISA Known Exploited Vulnerabilities catalogue (https://www.cisa.gov/known-exploited-vulnerabilities-catalog),
 * in its JSON and CSV forms; both give the same entries. `knownRansomwareCampaignUse` is "Known"
 * or "Unknown"; only "Known" is true.
 */
import type { KevEntry, ParseResult, SkippedRecord } from "../model.js";
import { csvRows } from "./csv.js";
import { FeedFormatError, RecordError } from "./errors.js";
import { cveIdOrNull } from "./ids.js";
import {
  describeType,
  isObject,
  type JsonObject,
  optionalString,
  parseJsonInput,
  recordErrorMessage,
} from "./json.js";
import { cleanText, MAX_DESCRIPTION, MAX_NAME, textOrNull } from "./text.js";

const JSON_FORMAT = "CISA KEV JSON catalogue";
const CSV_FORMAT = "CISA KEV CSV catalogue";
const CSV_COLUMNS = [
  "cveID",
  "vendorProject",
  "product",
  "vulnerabilityName",
  "dateAdded",
  "dueDate",
  "knownRansomwareCampaignUse",
  "notes",
];

type Field = (key: string) => string | null;

/** YYYY-MM-DD naming a real day (2024-13-45 is refused). */
function isCalendarDate(value: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const time = Date.parse(`${value}T00:00:00Z`);
  return !Number.isNaN(time) && new Date(time).toISOString().startsWith(value);
}

function readEntry(field: Field): KevEntry {
  const raw = field("cveID") ?? "";
  const cveId = cveIdOrNull(raw);
  if (cveId === null) throw new RecordError(`cveID "${raw.slice(0, 80)}" is not a CVE id`);
  const dateAdded = field("dateAdded") ?? "";
  if (!isCalendarDate(dateAdded))
    throw new RecordError(`dateAdded "${dateAdded.slice(0, 40)}" is not a YYYY-MM-DD date`);
  const dueDate = field("dueDate");
  if (dueDate !== null && dueDate !== "" && !isCalendarDate(dueDate)) {
    throw new RecordError(`dueDate "${dueDate.slice(0, 40)}" is not a YYYY-MM-DD date`);
  }
  const required = (key: string): string => {
    const value = textOrNull(field(key), MAX_NAME);
    if (value === null) throw new RecordError(`${key}: missing`);
    return value;
  };
  return {
    cveId,
    vendorProject: required("vendorProject"),
    product: required("product"),
    name: required("vulnerabilityName"),
    dateAdded,
    dueDate: dueDate === "" ? null : dueDate,
    knownRansomware: field("knownRansomwareCampaignUse") === "Known",
    notes: textOrNull(field("notes"), MAX_DESCRIPTION) ?? "",
  };
}

/** The catalogue as JSON (text or parsed). FeedFormatError when there is no vulnerabilities list. */
export function parseKevJson(input: unknown): ParseResult<KevEntry> {
  const catalogue = parseJsonInput(input, JSON_FORMAT);
  if (!isObject(catalogue) || !Array.isArray(catalogue.vulnerabilities)) {
    throw new FeedFormatError(JSON_FORMAT, "expected an object with a vulnerabilities array");
  }
  const records: KevEntry[] = [];
  const skipped: SkippedRecord[] = [];
  catalogue.vulnerabilities.forEach((item: unknown, i: number) => {
    const label = isObject(item) && typeof item.cveID === "string" ? item.cveID.slice(0, 80) : `#${i + 1}`;
    try {
      if (!isObject(item)) throw new RecordError(`expected an object, found ${describeType(item)}`);
      const entry: JsonObject = item;
      records.push(readEntry((key) => optionalString(entry, key)));
    } catch (error) {
      skipped.push({ record: label, reason: recordErrorMessage(error) });
    }
  });
  return { records, skipped };
}

/** The catalogue as CSV. FeedFormatError when the header row lacks the catalogue's columns. */
export function parseKevCsv(text: string): ParseResult<KevEntry> {
  const rows = csvRows(text);
  const header = rows.next();
  const columns = header.done ? [] : header.value.fields.map((f) => cleanText(f));
  const missing = CSV_COLUMNS.filter((c) => !columns.includes(c));
  if (missing.length > 0) throw new FeedFormatError(CSV_FORMAT, `header row lacks ${missing.join(", ")}`);
  const index = new Map(columns.map((name, i) => [name, i]));
  const records: KevEntry[] = [];
  const skipped: SkippedRecord[] = [];
  for (const row of rows) {
    const label = cleanText(row.fields[0] ?? "").slice(0, 80) || `line ${row.line}`;
    try {
      if (row.unterminated) throw new RecordError(`line ${row.line}: quoted field never closed`);
      if (row.fields.length !== columns.length) {
        throw new RecordError(
          `line ${row.line}: ${row.fields.length} fields, the header has ${columns.length}`,
        );
      }
      records.push(
        readEntry((key) => {
          const value = row.fields[index.get(key) ?? -1];
          return value === undefined ? null : cleanText(value);
        }),
      );
    } catch (error) {
      skipped.push({ record: label, reason: recordErrorMessage(error) });
    }
  }
  return { records, skipped };
}
