/**
 * Alpine secdb YAML (https://secdb.alpinelinux.org/v3.15/main.yaml): per package, `secfixes`
 * maps the first fixed version to the ids it fixes. Version `0` means the package was never
 * affected in this release. One advisory per CVE; a line such as "CVE-2018-1083 XSA-123" gives
 * the CVE the alias XSA-123. The packages are aports origins, i.e. source packages.
 *
 * secdb has one file per release and repository; parseAlpineSecdbFiles() merges them so a CVE
 * fixed in several releases is one advisory (storing per file would let the last file win).
 */
import type { AffectedRange, NormalizedAdvisory, ParseResult, SkippedRecord } from "../model.js";
import { FeedFormatError, RecordError } from "./errors.js";
import { CVE_ID, OSV_ID } from "./ids.js";
import {
  describeType,
  isObject,
  type JsonObject,
  optionalArray,
  optionalObject,
  recordErrorMessage,
} from "./json.js";
import {
  assertRangeVersions,
  emptyAdvisory,
  makeRange,
  mergeAdvisoriesById,
  uniqueStrings,
} from "./records.js";
import { MAX_NAME, textOrNull } from "./text.js";
import { parseYamlInput } from "./yaml-input.js";

const FORMAT = "Alpine secdb YAML";
const PACKAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9+._-]*$/;

function releaseOf(document: JsonObject): string {
  const value = document.distroversion;
  const version = typeof value === "string" ? /^v?(\d+\.\d+|edge)$/.exec(value.trim())?.[1] : undefined;
  if (version === undefined)
    throw new FeedFormatError(FORMAT, `distroversion ${JSON.stringify(value)} is not like v3.15`);
  return `alpine:${version}`;
}

function readPackage(entry: unknown, release: string, skipped: SkippedRecord[]): NormalizedAdvisory[] {
  const pkg = isObject(entry) ? optionalObject(entry, "pkg") : null;
  if (pkg === null) throw new RecordError(`expected { pkg: … }, found ${describeType(entry)}`);
  const name = typeof pkg.name === "string" ? textOrNull(pkg.name, MAX_NAME) : null;
  if (name === null || !PACKAGE_NAME.test(name))
    throw new RecordError(`pkg.name ${JSON.stringify(pkg.name)} is not a package name`);
  const secfixes = optionalObject(pkg, "secfixes", `${name}.secfixes`);
  if (secfixes === null) return [];
  const advisories: NormalizedAdvisory[] = [];
  for (const rawVersion of Object.keys(secfixes)) {
    const version = rawVersion.trim();
    try {
      const range = makeRange({
        ecosystem: "apk",
        release,
        packageName: name,
        packageScope: "source",
        ...(version === "0" ? { status: "not_affected" } : { status: "fixed", fixed: version }),
      });
      assertRangeVersions(range);
      for (const line of optionalArray(secfixes, rawVersion, `${name} ${version}`)) {
        advisories.push(...advisoriesOfLine(line, range, `${name} ${version}`, skipped));
      }
    } catch (error) {
      skipped.push({ record: `${name} ${version.slice(0, 60)}`, reason: recordErrorMessage(error) });
    }
  }
  return advisories;
}

function advisoriesOfLine(
  line: unknown,
  range: AffectedRange,
  path: string,
  skipped: SkippedRecord[],
): NormalizedAdvisory[] {
  if (typeof line !== "string") {
    skipped.push({ record: path, reason: `expected an id, found ${describeType(line)}` });
    return [];
  }
  const tokens = line.trim().split(/\s+/);
  const cves = uniqueStrings(tokens.filter((t) => CVE_ID.test(t)));
  if (cves.length === 0) {
    skipped.push({ record: `${path} ${line.trim().slice(0, 80)}`, reason: "no CVE id on this line" });
    return [];
  }
  const others = tokens.filter((t) => !CVE_ID.test(t) && OSV_ID.test(t));
  return cves.map((id) => ({
    ...emptyAdvisory("alpine-secdb", id),
    // Two CVEs on one line share a fix, not an identity, so only the non-CVE ids become aliases.
    aliases: uniqueStrings(others, id),
    references: [`https://security.alpinelinux.org/vuln/${id}`],
    affected: [range],
  }));
}

function parseOne(text: string, skipped: SkippedRecord[]): NormalizedAdvisory[] {
  const document = parseYamlInput(text, FORMAT);
  if (!isObject(document))
    throw new FeedFormatError(FORMAT, `expected a mapping, found ${describeType(document)}`);
  const release = releaseOf(document);
  if (!Array.isArray(document.packages)) throw new FeedFormatError(FORMAT, "packages: expected a list");
  const advisories: NormalizedAdvisory[] = [];
  document.packages.forEach((entry, i) => {
    try {
      advisories.push(...readPackage(entry, release, skipped));
    } catch (error) {
      skipped.push({ record: `${release} packages[${i}]`, reason: recordErrorMessage(error) });
    }
  });
  return advisories;
}

/** One secdb file (text). FeedFormatError when it is not YAML or lacks distroversion/packages. */
export function parseAlpineSecdb(text: string): ParseResult<NormalizedAdvisory> {
  const skipped: SkippedRecord[] = [];
  return { records: mergeAdvisoriesById(parseOne(text, skipped)), skipped };
}

/** Several secdb files (all releases and repositories) merged into one advisory per CVE. */
export function parseAlpineSecdbFiles(texts: Iterable<string>): ParseResult<NormalizedAdvisory> {
  const skipped: SkippedRecord[] = [];
  const advisories: NormalizedAdvisory[] = [];
  for (const text of texts) advisories.push(...parseOne(text, skipped));
  return { records: mergeAdvisoriesById(advisories), skipped };
}
