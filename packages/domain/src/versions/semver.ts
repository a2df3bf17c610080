/**
 * SemVer 2.0.0 precedence (semver.org §11): major.minor.patch numerically, a pre-release sorts
 * before its release, pre-release identifiers compare numerically when both are digits and in
 * ASCII order otherwise (numeric before alphanumeric, a shorter list first), build metadata is
 * ignored. Numbers are compared as digit strings, so parts beyond 2^53 stay exact.
 *
 * One precedence, four parsers, each refusing what its ecosystem's tool refuses:
 *  - semver: the specification's grammar exactly;
 *  - npm:    node-semver's strict parse: an optional leading "v", surrounding whitespace trimmed,
 *            at most 256 characters, major/minor/patch at most Number.MAX_SAFE_INTEGER;
 *  - go:     golang.org/x/mod/semver: "v" prefix (optional here, since OSV and most advisories
 *            omit it) and the shorthands v1 = v1.0.0 and v1.2 = v1.2.0 without pre-release or build;
 *  - cargo:  the Rust semver crate: no prefix, major/minor/patch at most 2^64 - 1.
 *
 * The npm `semver` package is not used at run time: it refuses numbers beyond 2^53 and has no Go
 * or Cargo grammar. The tests use it as the oracle for the npm flavour instead.
 */
import { parsedComparator } from "./comparator.js";
import { compareDigitStrings, digitsAtMost } from "./digits.js";
import { VersionSyntaxError } from "./errors.js";
import type { Ordering, VersionComparator } from "./types.js";

export type SemverEcosystem = "semver" | "npm" | "go" | "cargo";

export interface SemverVersion {
  readonly major: string;
  readonly minor: string;
  readonly patch: string;
  /** Empty for a release. */
  readonly prerelease: readonly string[];
  readonly build: readonly string[];
}

interface Flavour {
  readonly vPrefix: boolean;
  readonly shorthand: boolean;
  readonly trim: boolean;
  readonly maxLength: number | null;
  readonly maxNumber: string | null;
}

const FLAVOURS: Readonly<Record<SemverEcosystem, Flavour>> = {
  semver: { vPrefix: false, shorthand: false, trim: false, maxLength: null, maxNumber: null },
  npm: { vPrefix: true, shorthand: false, trim: true, maxLength: 256, maxNumber: "9007199254740991" },
  go: { vPrefix: true, shorthand: true, trim: false, maxLength: null, maxNumber: null },
  cargo: {
    vPrefix: false,
    shorthand: false,
    trim: false,
    maxLength: null,
    maxNumber: "18446744073709551615",
  },
};

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isIdentifierChar = (c: number): boolean =>
  isDigit(c) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45;

class Reader {
  at = 0;
  constructor(
    readonly ecosystem: SemverEcosystem,
    readonly input: string,
    readonly text: string,
  ) {}

  refuse(reason: string): never {
    throw new VersionSyntaxError(this.ecosystem, this.input, reason);
  }

  /** A numeric identifier: "0" or digits without a leading zero. */
  number(part: string): string {
    const start = this.at;
    while (this.at < this.text.length && isDigit(this.text.charCodeAt(this.at))) this.at++;
    if (this.at === start) this.refuse(`${part} version must be a number`);
    if (this.at - start > 1 && this.text.charCodeAt(start) === 48) {
      this.refuse(`${part} version has a leading zero`);
    }
    return this.text.slice(start, this.at);
  }

  /** Dot-separated identifiers of [0-9A-Za-z-] up to `stop` (a char code) or the end. */
  identifiers(part: string, stop: number): string[] {
    const start = this.at;
    while (this.at < this.text.length && this.text.charCodeAt(this.at) !== stop) this.at++;
    const identifiers = this.text.slice(start, this.at).split(".");
    for (const identifier of identifiers) {
      if (identifier === "") this.refuse(`empty ${part} identifier`);
      for (let i = 0; i < identifier.length; i++) {
        if (!isIdentifierChar(identifier.charCodeAt(i))) {
          this.refuse(`${part} identifier ${JSON.stringify(identifier)} may hold only [0-9A-Za-z-]`);
        }
      }
    }
    return identifiers;
  }

  peek(): number {
    return this.text.charCodeAt(this.at);
  }
}

function parseFlavour(ecosystem: SemverEcosystem, input: string): SemverVersion {
  const flavour = FLAVOURS[ecosystem];
  if (flavour.maxLength !== null && input.length > flavour.maxLength) {
    throw new VersionSyntaxError(ecosystem, input, `longer than ${flavour.maxLength} characters`);
  }
  let text = flavour.trim ? input.trim() : input;
  if (flavour.vPrefix && text.startsWith("v")) text = text.slice(1);
  const reader = new Reader(ecosystem, input, text);
  if (text === "") reader.refuse("version string is empty");
  if (/^[vV]/.test(text)) reader.refuse(`a leading "${text[0]}" is not part of a ${ecosystem} version`);

  const major = reader.number("major");
  let minor = "0";
  let patch = "0";
  let shortened = false;
  if (reader.at === text.length && flavour.shorthand) {
    shortened = true;
  } else {
    if (reader.peek() !== 46) reader.refuse("expected major.minor.patch");
    reader.at++;
    minor = reader.number("minor");
    if (reader.at === text.length && flavour.shorthand) {
      shortened = true;
    } else {
      if (reader.peek() !== 46) reader.refuse("expected major.minor.patch");
      reader.at++;
      patch = reader.number("patch");
    }
  }
  if (flavour.maxNumber !== null) {
    for (const [part, value] of [
      ["major", major],
      ["minor", minor],
      ["patch", patch],
    ] as const) {
      if (!digitsAtMost(value, flavour.maxNumber)) {
        reader.refuse(`${part} version exceeds ${flavour.maxNumber}`);
      }
    }
  }
  if (shortened) return { major, minor, patch, prerelease: [], build: [] };

  let prerelease: string[] = [];
  if (reader.peek() === 45 /* - */) {
    reader.at++;
    prerelease = reader.identifiers("pre-release", 43 /* + */);
    for (const identifier of prerelease) {
      if (identifier.length > 1 && identifier.charCodeAt(0) === 48 && isNumeric(identifier)) {
        reader.refuse(`numeric pre-release identifier ${JSON.stringify(identifier)} has a leading zero`);
      }
    }
  }
  let build: string[] = [];
  if (reader.peek() === 43 /* + */) {
    reader.at++;
    build = reader.identifiers("build", -1);
  }
  if (reader.at !== text.length) {
    reader.refuse(`unexpected ${JSON.stringify(text[reader.at])} after the version core`);
  }
  return { major, minor, patch, prerelease, build };
}

function isNumeric(identifier: string): boolean {
  for (let i = 0; i < identifier.length; i++) if (!isDigit(identifier.charCodeAt(i))) return false;
  return true;
}

function compareIdentifiers(a: string, b: string): Ordering {
  const aNumeric = isNumeric(a);
  const bNumeric = isNumeric(b);
  if (aNumeric && bNumeric) return compareDigitStrings(a, b);
  if (aNumeric !== bNumeric) return aNumeric ? -1 : 1;
  return a === b ? 0 : a < b ? -1 : 1;
}

export function compareParsedSemver(a: SemverVersion, b: SemverVersion): Ordering {
  const core =
    compareDigitStrings(a.major, b.major) ||
    compareDigitStrings(a.minor, b.minor) ||
    compareDigitStrings(a.patch, b.patch);
  if (core !== 0) return core;
  const aPre = a.prerelease;
  const bPre = b.prerelease;
  if (aPre.length === 0 || bPre.length === 0) {
    return aPre.length === bPre.length ? 0 : aPre.length === 0 ? 1 : -1;
  }
  for (let i = 0; i < aPre.length && i < bPre.length; i++) {
    const order = compareIdentifiers(aPre[i] ?? "", bPre[i] ?? "");
    if (order !== 0) return order;
  }
  return aPre.length === bPre.length ? 0 : aPre.length < bPre.length ? -1 : 1;
}

export function parseSemver(input: string, ecosystem: SemverEcosystem = "semver"): SemverVersion {
  return parseFlavour(ecosystem, input);
}

export function semverComparator(ecosystem: SemverEcosystem): VersionComparator {
  return parsedComparator(ecosystem, (text) => parseFlavour(ecosystem, text), compareParsedSemver);
}
