/**
 * The Debian security tracker's JSON (https://security-tracker.debian.org/tracker/data/json):
 * `{ sourcePackage: { "CVE-…" | "TEMP-…": { description?, releases: { codename: {…} } } } }`.
 * One advisory per CVE (or TEMP id), the packages that name it merged into its ranges; each
 * release of each package is one range of that source package.
 *
 * Urgency → severity: unimportant → negligible, low/medium/high as such (a trailing `**` marks an
 * urgency guessed from NVD and is ignored), "not yet assigned" → unknown; "end-of-life" is not a
 * severity but the status end_of_life. The advisory's severity is the highest over its ranges.
 */
import type { AffectedRange, NormalizedAdvisory, ParseResult, RangeStatus, SkippedRecord } from "../model.js";
import { debianRelease } from "./debian-releases.js";
import { FeedFormatError, RecordError } from "./errors.js";
import { CVE_ID, DEBIAN_TEMP_ID } from "./ids.js";
import {
  describeType,
  isObject,
  type JsonObject,
  optionalObject,
  optionalString,
  parseJsonInput,
  recordErrorMessage,
} from "./json.js";
import { assertRangeVersions, emptyAdvisory, makeRange, mergeAdvisoriesById } from "./records.js";
import { highestSeverity, severityFromWord } from "./severity.js";
import { MAX_DESCRIPTION, MAX_NAME, textOrNull } from "./text.js";

const FORMAT = "Debian security tracker JSON";
const SOURCE_PACKAGE = /^[a-z0-9][a-z0-9+.-]+$/;

function statusOf(release: JsonObject, path: string): { status: RangeStatus; fixed: string | null } {
  const status = optionalString(release, "status", `${path}.status`);
  const urgency = optionalString(release, "urgency", `${path}.urgency`);
  const fixedVersion = optionalString(release, "fixed_version", `${path}.fixed_version`);
  switch (status) {
    case "resolved":
      if (fixedVersion === null || fixedVersion === "")
        throw new RecordError(`${path}: resolved without fixed_version`);
      // "0": the release never shipped a vulnerable version.
      return fixedVersion === "0"
        ? { status: "not_affected", fixed: null }
        : { status: "fixed", fixed: fixedVersion };
    case "open": {
      if (urgency === "end-of-life") return { status: "end_of_life", fixed: null };
      const reason = optionalString(release, "nodsa_reason", `${path}.nodsa_reason`);
      if (reason === "ignored") return { status: "will_not_fix", fixed: null };
      if (reason === "postponed") return { status: "fix_deferred", fixed: null };
      return { status: "affected", fixed: null };
    }
    case "undetermined":
      return { status: "under_investigation", fixed: null };
    default:
      throw new RecordError(`${path}.status: unknown status ${JSON.stringify(status)}`);
  }
}

function readIssue(pkg: string, id: string, issue: JsonObject, skipped: SkippedRecord[]): NormalizedAdvisory {
  const releasesValue = issue.releases;
  // The tracker writes [] (not {}) for an issue with no release data yet.
  const releases = Array.isArray(releasesValue) && releasesValue.length === 0 ? {} : releasesValue;
  if (!isObject(releases))
    throw new RecordError(`releases: expected an object, found ${describeType(releasesValue)}`);
  const affected: AffectedRange[] = [];
  for (const [codename, value] of Object.entries(releases)) {
    const path = `${pkg}/${codename}`;
    try {
      if (!isObject(value))
        throw new RecordError(`${path}: expected an object, found ${describeType(value)}`);
      const release = debianRelease(codename);
      if (release === null)
        throw new RecordError(`${path}: unknown Debian release "${codename.slice(0, 40)}"`);
      const { status, fixed } = statusOf(value, path);
      const range = makeRange({
        ecosystem: "dpkg",
        release,
        packageName: pkg,
        packageScope: "source",
        status,
        fixed,
        vendorSeverity: severityFromWord(optionalString(value, "urgency", `${path}.urgency`)),
      });
      assertRangeVersions(range);
      affected.push(range);
    } catch (error) {
      skipped.push({ record: `${id} ${path}`, reason: recordErrorMessage(error) });
    }
  }
  if (affected.length === 0) throw new RecordError(`${pkg}: no release with usable data`);
  return {
    ...emptyAdvisory("debian-tracker", id),
    description: textOrNull(optionalString(issue, "description"), MAX_DESCRIPTION),
    severity: highestSeverity(affected.map((r) => r.vendorSeverity)),
    references: [`https://security-tracker.debian.org/tracker/${id}`],
    affected,
  };
}

/**
 * The whole tracker document (text or parsed). FeedFormatError when it is not a JSON object of
 * package objects; a malformed package, issue or release is skipped and counted.
 */
export function parseDebianTracker(input: unknown): ParseResult<NormalizedAdvisory> {
  const document = parseJsonInput(input, FORMAT);
  if (!isObject(document))
    throw new FeedFormatError(
      FORMAT,
      `expected an object of source packages, found ${describeType(document)}`,
    );
  const entries = Object.entries(document);
  if (entries.length > 0 && !entries.some(([, value]) => isObject(value))) {
    throw new FeedFormatError(FORMAT, "no value is an object of issues keyed by CVE id");
  }
  const skipped: SkippedRecord[] = [];
  const parts: NormalizedAdvisory[] = [];
  for (const [rawPkg, issues] of entries) {
    const pkg = textOrNull(rawPkg, MAX_NAME) ?? "";
    if (!SOURCE_PACKAGE.test(pkg)) {
      skipped.push({ record: rawPkg.slice(0, 80), reason: "not a Debian source package name" });
      continue;
    }
    if (!isObject(issues)) {
      skipped.push({ record: pkg, reason: `expected an object of issues, found ${describeType(issues)}` });
      continue;
    }
    for (const [rawId, issue] of Object.entries(issues)) {
      const id = rawId.trim();
      try {
        if (!CVE_ID.test(id) && !DEBIAN_TEMP_ID.test(id))
          throw new RecordError(`"${id.slice(0, 80)}" is not a CVE or TEMP id`);
        const issueObject = optionalObject(issues, rawId, id);
        if (issueObject === null) throw new RecordError(`expected an object, found ${describeType(issue)}`);
        parts.push(readIssue(pkg, id, issueObject, skipped));
      } catch (error) {
        skipped.push({ record: `${id.slice(0, 80)} ${pkg}`, reason: recordErrorMessage(error) });
      }
    }
  }
  const records = mergeAdvisoriesById(parts).map((advisory) => ({
    ...advisory,
    severity: highestSeverity(advisory.affected.map((r) => r.vendorSeverity)),
  }));
  return { records, skipped };
}
