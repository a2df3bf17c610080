/**
 * Python package versions (PEP 440), parsed and ordered as `packaging.version.Version` does (the
 * library pip uses): `[N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local]`, case-insensitive, with the
 * spellings PEP 440 normalises (alpha/a, beta/b, c/pre/preview/rc, rev/r/post, "-N" as a post
 * release, optional separators, a leading "v", surrounding whitespace).
 *
 * Ordering (packaging's _cmpkey): epoch; release with trailing zeros dropped; then a dev release
 * without pre or post sorts before every pre-release, pre-releases before the final release; post
 * releases after it; a dev release before the same version without it; a local version after the
 * same public version, its segments compared numerically when numeric, numbers after strings.
 *
 * Legacy (non-PEP 440) versions such as "0.1-bulbasaur" are refused, as packaging >= 22 and
 * pip >= 24.1 refuse them.
 */
import { parsedComparator } from "./comparator.js";
import { compareDigitStrings, isDigits } from "./digits.js";
import { VersionSyntaxError } from "./errors.js";
import type { Ordering, VersionComparator } from "./types.js";

export interface Pep440Version {
  readonly epoch: string;
  /** Release numbers with trailing zeros removed (1.0.0 and 1 are the same release). */
  readonly release: readonly string[];
  /** 0 = a, 1 = b, 2 = rc; null for none. */
  readonly pre: { readonly phase: number; readonly number: string } | null;
  readonly post: string | null;
  readonly dev: string | null;
  /** Lowercased local segments; null when there is no "+local". */
  readonly local: readonly string[] | null;
}

// packaging's VERSION_PATTERN, anchored and case-insensitive exactly as packaging compiles it.
const VERSION_PATTERN = new RegExp(
  "^\\s*v?(?:(?:(?<epoch>[0-9]+)!)?(?<release>[0-9]+(?:\\.[0-9]+)*)" +
    "(?<pre>[-_.]?(?<preL>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?<preN>[0-9]+)?)?" +
    "(?<post>(?:-(?<postN1>[0-9]+))|(?:[-_.]?(?<postL>post|rev|r)[-_.]?(?<postN2>[0-9]+)?))?" +
    "(?<dev>[-_.]?(?<devL>dev)[-_.]?(?<devN>[0-9]+)?)?)" +
    "(?:\\+(?<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?\\s*$",
  "i",
);

const PRE_PHASE: Readonly<Record<string, number>> = {
  a: 0,
  alpha: 0,
  b: 1,
  beta: 1,
  c: 2,
  pre: 2,
  preview: 2,
  rc: 2,
};

function parsePep440(ecosystem: "pep440" | "pypi", input: string): Pep440Version {
  const groups = VERSION_PATTERN.exec(input)?.groups;
  if (groups === undefined) {
    throw new VersionSyntaxError(
      ecosystem,
      input,
      "not a PEP 440 version (legacy versions are refused, as by pip)",
    );
  }
  const release = (groups.release ?? "0").split(".");
  while (release.length > 0 && /^0+$/.test(release[release.length - 1] ?? "")) release.pop();

  const preLabel = groups.preL?.toLowerCase();
  const postNumber = groups.postN1 ?? groups.postN2 ?? (groups.postL === undefined ? undefined : "0");
  return {
    epoch: groups.epoch ?? "0",
    release,
    pre: preLabel === undefined ? null : { phase: PRE_PHASE[preLabel] ?? 0, number: groups.preN ?? "0" },
    post: postNumber ?? null,
    dev: groups.dev === undefined ? null : (groups.devN ?? "0"),
    local: groups.local === undefined ? null : groups.local.toLowerCase().split(/[-_.]/),
  };
}

function compareReleases(a: readonly string[], b: readonly string[]): Ordering {
  for (let i = 0; i < a.length && i < b.length; i++) {
    const order = compareDigitStrings(a[i] ?? "0", b[i] ?? "0");
    if (order !== 0) return order;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/** Where the pre-release puts a version: -1 a lone dev release, 1 no pre-release, 0 compare `pre`. */
function preSlot(v: Pep440Version): number {
  if (v.pre === null && v.post === null && v.dev !== null) return -1;
  return v.pre === null ? 1 : 0;
}

function compareOptionalNumbers(a: string | null, b: string | null, missing: Ordering): Ordering {
  if (a === null || b === null) return a === b ? 0 : a === null ? missing : (-missing as Ordering);
  return compareDigitStrings(a, b);
}

/** A local segment: numbers compare numerically and sort after strings, strings compare as text. */
function compareLocalSegments(x: string, y: string): Ordering {
  const xNumeric = isDigits(x);
  const yNumeric = isDigits(y);
  if (xNumeric && yNumeric) return compareDigitStrings(x, y);
  if (xNumeric !== yNumeric) return xNumeric ? 1 : -1;
  return x === y ? 0 : x < y ? -1 : 1;
}

function compareLocal(a: readonly string[] | null, b: readonly string[] | null): Ordering {
  if (a === null || b === null) return a === b ? 0 : a === null ? -1 : 1;
  for (let i = 0; i < a.length && i < b.length; i++) {
    const order = compareLocalSegments(a[i] ?? "", b[i] ?? "");
    if (order !== 0) return order;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

export function compareParsedPep440(a: Pep440Version, b: Pep440Version): Ordering {
  const epoch = compareDigitStrings(a.epoch, b.epoch);
  if (epoch !== 0) return epoch;
  const release = compareReleases(a.release, b.release);
  if (release !== 0) return release;

  const slotA = preSlot(a);
  const slotB = preSlot(b);
  if (slotA !== slotB) return slotA < slotB ? -1 : 1;
  if (slotA === 0 && a.pre !== null && b.pre !== null) {
    if (a.pre.phase !== b.pre.phase) return a.pre.phase < b.pre.phase ? -1 : 1;
    const preNumber = compareDigitStrings(a.pre.number, b.pre.number);
    if (preNumber !== 0) return preNumber;
  }
  // No post release sorts first; no dev release sorts last.
  return (
    compareOptionalNumbers(a.post, b.post, -1) ||
    compareOptionalNumbers(a.dev, b.dev, 1) ||
    compareLocal(a.local, b.local)
  );
}

export function parsePep440Version(input: string): Pep440Version {
  return parsePep440("pep440", input);
}

export function pep440Comparator(ecosystem: "pep440" | "pypi"): VersionComparator {
  return parsedComparator(ecosystem, (text) => parsePep440(ecosystem, text), compareParsedPep440);
}
