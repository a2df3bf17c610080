/**
 * NVD CVE API 2.0 pages (https://nvd.nist.gov/developers/vulnerabilities) → one advisory per CVE,
 * plus the page position so a syncer can ask for the next page. NVD names no packages, so its
 * advisories carry CPE matches (the vulnerable ones only) instead of ranges.
 */
import type {
  CpeMatch,
  CvssScore,
  NormalizedAdvisory,
  ParseResult,
  Severity,
  SkippedRecord,
} from "../model.js";
import { parseCpe } from "./cpe.js";
import { cvssV3BaseScore, cvssV4FromSource } from "./cvss.js";
import { FeedFormatError, RecordError } from "./errors.js";
import { CVE_ID, CWE_ID, timestampOrNull } from "./ids.js";
import {
  describeType,
  isObject,
  type JsonObject,
  objectArray,
  optionalBoolean,
  optionalNumber,
  optionalObject,
  optionalString,
  parseJsonInput,
  recordErrorMessage,
  requiredString,
} from "./json.js";
import { emptyAdvisory, uniqueStrings } from "./records.js";
import { severityFromWord } from "./severity.js";
import { httpUrls, MAX_DESCRIPTION, textOrNull } from "./text.js";

const FORMAT = "NVD CVE API 2.0 page";
const NVD_SOURCE = "nvd@nist.gov";

export interface NvdPage extends ParseResult<NormalizedAdvisory> {
  startIndex: number;
  resultsPerPage: number;
  totalResults: number;
}

/** NVD's own Primary metric first, then any Primary, then the first one. */
function preferredMetric(metrics: readonly JsonObject[]): JsonObject | null {
  const rank = (m: JsonObject): number => (m.type === "Primary" ? 0 : 2) + (m.source === NVD_SOURCE ? 0 : 1);
  return [...metrics].sort((a, b) => rank(a) - rank(b))[0] ?? null;
}

function readCvss(metrics: JsonObject, id: string, skipped: SkippedRecord[]) {
  let cvssV3: CvssScore | null = null;
  let severity: Severity | null = null;
  for (const key of ["cvssMetricV31", "cvssMetricV30"]) {
    const metric = preferredMetric(objectArray(metrics, key, `metrics.${key}`));
    const data = metric === null ? null : optionalObject(metric, "cvssData", `metrics.${key}.cvssData`);
    if (data === null) continue;
    const result = cvssV3BaseScore(
      requiredString(data, "vectorString", `metrics.${key}.cvssData.vectorString`),
    );
    if (!result.ok) {
      skipped.push({ record: `${id} metrics.${key}`, reason: result.problem });
      continue;
    }
    cvssV3 = result.score;
    severity = severityFromWord(optionalString(data, "baseSeverity", `metrics.${key}.cvssData.baseSeverity`));
    break;
  }
  const v4 = preferredMetric(objectArray(metrics, "cvssMetricV40", "metrics.cvssMetricV40"));
  const v4Data = v4 === null ? null : optionalObject(v4, "cvssData", "metrics.cvssMetricV40.cvssData");
  const cvssV4 =
    v4Data === null
      ? null
      : cvssV4FromSource(
          optionalString(v4Data, "vectorString", "metrics.cvssMetricV40.cvssData.vectorString"),
          optionalNumber(v4Data, "baseScore", "metrics.cvssMetricV40.cvssData.baseScore"),
        );
  if (severity === null && v4Data !== null)
    severity = severityFromWord(optionalString(v4Data, "baseSeverity"));
  if (severity === null) {
    // v2 puts baseSeverity beside cvssData, not inside it.
    const v2 = preferredMetric(objectArray(metrics, "cvssMetricV2", "metrics.cvssMetricV2"));
    severity =
      v2 === null
        ? null
        : severityFromWord(optionalString(v2, "baseSeverity", "metrics.cvssMetricV2.baseSeverity"));
  }
  return { cvssV3, cvssV4, severity };
}

function readCpeMatches(cve: JsonObject, id: string, skipped: SkippedRecord[]): CpeMatch[] {
  const matches: CpeMatch[] = [];
  objectArray(cve, "configurations").forEach((configuration, c) => {
    objectArray(configuration, "nodes", `configurations[${c}].nodes`).forEach((node, n) => {
      const path = `configurations[${c}].nodes[${n}]`;
      // A negated node lists what must NOT be present; its entries are not vulnerable products.
      if (optionalBoolean(node, "negate", `${path}.negate`) === true) return;
      objectArray(node, "cpeMatch", `${path}.cpeMatch`).forEach((match, m) => {
        const at = `${path}.cpeMatch[${m}]`;
        if (optionalBoolean(match, "vulnerable", `${at}.vulnerable`) !== true) return;
        const criteria = requiredString(match, "criteria", `${at}.criteria`);
        const cpe = parseCpe(criteria);
        if (cpe === null || !criteria.startsWith("cpe:2.3:")) {
          skipped.push({
            record: `${id} ${at}`,
            reason: `"${criteria.slice(0, 120)}" is not a CPE 2.3 name`,
          });
          return;
        }
        const bound = (key: string) => textOrNull(optionalString(match, key, `${at}.${key}`), 200);
        matches.push({
          criteria,
          vendor: cpe.vendor,
          product: cpe.product,
          version: cpe.version,
          versionStartIncluding: bound("versionStartIncluding"),
          versionStartExcluding: bound("versionStartExcluding"),
          versionEndIncluding: bound("versionEndIncluding"),
          versionEndExcluding: bound("versionEndExcluding"),
        });
      });
    });
  });
  return matches;
}

function readCve(cve: JsonObject, skipped: SkippedRecord[]): NormalizedAdvisory {
  const id = requiredString(cve, "id", "cve.id");
  if (!CVE_ID.test(id)) throw new RecordError(`cve.id "${id.slice(0, 80)}" is not a CVE id`);
  const description = objectArray(cve, "descriptions").find((d) => d.lang === "en");
  const metrics = optionalObject(cve, "metrics") ?? {};
  const cwes = objectArray(cve, "weaknesses").flatMap((weakness, w) =>
    objectArray(weakness, "description", `weaknesses[${w}].description`).flatMap((d, i) => {
      const value = optionalString(d, "value", `weaknesses[${w}].description[${i}].value`);
      return value !== null && CWE_ID.test(value) ? [value] : []; // NVD-CWE-Other / -noinfo are not CWEs
    }),
  );
  const urls = objectArray(cve, "references").flatMap((ref, i) => {
    const url = optionalString(ref, "url", `references[${i}].url`);
    return url === null ? [] : [url];
  });
  const cvss = readCvss(metrics, id, skipped);
  return {
    ...emptyAdvisory("nvd", id),
    publishedAt: timestampOrNull(optionalString(cve, "published")),
    modifiedAt: timestampOrNull(optionalString(cve, "lastModified")),
    withdrawn: optionalString(cve, "vulnStatus") === "Rejected",
    description:
      description === undefined
        ? null
        : textOrNull(optionalString(description, "value", "descriptions.value"), MAX_DESCRIPTION),
    ...cvss,
    cwes: uniqueStrings(cwes),
    references: httpUrls(urls),
    cpeMatches: readCpeMatches(cve, id, skipped),
  };
}

function pageNumber(page: JsonObject, key: string): number {
  const value = page[key];
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new FeedFormatError(
      FORMAT,
      `${key}: expected a non-negative integer, found ${describeType(value)}`,
    );
  }
  return value;
}

/** One page (text or parsed). FeedFormatError when the envelope is not an NVD 2.0 CVE page. */
export function parseNvdPage(input: unknown): NvdPage {
  const page = parseJsonInput(input, FORMAT);
  if (!isObject(page)) throw new FeedFormatError(FORMAT, `expected an object, found ${describeType(page)}`);
  if (page.format !== undefined && page.format !== "NVD_CVE") {
    throw new FeedFormatError(FORMAT, `format is ${JSON.stringify(page.format)}, not "NVD_CVE"`);
  }
  if (!Array.isArray(page.vulnerabilities))
    throw new FeedFormatError(FORMAT, "vulnerabilities: expected an array");
  const startIndex = pageNumber(page, "startIndex");
  const resultsPerPage = pageNumber(page, "resultsPerPage");
  const totalResults = pageNumber(page, "totalResults");
  const records: NormalizedAdvisory[] = [];
  const skipped: SkippedRecord[] = [];
  page.vulnerabilities.forEach((item: unknown, i: number) => {
    const position = `#${startIndex + i}`;
    const cve = isObject(item) && isObject(item.cve) ? item.cve : null;
    const label = cve !== null && typeof cve.id === "string" ? cve.id.slice(0, 80) : position;
    try {
      if (cve === null) throw new RecordError(`expected { cve: {…} }, found ${describeType(item)}`);
      const local: SkippedRecord[] = [];
      records.push(readCve(cve, local));
      skipped.push(...local);
    } catch (error) {
      skipped.push({ record: label, reason: recordErrorMessage(error) });
    }
  });
  return { records, skipped, startIndex, resultsPerPage, totalResults };
}
