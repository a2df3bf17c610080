/**
 * RPM `[epoch:]version[-release]` strings, compared exactly as rpm 4.18's `rpm.vercmp()` does:
 * rpmverParse() splits the EVR (epoch = leading digits before `:`, release after the last `-`),
 * rpmverCmp() compares epoch (missing = "0"), then version, then release (a missing release sorts
 * before any release, even an empty one), each with rpmvercmp().
 *
 * rpmvercmp keeps rpm's own documented oddities: only ASCII letters and digits form segments, every
 * other character (including any non-ASCII one) is a separator, so `1.1.α` = `1.1.β`; a numeric
 * segment beats an alphabetic one (`1.fc17` > `1b.fc17`); `~` sorts before anything, even the end;
 * `^` sorts after the end but before anything else. rpm refuses only the empty string.
 */
import { VersionSyntaxError } from "./errors.js";
import type { Ordering, VersionComparator } from "./types.js";

const TILDE = 126;
const CARET = 94;

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isAlpha = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isSegmentChar = (c: number): boolean => isDigit(c) || isAlpha(c) || c === TILDE || c === CARET;

/**
 * rpmvercmp() over a[aStart, aEnd) and b[bStart, bEnd), walking the strings in place so the hot
 * path allocates nothing. Follows rpmio/rpmvercmp.c statement by statement.
 */
export function rpmvercmp(
  a: string,
  aStart: number,
  aEnd: number,
  b: string,
  bStart: number,
  bEnd: number,
): Ordering {
  let one = aStart;
  let two = bStart;
  while (one < aEnd || two < bEnd) {
    while (one < aEnd && !isSegmentChar(a.charCodeAt(one))) one++;
    while (two < bEnd && !isSegmentChar(b.charCodeAt(two))) two++;
    const c1 = one < aEnd ? a.charCodeAt(one) : 0;
    const c2 = two < bEnd ? b.charCodeAt(two) : 0;

    // The tilde separator sorts before everything else, the end of the string included.
    if (c1 === TILDE || c2 === TILDE) {
      if (c1 !== TILDE) return 1;
      if (c2 !== TILDE) return -1;
      one++;
      two++;
      continue;
    }
    // The caret is like tilde, except that when one side has ended that side is the lower one.
    if (c1 === CARET || c2 === CARET) {
      if (one >= aEnd) return -1;
      if (two >= bEnd) return 1;
      if (c1 !== CARET) return 1;
      if (c2 !== CARET) return -1;
      one++;
      two++;
      continue;
    }
    if (one >= aEnd || two >= bEnd) break;

    let end1 = one;
    let end2 = two;
    const numeric = isDigit(c1);
    if (numeric) {
      while (end1 < aEnd && isDigit(a.charCodeAt(end1))) end1++;
      while (end2 < bEnd && isDigit(b.charCodeAt(end2))) end2++;
    } else {
      while (end1 < aEnd && isAlpha(a.charCodeAt(end1))) end1++;
      while (end2 < bEnd && isAlpha(b.charCodeAt(end2))) end2++;
    }
    // Segments of different types: the numeric one is newer.
    if (two === end2) return numeric ? 1 : -1;

    if (numeric) {
      while (one < end1 && a.charCodeAt(one) === 48) one++;
      while (two < end2 && b.charCodeAt(two) === 48) two++;
      const length1 = end1 - one;
      const length2 = end2 - two;
      if (length1 !== length2) return length1 > length2 ? 1 : -1;
    }
    // strcmp() of the two segments.
    for (;;) {
      const x = one < end1 ? a.charCodeAt(one) : 0;
      const y = two < end2 ? b.charCodeAt(two) : 0;
      if (x !== y) return x < y ? -1 : 1;
      if (x === 0) break;
      one++;
      two++;
    }
  }
  if (one >= aEnd && two >= bEnd) return 0;
  return one >= aEnd ? -1 : 1;
}

/** Where rpmverParse() splits an EVR: the epoch's colon (or -1) and the release's hyphen (or -1). */
interface EvrBounds {
  colon: number;
  hyphen: number;
}

function evrBounds(evr: string): EvrBounds {
  let s = 0;
  while (s < evr.length && isDigit(evr.charCodeAt(s))) s++;
  const colon = evr.charCodeAt(s) === 58 ? s : -1;
  const hyphen = evr.lastIndexOf("-");
  // strrchr() starts at the end of the leading digits, so a hyphen before them cannot count.
  return { colon, hyphen: hyphen >= s ? hyphen : -1 };
}

function checkEvr(evr: string): void {
  if (evr === "") throw new VersionSyntaxError("rpm", evr, "version string is empty (rpm: invalid version)");
  if (evr.includes("\0")) throw new VersionSyntaxError("rpm", evr, "version string contains a NUL character");
}

/** rpmverCmp() of two EVR strings, as `rpm --eval '%{lua: print(rpm.vercmp(a, b))}'` prints it. */
export function compareRpmVersions(a: string, b: string): Ordering {
  checkEvr(a);
  checkEvr(b);
  const ea = evrBounds(a);
  const eb = evrBounds(b);

  // A missing epoch, and an empty one (":1"), count as "0".
  const aHasEpoch = ea.colon > 0;
  const bHasEpoch = eb.colon > 0;
  const epoch = rpmvercmp(
    aHasEpoch ? a : "0",
    0,
    aHasEpoch ? ea.colon : 1,
    bHasEpoch ? b : "0",
    0,
    bHasEpoch ? eb.colon : 1,
  );
  if (epoch !== 0) return epoch;

  const aVersionStart = ea.colon + 1;
  const bVersionStart = eb.colon + 1;
  const aVersionEnd = ea.hyphen >= 0 ? ea.hyphen : a.length;
  const bVersionEnd = eb.hyphen >= 0 ? eb.hyphen : b.length;
  const version = rpmvercmp(a, aVersionStart, aVersionEnd, b, bVersionStart, bVersionEnd);
  if (version !== 0) return version;

  if (ea.hyphen < 0 || eb.hyphen < 0) {
    if (ea.hyphen < 0 && eb.hyphen < 0) return 0;
    return ea.hyphen < 0 ? -1 : 1;
  }
  return rpmvercmp(a, ea.hyphen + 1, a.length, b, eb.hyphen + 1, b.length);
}

export interface RpmEvr {
  /** null when the string has no epoch; compared as "0". */
  readonly epoch: string | null;
  readonly version: string;
  /** null when there is no `-`; sorts before every release, even an empty one. */
  readonly release: string | null;
}

export function parseRpmEvr(evr: string): RpmEvr {
  checkEvr(evr);
  const { colon, hyphen } = evrBounds(evr);
  const versionEnd = hyphen >= 0 ? hyphen : evr.length;
  return {
    epoch: colon < 0 ? null : colon === 0 ? "0" : evr.slice(0, colon),
    version: evr.slice(colon + 1, versionEnd),
    release: hyphen >= 0 ? evr.slice(hyphen + 1) : null,
  };
}

export const rpmComparator: VersionComparator = {
  ecosystem: "rpm",
  compare: compareRpmVersions,
  // rpmvercmp works on the strings themselves: preparing is checking.
  prepare: (version) => {
    checkEvr(version);
    return version;
  },
  comparePrepared: (a, b) => compareRpmVersions(a as string, b as string),
  isValid: (version) => version !== "" && !version.includes("\0"),
  assertValid: checkEvr,
};
