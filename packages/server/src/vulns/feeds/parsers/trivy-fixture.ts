/**
 * Trivy's integration-test fixture database (aquasecurity/trivy integration/testdata/fixtures/db/*.yaml),
 * the YAML form of trivy-db's BoltDB buckets: `debian 9` / `ubuntu 18.04` / `alpine 3.10` →
 * source package → advisory; `Red Hat` → binary package → CVE or RHSA with `Entries` whose
 * `Affected` are indices into `Red Hat CPE`; `vulnerability` → details per id. Parsing it lets our
 * tests use exactly the advisories Trivy's own golden reports were produced from.
 *
 * Status ints (trivy-db types.Status): 0 unknown, 1 not_affected, 2 affected, 3 fixed,
 * 4 under_investigation, 5 will_not_fix, 6 fix_deferred, 7 end_of_life. Severity ints: 0 unknown,
 * 1 low, 2 medium, 3 high, 4 critical. CentOS uses Red Hat's advisories (Trivy matches CentOS
 * against RHEL data), so each RHEL range is emitted for `centos:<major>` too.
 */
import type {
  AffectedRange,
  NormalizedAdvisory,
  ParseResult,
  RangeStatus,
  Severity,
  SkippedRecord,
} from "../model.js";
import { cvssV3BaseScore } from "./cvss.js";
import { FeedFormatError, RecordError } from "./errors.js";
import { ADVISORY_ID, CVE_ID, CWE_ID, DEBIAN_TEMP_ID, OSV_ID, timestampOrNull } from "./ids.js";
import {
  describeType,
  isObject,
  type JsonObject,
  objectArray,
  optionalObject,
  optionalString,
  recordErrorMessage,
  stringArray,
} from "./json.js";
import { assertRangeVersions, emptyAdvisory, makeRange, uniqueRanges, uniqueStrings } from "./records.js";
import { severityFromWord } from "./severity.js";
import { httpUrls, MAX_DESCRIPTION, MAX_SUMMARY, textOrNull } from "./text.js";
import { parseYamlInput } from "./yaml-input.js";

const FORMAT = "Trivy fixture database YAML";
const STATUSES: readonly (RangeStatus | null)[] = [
  null,
  "not_affected",
  "affected",
  "fixed",
  "under_investigation",
  "will_not_fix",
  "fix_deferred",
  "end_of_life",
];
const SEVERITIES: readonly Severity[] = ["unknown", "low", "medium", "high", "critical"];
/** Debian tracker states Trivy keeps when there is no fix (trivy-db vulnsrc/debian). */
const STATES: ReadonlyMap<string, RangeStatus> = new Map([
  ["no-dsa", "affected"],
  ["postponed", "fix_deferred"],
  ["ignored", "will_not_fix"],
  ["end-of-life", "end_of_life"],
]);

interface Bucket {
  name: string;
  pairs: JsonObject[];
}

/** YAML failsafe gives numbers as text; "1.0" and "1" are both 1. */
function integerIn<T>(value: string | null, table: readonly T[], what: string): T | null {
  if (value === null) return null;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n >= table.length)
    throw new RecordError(`${what} ${value} is not one of 0–${table.length - 1}`);
  return table[n] ?? null;
}

function osBucketRelease(
  name: string,
): { release: string; ecosystem: "dpkg" | "apk"; severitySource: string } | null {
  const match = /^(debian|ubuntu|alpine) (\d+(?:\.\d+)?|edge)$/.exec(name);
  if (match?.[1] === undefined || match[2] === undefined) return null;
  const family = match[1];
  return {
    release: `${family}:${match[2]}`,
    ecosystem: family === "alpine" ? "apk" : "dpkg",
    severitySource: family,
  };
}

function validId(key: string): string {
  const id = key.trim();
  if (!CVE_ID.test(id) && !DEBIAN_TEMP_ID.test(id) && !OSV_ID.test(id))
    throw new RecordError(`"${id.slice(0, 80)}" is not an advisory id`);
  return id;
}

/** A range and the trivy-db data source whose VendorSeverity applies when the range has none. */
interface SourcedRange {
  range: AffectedRange;
  source: string;
}
type Collected = Map<string, SourcedRange[]>;

function collect(out: Collected, id: string, range: AffectedRange, source: string): void {
  out.set(id, [...(out.get(id) ?? []), { range, source }]);
}

function readOsBucket(
  bucket: Bucket,
  target: ReturnType<typeof osBucketRelease> & {},
  out: Collected,
  skipped: SkippedRecord[],
) {
  for (const pkgBucket of bucket.pairs) {
    const pkg = optionalString(pkgBucket, "bucket") ?? "";
    for (const pair of objectArray(pkgBucket, "pairs", `${bucket.name}/${pkg}.pairs`)) {
      const key = optionalString(pair, "key") ?? "";
      try {
        const id = validId(key);
        const value = optionalObject(pair, "value") ?? {};
        const fixedVersion = optionalString(value, "FixedVersion");
        const state = optionalString(value, "State");
        const status =
          integerIn(optionalString(value, "Status"), STATUSES, "Status") ??
          (fixedVersion ? "fixed" : ((state === null ? undefined : STATES.get(state)) ?? "affected"));
        if (status === "fixed" && !fixedVersion) throw new RecordError("Status fixed without FixedVersion");
        const vendorId = stringArray(value, "VendorIDs")[0];
        const range = makeRange({
          ecosystem: target.ecosystem,
          release: target.release,
          packageName: pkg,
          packageScope: "source",
          status,
          fixed: status === "fixed" ? fixedVersion : null,
          advisoryId: vendorId !== undefined && ADVISORY_ID.test(vendorId) ? vendorId : null,
          vendorSeverity: integerIn(optionalString(value, "Severity"), SEVERITIES, "Severity"),
        });
        assertRangeVersions(range);
        collect(out, id, range, target.severitySource);
      } catch (error) {
        skipped.push({
          record: `${bucket.name}/${pkg}/${key.slice(0, 80)}`,
          reason: recordErrorMessage(error),
        });
      }
    }
  }
}

function rhelMajors(
  indices: readonly string[],
  cpes: ReadonlyMap<string, string>,
): { majors: string[]; unknown: string[] } {
  const majors = new Set<string>();
  const unknown: string[] = [];
  for (const index of indices) {
    const major = /^cpe:\/o:redhat:enterprise_linux:(\d+)/.exec(cpes.get(index) ?? "")?.[1];
    if (major === undefined) unknown.push(index);
    else majors.add(major);
  }
  return { majors: [...majors], unknown };
}

function readRedHatBucket(
  bucket: Bucket,
  cpes: ReadonlyMap<string, string>,
  out: Collected,
  skipped: SkippedRecord[],
) {
  for (const pkgBucket of bucket.pairs) {
    const pkg = optionalString(pkgBucket, "bucket") ?? "";
    for (const pair of objectArray(pkgBucket, "pairs", `Red Hat/${pkg}.pairs`)) {
      const key = optionalString(pair, "key") ?? "";
      const label = `Red Hat/${pkg}/${key.slice(0, 80)}`;
      try {
        const id = validId(key);
        const isCve = CVE_ID.test(id);
        objectArray(optionalObject(pair, "value") ?? {}, "Entries", `${label}.Entries`).forEach(
          (entry, e) => {
            const { majors, unknown } = rhelMajors(stringArray(entry, "Affected"), cpes);
            if (unknown.length > 0)
              skipped.push({
                record: `${label} Entries[${e}]`,
                reason: `CPE indices ${unknown.join(", ")} are not RHEL releases in the Red Hat CPE bucket`,
              });
            const fixedVersion = optionalString(entry, "FixedVersion");
            const status =
              integerIn(optionalString(entry, "Status"), STATUSES, "Status") ??
              (fixedVersion ? "fixed" : "affected");
            const cves = objectArray(entry, "Cves").map((c) => ({
              id: isCve ? id : (optionalString(c, "ID") ?? ""),
              severity: integerIn(optionalString(c, "Severity"), SEVERITIES, "Severity"),
            }));
            for (const cve of cves.length > 0 ? cves : [{ id, severity: null }]) {
              const cveId = validId(cve.id);
              for (const family of majors.flatMap((m) => [`rhel:${m}`, `centos:${m}`])) {
                const range = makeRange({
                  ecosystem: "rpm",
                  release: family,
                  packageName: pkg,
                  packageScope: "binary",
                  status,
                  fixed: status === "fixed" ? fixedVersion : null,
                  advisoryId: isCve ? null : id,
                  vendorSeverity: cve.severity,
                });
                assertRangeVersions(range);
                collect(out, cveId, range, "redhat");
              }
            }
          },
        );
      } catch (error) {
        skipped.push({ record: label, reason: recordErrorMessage(error) });
      }
    }
  }
}

function cpeTable(bucket: Bucket | undefined): Map<string, string> {
  const cpes = new Map<string, string>();
  const table = bucket?.pairs.find((p) => p.bucket === "cpe");
  for (const pair of table === undefined ? [] : objectArray(table, "pairs")) {
    const key = optionalString(pair, "key");
    const value = optionalString(pair, "value");
    if (key !== null && value !== null) cpes.set(key, value);
  }
  return cpes;
}

function withDetails(
  id: string,
  ranges: readonly SourcedRange[],
  details: JsonObject | undefined,
): NormalizedAdvisory {
  const d = details ?? {};
  const vendor = optionalObject(d, "VendorSeverity") ?? {};
  // A range without its own severity takes the one its data source gives in the details.
  const affected = ranges.map(({ range, source }) =>
    range.vendorSeverity !== null
      ? range
      : { ...range, vendorSeverity: integerIn(optionalString(vendor, source), SEVERITIES, "VendorSeverity") },
  );
  const cvss = optionalObject(d, "CVSS") ?? {};
  const vectors = ["nvd", "redhat", ...Object.keys(cvss)].flatMap((s) => {
    const entry = optionalObject(cvss, s);
    const vector = entry === null ? null : optionalString(entry, "V3Vector");
    return vector === null ? [] : [vector];
  });
  const scored = vectors.map(cvssV3BaseScore).find((r) => r.ok);
  return {
    ...emptyAdvisory("trivy-fixture", id),
    publishedAt: timestampOrNull(optionalString(d, "PublishedDate")),
    modifiedAt: timestampOrNull(optionalString(d, "LastModifiedDate")),
    summary: textOrNull(optionalString(d, "Title"), MAX_SUMMARY),
    description: textOrNull(optionalString(d, "Description"), MAX_DESCRIPTION),
    cvssV3: scored?.ok ? scored.score : null,
    severity: severityFromWord(optionalString(d, "Severity")),
    cwes: uniqueStrings(stringArray(d, "CweIDs").filter((c) => CWE_ID.test(c))),
    references: httpUrls(stringArray(d, "References")),
    affected: uniqueRanges(affected),
  };
}

/** All fixture files, by file name. FeedFormatError when a file is not a YAML list of buckets. */
export function parseTrivyFixture(files: Record<string, string>): ParseResult<NormalizedAdvisory> {
  const buckets: Bucket[] = [];
  for (const [file, text] of Object.entries(files).sort(([a], [b]) => a.localeCompare(b))) {
    const doc = parseYamlInput(text, `${FORMAT} (${file})`);
    if (!Array.isArray(doc))
      throw new FeedFormatError(
        `${FORMAT} (${file})`,
        `expected a list of buckets, found ${describeType(doc)}`,
      );
    for (const item of doc) {
      if (!isObject(item) || typeof item.bucket !== "string")
        throw new FeedFormatError(`${FORMAT} (${file})`, "an item is not { bucket, pairs }");
      buckets.push({ name: item.bucket.trim(), pairs: objectArray(item, "pairs") });
    }
  }
  const skipped: SkippedRecord[] = [];
  const out: Collected = new Map();
  const cpes = cpeTable(buckets.find((b) => b.name === "Red Hat CPE"));
  const details = new Map<string, JsonObject>();
  for (const bucket of buckets) {
    const os = osBucketRelease(bucket.name);
    if (os !== null) readOsBucket(bucket, os, out, skipped);
    else if (bucket.name === "Red Hat") readRedHatBucket(bucket, cpes, out, skipped);
    else if (bucket.name === "vulnerability") {
      for (const pair of bucket.pairs) {
        const value = optionalObject(pair, "value");
        if (typeof pair.key === "string" && value !== null) details.set(pair.key.trim(), value);
      }
    } else if (bucket.name !== "Red Hat CPE" && bucket.name !== "data-source") {
      skipped.push({
        record: `bucket ${bucket.name.slice(0, 80)}`,
        reason: "not a bucket this parser reads (Debian, Ubuntu, Alpine, Red Hat, vulnerability)",
      });
    }
  }
  const records = [...out].map(([id, ranges]) => withDetails(id, ranges, details.get(id)));
  for (const id of details.keys()) {
    if (!out.has(id))
      skipped.push({ record: id, reason: "details only: no package bucket in the given files names it" });
  }
  return { records, skipped };
}
