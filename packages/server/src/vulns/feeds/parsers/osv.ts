/**
 * OSV records (https://ossf.github.io/osv-schema/) → NormalizedAdvisory. One record is one
 * advisory; its affected entries become ranges in the model's ecosystems. An entry in an
 * ecosystem PatchPilot cannot match, a GIT range or a range with a version the ecosystem refuses is
 * dropped and counted; the record is skipped only when nothing usable is left (unless it is
 * withdrawn, which must still reach the knowledge base to remove the earlier copy).
 */
import type {
  AffectedRange,
  CvssScore,
  NormalizedAdvisory,
  ParseResult,
  Severity,
  SkippedRecord,
} from "../model.js";
import { cvssV3BaseScore } from "./cvss.js";
import { RecordError } from "./errors.js";
import { CVE_ID, CWE_ID, OSV_ID, timestampOrNull } from "./ids.js";
import {
  isObject,
  type JsonObject,
  objectArray,
  optionalObject,
  optionalString,
  parseJsonInput,
  recordErrorMessage,
  requiredString,
  stringArray,
} from "./json.js";
import { mapOsvEcosystem } from "./osv-ecosystems.js";
import { osvIntervals, osvRangeType } from "./osv-ranges.js";
import { emptyAdvisory, makeRange, uniqueRanges, uniqueStrings, versionProblem } from "./records.js";
import { highestSeverity, severityFromWord } from "./severity.js";
import { httpUrls, MAX_DESCRIPTION, MAX_NAME, MAX_SUMMARY, textOrNull } from "./text.js";

const FORMAT = "OSV record";

interface Severities {
  cvssV3: CvssScore | null;
  rating: Severity | null;
}

function readSeverities(
  list: readonly JsonObject[],
  path: string,
  skipped: SkippedRecord[],
  id: string,
): Severities {
  let cvssV3: CvssScore | null = null;
  let rating: Severity | null = null;
  list.forEach((entry, i) => {
    const type = optionalString(entry, "type", `${path}[${i}].type`);
    const score = optionalString(entry, "score", `${path}[${i}].score`) ?? "";
    if (type === "CVSS_V3" && cvssV3 === null) {
      const result = cvssV3BaseScore(score);
      if (result.ok) cvssV3 = result.score;
      else skipped.push({ record: `${id} ${path}[${i}]`, reason: result.problem });
    } else if (type === "Ubuntu") {
      rating ??= severityFromWord(score);
    }
    // CVSS_V4 carries only the vector in OSV; without a v4 calculator there is no score to store.
  });
  return { cvssV3, rating };
}

/** The word an affected entry or the record gives for severity (GHSA, Bitnami, Debian, Ubuntu). */
function severityWord(object: JsonObject, path: string): Severity | null {
  const at = path === "" ? "" : `${path}.`;
  const database = optionalObject(object, "database_specific", `${at}database_specific`);
  const ecosystem = optionalObject(object, "ecosystem_specific", `${at}ecosystem_specific`);
  const words = [
    database === null ? null : optionalString(database, "severity", `${at}database_specific.severity`),
    ecosystem === null ? null : optionalString(ecosystem, "urgency", `${at}ecosystem_specific.urgency`),
    ecosystem === null ? null : optionalString(ecosystem, "severity", `${at}ecosystem_specific.severity`),
  ];
  return highestSeverity(words.map(severityFromWord));
}

function readAffected(
  entry: JsonObject,
  path: string,
  advisoryId: string | null,
  skipped: SkippedRecord[],
  id: string,
): AffectedRange[] {
  const pkg = optionalObject(entry, "package", `${path}.package`);
  if (pkg === null) throw new RecordError(`${path}.package: missing`);
  const ecosystemName = requiredString(pkg, "ecosystem", `${path}.package.ecosystem`);
  const packageName = textOrNull(requiredString(pkg, "name", `${path}.package.name`), MAX_NAME);
  const mapped = mapOsvEcosystem(ecosystemName);
  if (mapped === null) throw new RecordError(`unknown ecosystem "${ecosystemName.slice(0, 80)}"`);
  if (packageName === null) throw new RecordError(`${path}.package.name: missing`);

  let versions = stringArray(entry, "versions", `${path}.versions`);
  const badVersion = versions.map((v) => versionProblem(mapped.ecosystem, v)).find((p) => p !== null);
  if (badVersion !== undefined) {
    skipped.push({ record: `${id} ${path}.versions`, reason: badVersion });
    versions = [];
  }
  const base = { ...mapped, packageName, versions, advisoryId, vendorSeverity: severityWord(entry, path) };
  const ranges: AffectedRange[] = [];
  objectArray(entry, "ranges", `${path}.ranges`).forEach((range, i) => {
    const rangePath = `${path}.ranges[${i}]`;
    try {
      const type = osvRangeType(range, rangePath);
      if (type === "GIT")
        throw new RecordError(`${rangePath}: GIT ranges name commits, not package versions`);
      if (type !== "ECOSYSTEM" && type !== "SEMVER")
        throw new RecordError(`${rangePath}: unknown range type ${type}`);
      const { intervals, dropped } = osvIntervals(range, mapped.ecosystem, rangePath);
      for (const reason of dropped) skipped.push({ record: id, reason });
      for (const interval of intervals) {
        ranges.push(
          makeRange({ ...base, ...interval, status: interval.fixed === null ? "affected" : "fixed" }),
        );
      }
    } catch (error) {
      skipped.push({ record: id, reason: recordErrorMessage(error) });
    }
  });
  // Listed versions with no interval to attach to: a range holding only those versions.
  if (ranges.length === 0 && versions.length > 0) ranges.push(makeRange({ ...base, status: "affected" }));
  if (ranges.length === 0) throw new RecordError(`${path}: no usable version range or version list`);
  return ranges;
}

function readRecord(record: JsonObject, skipped: SkippedRecord[]): NormalizedAdvisory {
  const id = requiredString(record, "id");
  if (!OSV_ID.test(id)) throw new RecordError(`id "${id.slice(0, 80)}" is not a valid OSV id`);
  const modifiedText = requiredString(record, "modified");
  const modifiedAt = timestampOrNull(modifiedText);
  if (modifiedAt === null)
    throw new RecordError(`modified: "${modifiedText.slice(0, 40)}" is not a timestamp`);
  const withdrawn = optionalString(record, "withdrawn") !== null;
  const aliases = stringArray(record, "aliases").filter((a) => OSV_ID.test(a));
  const related = stringArray(record, "related").filter((r) => CVE_ID.test(r));
  const severities = readSeverities(objectArray(record, "severity"), "severity", skipped, id);
  const databaseSpecific = optionalObject(record, "database_specific");
  const cwes =
    databaseSpecific === null ? [] : stringArray(databaseSpecific, "cwe_ids", "database_specific.cwe_ids");
  const references = objectArray(record, "references").flatMap((ref, i) => {
    const url = optionalString(ref, "url", `references[${i}].url`);
    return url === null ? [] : [url];
  });
  const advisoryId = CVE_ID.test(id) ? null : id;

  const affected: AffectedRange[] = [];
  const entrySeverities: (Severity | null)[] = [];
  const entryCvss: CvssScore[] = [];
  objectArray(record, "affected").forEach((entry, i) => {
    try {
      const path = `affected[${i}]`;
      const ranges = readAffected(entry, path, advisoryId, skipped, id);
      const own = readSeverities(
        objectArray(entry, "severity", `${path}.severity`),
        `${path}.severity`,
        skipped,
        id,
      );
      affected.push(...ranges);
      entrySeverities.push(ranges[0]?.vendorSeverity ?? null);
      if (own.cvssV3 !== null) entryCvss.push(own.cvssV3);
    } catch (error) {
      skipped.push({ record: `${id} affected[${i}]`, reason: recordErrorMessage(error) });
    }
  });
  if (affected.length === 0 && !withdrawn)
    throw new RecordError("no affected package in an ecosystem PatchPilot can match");

  return {
    ...emptyAdvisory("osv", id),
    aliases: uniqueStrings([...aliases, ...related], id),
    publishedAt: timestampOrNull(optionalString(record, "published")),
    modifiedAt,
    withdrawn,
    summary: textOrNull(optionalString(record, "summary"), MAX_SUMMARY),
    description: textOrNull(optionalString(record, "details"), MAX_DESCRIPTION),
    cvssV3: severities.cvssV3 ?? entryCvss[0] ?? null,
    severity: severityWord(record, "") ?? severities.rating ?? highestSeverity(entrySeverities),
    cwes: uniqueStrings(cwes.filter((c) => CWE_ID.test(c))),
    references: httpUrls(references),
    affected: uniqueRanges(affected),
  };
}

/** A label for a record in skip reports: its id when it has a readable one, else its position. */
function recordLabel(record: unknown, position: string): string {
  if (isObject(record) && typeof record.id === "string" && record.id.trim() !== "")
    return record.id.trim().slice(0, 100);
  return position;
}

/** One OSV record: text (parsed as JSON; FeedFormatError when it is not JSON) or a parsed object. */
export function parseOsvRecord(json: unknown, position = "#1"): ParseResult<NormalizedAdvisory> {
  const record = parseJsonInput(json, FORMAT);
  const skipped: SkippedRecord[] = [];
  try {
    if (!isObject(record))
      throw new RecordError(
        `expected an OSV record object, found ${Array.isArray(record) ? "an array" : typeof record}`,
      );
    return { records: [readRecord(record, skipped)], skipped };
  } catch (error) {
    skipped.push({ record: recordLabel(record, position), reason: recordErrorMessage(error) });
    return { records: [], skipped };
  }
}

/**
 * Many OSV documents, as found in an osv.dev export or an API response: each text is one record,
 * an array of records, or `{ "vulns": [...] }`. A text that is not JSON is one skipped record, not a
 * failed import.
 */
export function parseOsvDocuments(texts: Iterable<string>): ParseResult<NormalizedAdvisory> {
  const result: ParseResult<NormalizedAdvisory> = { records: [], skipped: [] };
  let n = 0;
  for (const text of texts) {
    n++;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      result.skipped.push({
        record: `#${n}`,
        reason: `not JSON (${error instanceof Error ? error.message : error})`,
      });
      continue;
    }
    const vulns = isObject(parsed) && Array.isArray(parsed.vulns) ? parsed.vulns : null;
    const list = Array.isArray(parsed) ? parsed : (vulns ?? [parsed]);
    list.forEach((record, i) => {
      const one = parseOsvRecord(record, list.length === 1 ? `#${n}` : `#${n}[${i}]`);
      result.records.push(...one.records);
      result.skipped.push(...one.skipped);
    });
  }
  return result;
}
