/**
 * NuGet package versions, parsed as `NuGetVersion.TryParse` (NuGet.Versioning) parses them and
 * ordered as its default `VersionComparer`: one to four numeric parts (missing parts are 0,
 * leading zeros allowed, each at most 2^31 - 1 since they are .NET ints), then `-` pre-release
 * labels and `+` metadata. A pre-release sorts before its release; labels compare pairwise, as
 * integers when both are (`Int32.TryParse`, so "-5" counts), numbers before text, text
 * case-insensitively; fewer labels sort first. Metadata is ignored.
 *
 * Surrounding whitespace is trimmed as NuGet does. Whitespace inside the numeric parts, which
 * .NET's Version.TryParse happens to tolerate ("1. 2"), is refused here.
 */
import { parsedComparator } from "./comparator.js";
import { compareDigitStrings, digitsAtMost, isDigits } from "./digits.js";
import { VersionSyntaxError } from "./errors.js";
import type { Ordering, VersionComparator } from "./types.js";

export interface NuGetVersion {
  /** Major, minor, patch, revision as digit strings without leading zeros. */
  readonly parts: readonly [string, string, string, string];
  /** Empty for a release. */
  readonly labels: readonly string[];
  readonly metadata: string | null;
}

const INT32_MAX = "2147483647";

const isLabelChar = (c: number): boolean =>
  (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45;

function refuse(input: string, reason: string): never {
  throw new VersionSyntaxError("nuget", input, reason);
}

/** IsValidPart(): non-empty, [0-9A-Za-z-], and (for labels) no leading zero on an all-digit part. */
function checkPart(input: string, part: string, what: string, allowLeadingZeros: boolean): void {
  if (part === "") refuse(input, `empty ${what}`);
  for (let i = 0; i < part.length; i++) {
    if (!isLabelChar(part.charCodeAt(i))) {
      refuse(input, `${what} ${JSON.stringify(part)} may hold only [0-9A-Za-z-]`);
    }
  }
  if (!allowLeadingZeros && part.length > 1 && part.startsWith("0") && isDigits(part)) {
    refuse(input, `numeric ${what} ${JSON.stringify(part)} has a leading zero`);
  }
}

export function parseNuGetVersion(input: string): NuGetVersion {
  const text = input.trim();
  if (text === "") refuse(input, "version string is empty");
  // ParseSections(): the version runs to the first '-' or '+', labels from a '-' to the next '+'.
  const versionEnd = text.search(/[-+]/);
  const versionPart = versionEnd < 0 ? text : text.slice(0, versionEnd);
  const rest = versionEnd < 0 ? "" : text.slice(versionEnd);
  const plus = rest.indexOf("+");
  const labelsPart = rest.startsWith("-") ? rest.slice(1, plus < 0 ? undefined : plus) : null;
  const metadata = plus < 0 ? null : rest.slice(plus + 1);

  const numbers = versionPart.split(".");
  if (numbers.length > 4) refuse(input, "more than four numeric parts");
  for (const number of numbers) {
    if (!isDigits(number)) refuse(input, `version part ${JSON.stringify(number)} is not a number`);
    if (!digitsAtMost(number, INT32_MAX)) refuse(input, `version part ${number} exceeds ${INT32_MAX}`);
  }
  const [major = "0", minor = "0", patch = "0", revision = "0"] = numbers.map((n) =>
    n.replace(/^0+(?=.)/, ""),
  );

  const labels = labelsPart === null ? [] : labelsPart.split(".");
  for (const label of labels) checkPart(input, label, "pre-release label", false);
  if (metadata !== null) {
    for (const part of metadata.split(".")) checkPart(input, part, "metadata part", true);
  }
  return { parts: [major, minor, patch, revision], labels, metadata };
}

/** Int32.TryParse on a label: an optional '-' sign and digits within the int range. */
function labelAsInt(label: string): number | null {
  const negative = label.startsWith("-");
  const digits = negative ? label.slice(1) : label;
  if (!isDigits(digits)) return null;
  const value = Number(digits) * (negative ? -1 : 1);
  return value >= -2147483648 && value <= 2147483647 ? value : null;
}

/** CompareRelease(): both integers numerically, integers first, otherwise OrdinalIgnoreCase. */
function compareLabels(a: string, b: string): Ordering {
  const x = labelAsInt(a);
  const y = labelAsInt(b);
  if (x !== null && y !== null) return x === y ? 0 : x < y ? -1 : 1;
  if (x !== null || y !== null) return x !== null ? -1 : 1;
  const upperA = a.toUpperCase();
  const upperB = b.toUpperCase();
  return upperA === upperB ? 0 : upperA < upperB ? -1 : 1;
}

export function compareParsedNuGetVersions(a: NuGetVersion, b: NuGetVersion): Ordering {
  for (let i = 0; i < 4; i++) {
    const order = compareDigitStrings(a.parts[i] ?? "0", b.parts[i] ?? "0");
    if (order !== 0) return order;
  }
  const aPre = a.labels.length > 0;
  const bPre = b.labels.length > 0;
  if (aPre !== bPre) return aPre ? -1 : 1;
  for (let i = 0; i < a.labels.length && i < b.labels.length; i++) {
    const order = compareLabels(a.labels[i] ?? "", b.labels[i] ?? "");
    if (order !== 0) return order;
  }
  return a.labels.length === b.labels.length ? 0 : a.labels.length < b.labels.length ? -1 : 1;
}

export const nugetComparator: VersionComparator = parsedComparator(
  "nuget",
  parseNuGetVersion,
  compareParsedNuGetVersions,
);
