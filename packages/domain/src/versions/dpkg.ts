/**
 * Debian package versions, `[epoch:]upstream[-revision]`, compared exactly as dpkg 1.21 does
 * (lib/dpkg/version.c `verrevcmp`, lib/dpkg/parsehelp.c `parseversion`).
 *
 * dpkg has two levels of "bad syntax". Errors (empty, embedded space, bad epoch, empty upstream or
 * revision) are refused everywhere. Warnings (upstream not starting with a digit, characters
 * outside `[A-Za-z0-9.+~-:]` / `[A-Za-z0-9.+~]`) are refused when dpkg builds or installs a package
 * but only warned about by `dpkg --compare-versions` and when reading its own database. The
 * default here is the strict reading; `lax` mode mirrors `dpkg --compare-versions` and reports
 * the warning instead.
 */
import { VersionSyntaxError } from "./errors.js";
import { ParseCache } from "./parse-cache.js";
import { type Ordering, sign, type VersionComparator } from "./types.js";

export type DpkgMode = "strict" | "lax";

export interface DpkgVersion {
  readonly epoch: number;
  readonly upstream: string;
  readonly revision: string;
  /** dpkg's warning for this version ("version number does not start with digit", ...), or null. */
  readonly warning: string | null;
  /** What verrevcmp walks: the text itself, or its UTF-8 bytes as char codes if not ASCII. */
  readonly upstreamBytes: string;
  readonly revisionBytes: string;
}

const INT_MAX = 2147483647;

const isBlank = (c: number): boolean => c === 32 || c === 9;
const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isAlpha = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
// strtol() skips C isspace(): space, \t, \n, \v, \f, \r.
const isCSpace = (c: number): boolean => c === 32 || (c >= 9 && c <= 13);

/**
 * verrevcmp's character weights, indexed by byte: digits and the end of the string weigh 0,
 * letters their ASCII code, `~` below everything, other bytes after all letters. dpkg reads bytes
 * as signed `char` (amd64), so a byte >= 0x80 weighs (byte - 256) + 256 = byte: after the letters
 * and before ASCII punctuation.
 */
const ORDER = new Int16Array(256);
for (let c = 0; c < 256; c++) {
  if (c === 0 || isDigit(c)) ORDER[c] = 0;
  else if (isAlpha(c)) ORDER[c] = c;
  else if (c === 126) ORDER[c] = -1;
  else ORDER[c] = c < 128 ? c + 256 : c;
}

/**
 * Where verrevcmp may start: past the longest common prefix, backed up to just after its last
 * non-digit. The walk over an identical prefix finds no difference, and restarting right after a
 * non-digit begins either a fresh number or the middle of a separator run, both of which verrevcmp
 * handles the same from there. Sibling versions of one package share most of their text.
 */
function commonStart(a: string, b: string): number {
  const limit = Math.min(a.length, b.length);
  let k = 0;
  while (k < limit && a.charCodeAt(k) === b.charCodeAt(k)) k++;
  while (k > 0 && isDigit(a.charCodeAt(k - 1))) k--;
  return k;
}

/** The same walk as dpkg's verrevcmp over two byte strings; returns <0, 0 or >0. */
function verrevcmp(a: string, b: string): number {
  const aLength = a.length;
  const bLength = b.length;
  let i = commonStart(a, b);
  let j = i;
  while (i < aLength || j < bLength) {
    let firstDiff = 0;
    while ((i < aLength && !isDigit(a.charCodeAt(i))) || (j < bLength && !isDigit(b.charCodeAt(j)))) {
      const ac = i < aLength ? (ORDER[a.charCodeAt(i)] ?? 0) : 0;
      const bc = j < bLength ? (ORDER[b.charCodeAt(j)] ?? 0) : 0;
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (i < aLength && a.charCodeAt(i) === 48) i++;
    while (j < bLength && b.charCodeAt(j) === 48) j++;
    while (i < aLength && j < bLength) {
      const ac = a.charCodeAt(i);
      const bc = b.charCodeAt(j);
      if (!isDigit(ac) || !isDigit(bc)) break;
      if (firstDiff === 0) firstDiff = ac - bc;
      i++;
      j++;
    }
    if (i < aLength && isDigit(a.charCodeAt(i))) return 1;
    if (j < bLength && isDigit(b.charCodeAt(j))) return -1;
    if (firstDiff !== 0) return firstDiff;
  }
  return 0;
}

function asBytes(text: string): string {
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 127) return String.fromCharCode(...new TextEncoder().encode(text));
  }
  return text;
}

function refuse(input: string, reason: string): never {
  throw new VersionSyntaxError("dpkg", input, reason);
}

/** The epoch before `colon`, read the way dpkg reads it (strtol, then range checks). */
function parseEpoch(input: string, text: string, colon: number): number {
  let i = 0;
  while (i < colon && isCSpace(text.charCodeAt(i))) i++;
  let negative = false;
  if (text[i] === "+" || text[i] === "-") {
    negative = text[i] === "-";
    i++;
  }
  const digitsStart = i;
  while (i < text.length && isDigit(text.charCodeAt(i))) i++;
  if (i === digitsStart) refuse(input, "epoch in version is empty");
  if (i !== colon) refuse(input, "epoch in version is not number");
  let value = 0;
  for (let k = digitsStart; k < i && value <= INT_MAX; k++) value = value * 10 + text.charCodeAt(k) - 48;
  if (negative && value !== 0) refuse(input, "epoch in version is negative");
  if (value > INT_MAX) refuse(input, "epoch in version is too big");
  return value;
}

// Besides letters and digits, an upstream version may hold . + ~ - : and a revision . + ~ only.
const isUpstreamChar = (c: number): boolean =>
  isDigit(c) || isAlpha(c) || c === 46 || c === 43 || c === 126 || c === 45 || c === 58;
const isRevisionChar = (c: number): boolean => isDigit(c) || isAlpha(c) || c === 46 || c === 43 || c === 126;

function syntaxWarning(upstream: string, revision: string): string | null {
  if (!isDigit(upstream.charCodeAt(0))) return "version number does not start with digit";
  for (let i = 1; i < upstream.length; i++) {
    if (!isUpstreamChar(upstream.charCodeAt(i))) return "invalid character in version number";
  }
  for (let i = 0; i < revision.length; i++) {
    if (!isRevisionChar(revision.charCodeAt(i))) return "invalid character in revision number";
  }
  return null;
}

/** dpkg's parseversion, keeping any warning rather than deciding here whether it is fatal. */
function parseAnyDpkgVersion(input: string): DpkgVersion {
  // A C string ends at NUL; such a string can never reach dpkg intact.
  if (input.includes("\0")) refuse(input, "version string contains a NUL character");
  let start = 0;
  while (start < input.length && isBlank(input.charCodeAt(start))) start++;
  if (start === input.length) refuse(input, "version string is empty");
  let end = start;
  while (end < input.length && !isBlank(input.charCodeAt(end))) end++;
  for (let i = end; i < input.length; i++) {
    if (!isBlank(input.charCodeAt(i))) refuse(input, "version string has embedded spaces");
  }
  let text = input.slice(start, end);

  let epoch = 0;
  const colon = text.indexOf(":");
  if (colon >= 0) {
    epoch = parseEpoch(input, text, colon);
    if (colon === text.length - 1) refuse(input, "nothing after colon in version number");
    text = text.slice(colon + 1);
  }
  const hyphen = text.lastIndexOf("-");
  const upstream = hyphen >= 0 ? text.slice(0, hyphen) : text;
  const revision = hyphen >= 0 ? text.slice(hyphen + 1) : "";
  if (hyphen >= 0 && revision === "") refuse(input, "revision number is empty");
  if (upstream === "") refuse(input, "version number is empty");

  return {
    epoch,
    upstream,
    revision,
    warning: syntaxWarning(upstream, revision),
    upstreamBytes: asBytes(upstream),
    revisionBytes: asBytes(revision),
  };
}

// Large enough for a whole distribution's distinct versions, so a matching run parses each once;
// a few megabytes at most.
const cache = new ParseCache<DpkgVersion>(32768);

/**
 * Parses a Debian version. Strict mode (the default) also refuses what dpkg only warns about;
 * lax mode accepts it and leaves the reason in `warning`, as `dpkg --compare-versions` does.
 */
export function parseDpkgVersion(input: string, mode: DpkgMode = "strict"): DpkgVersion {
  let parsed = cache.get(input);
  if (parsed === undefined) {
    parsed = parseAnyDpkgVersion(input);
    cache.set(input, parsed);
  }
  if (mode === "strict" && parsed.warning !== null) refuse(input, parsed.warning);
  return parsed;
}

export function compareParsedDpkgVersions(a: DpkgVersion, b: DpkgVersion): Ordering {
  if (a.epoch !== b.epoch) return a.epoch < b.epoch ? -1 : 1;
  const upstream = verrevcmp(a.upstreamBytes, b.upstreamBytes);
  if (upstream !== 0) return sign(upstream);
  return sign(verrevcmp(a.revisionBytes, b.revisionBytes));
}

export function compareDpkgVersions(a: string, b: string, mode: DpkgMode = "strict"): Ordering {
  return compareParsedDpkgVersions(parseDpkgVersion(a, mode), parseDpkgVersion(b, mode));
}

export const dpkgComparator: VersionComparator = {
  ecosystem: "dpkg",
  compare: (a, b) => compareDpkgVersions(a, b),
  prepare: (version) => parseDpkgVersion(version),
  comparePrepared: (a, b) => compareParsedDpkgVersions(a as DpkgVersion, b as DpkgVersion),
  isValid: (version) => {
    try {
      parseDpkgVersion(version);
      return true;
    } catch (error) {
      if (error instanceof VersionSyntaxError) return false;
      throw error;
    }
  },
  assertValid: (version) => {
    parseDpkgVersion(version);
  },
};
