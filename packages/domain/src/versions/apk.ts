/**
 * Alpine package versions, `digits{.digits}[letter][_suffix[digits]]...[~hash][-r digits]`,
 * compared with apk-tools' token rules (src/version.c): numbers numerically, except that a dotted
 * component with a leading zero on either side compares as a string (the Gentoo rule); one
 * lowercase letter; suffixes ordered alpha < beta < pre < rc < (none) < cvs < svn < git < hg < p;
 * when one side runs out first it is older, unless the other continues with a pre-release suffix.
 *
 * Validity follows apk-tools' own validator (`apk version -c`, also what abuild enforces), with
 * two readings older apk-tools releases had and real Alpine data still carries:
 *  - digits after the letter, as in openssh's `6.6.1p1-r0` (Alpine <= 3.12, apk-tools 2.10 and
 *    earlier): compared numerically after the letter;
 *  - `-r` with no number, read as `-r0` (apk-tools 2.x).
 * Anything else the validator refuses is refused here too: `apk version -t` still prints an
 * answer for such strings, but apk-tools 2.10, 2.12 and 3 print different ones, so there is no
 * answer to be exact about. Numbers are compared at any size; apk-tools wraps them at 2^64.
 */
import { parsedComparator } from "./comparator.js";
import { compareDigitStrings } from "./digits.js";
import { VersionSyntaxError } from "./errors.js";
import type { Ordering } from "./types.js";

/** Token kinds in apk-tools' order: when two versions diverge in kind, the later kind is older. */
const Kind = {
  InitialDigit: 0,
  Digit: 1,
  Letter: 2,
  LetterNumber: 3,
  Suffix: 4,
  SuffixNumber: 5,
  CommitHash: 6,
  Revision: 7,
  End: 8,
} as const;
type Kind = (typeof Kind)[keyof typeof Kind];

/** Suffix ranks; NONE (5) is the rank of "no suffix", so ranks below it are pre-releases. */
const SUFFIX_RANK: Readonly<Record<string, number>> = {
  alpha: 1,
  beta: 2,
  pre: 3,
  rc: 4,
  cvs: 6,
  svn: 7,
  git: 8,
  hg: 9,
  p: 10,
};
const SUFFIX_NONE = 5;

interface Token {
  readonly kind: Kind;
  /** Digits for numeric kinds, the letter, the suffix name or the hash. */
  readonly text: string;
  /** The suffix rank for Kind.Suffix, otherwise 0. */
  readonly rank: number;
}

export type ApkVersion = readonly Token[];

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isLower = (c: number): boolean => c >= 97 && c <= 122;
const isHex = (c: number): boolean => isDigit(c) || (c >= 97 && c <= 102);

function refuse(input: string, reason: string): never {
  throw new VersionSyntaxError("apk", input, reason);
}

function scan(text: string, from: number, accept: (c: number) => boolean): number {
  let i = from;
  while (i < text.length && accept(text.charCodeAt(i))) i++;
  return i;
}

export function parseApkVersion(input: string): ApkVersion {
  if (input === "") refuse(input, "version string is empty");
  const tokens: Token[] = [];
  let at = scan(input, 0, isDigit);
  if (at === 0) refuse(input, "must start with a digit");
  tokens.push({ kind: Kind.InitialDigit, text: input.slice(0, at), rank: 0 });
  const push = (kind: Kind, start: number, end: number, rank = 0): void => {
    tokens.push({ kind, text: input.slice(start, end), rank });
  };

  while (at < input.length) {
    const last = tokens[tokens.length - 1]?.kind ?? Kind.InitialDigit;
    const c = input.charCodeAt(at);
    if (c === 46 /* . */) {
      if (last > Kind.Digit) refuse(input, `'.' after the letter or a suffix at position ${at + 1}`);
      const end = scan(input, at + 1, isDigit);
      if (end === at + 1) refuse(input, `'.' must be followed by digits (position ${at + 1})`);
      push(Kind.Digit, at + 1, end);
      at = end;
    } else if (isLower(c)) {
      if (last > Kind.Digit) refuse(input, `unexpected letter '${input[at]}' at position ${at + 1}`);
      push(Kind.Letter, at, at + 1);
      at++;
    } else if (isDigit(c) && last === Kind.Letter) {
      const end = scan(input, at, isDigit);
      push(Kind.LetterNumber, at, end);
      at = end;
    } else if (c === 95 /* _ */) {
      if (last > Kind.SuffixNumber) {
        refuse(input, `'_' suffix after the hash or revision at position ${at + 1}`);
      }
      const end = scan(input, at + 1, isLower);
      const name = input.slice(at + 1, end);
      const rank = SUFFIX_RANK[name];
      if (rank === undefined) {
        refuse(input, `unknown suffix "_${name}" (apk knows alpha, beta, pre, rc, cvs, svn, git, hg, p)`);
      }
      push(Kind.Suffix, at + 1, end, rank);
      at = end;
      const digitsEnd = scan(input, at, isDigit);
      if (digitsEnd > at) {
        push(Kind.SuffixNumber, at, digitsEnd);
        at = digitsEnd;
      }
    } else if (c === 126 /* ~ */) {
      if (last >= Kind.CommitHash) refuse(input, `'~' hash after the revision at position ${at + 1}`);
      const end = scan(input, at + 1, isHex);
      if (end === at + 1) {
        refuse(input, `'~' must be followed by a lowercase hex commit hash (position ${at + 1})`);
      }
      push(Kind.CommitHash, at + 1, end);
      at = end;
    } else if (c === 45 /* - */) {
      if (input.charCodeAt(at + 1) !== 114 /* r */) {
        refuse(input, `'-' must start the '-r' revision (position ${at + 1})`);
      }
      const end = scan(input, at + 2, isDigit);
      if (end !== input.length) refuse(input, "the '-r' revision must be the last part and all digits");
      push(Kind.Revision, at + 2, end);
      at = end;
    } else {
      refuse(input, `unexpected character ${JSON.stringify(input[at])} at position ${at + 1}`);
    }
  }
  return tokens;
}

function compareTokens(a: Token, b: Token): Ordering {
  switch (a.kind) {
    case Kind.Digit:
      // A leading zero on either side makes the component a string (1.02 < 1.1, 1.010 > 1.01).
      if (a.text.charCodeAt(0) === 48 || b.text.charCodeAt(0) === 48) return compareText(a.text, b.text);
      return compareDigitStrings(a.text, b.text);
    case Kind.InitialDigit:
    case Kind.LetterNumber:
    case Kind.SuffixNumber:
    case Kind.Revision:
      return compareDigitStrings(a.text === "" ? "0" : a.text, b.text === "" ? "0" : b.text);
    case Kind.Suffix:
      return a.rank === b.rank ? 0 : a.rank < b.rank ? -1 : 1;
    default:
      return compareText(a.text, b.text);
  }
}

/** apk_blob_sort(): byte order, a prefix before its extensions. */
function compareText(a: string, b: string): Ordering {
  return a === b ? 0 : a < b ? -1 : 1;
}

const END: Token = { kind: Kind.End, text: "", rank: 0 };

export function compareParsedApkVersions(a: ApkVersion, b: ApkVersion): Ordering {
  for (let i = 0; ; i++) {
    const ta = a[i] ?? END;
    const tb = b[i] ?? END;
    if (ta.kind !== tb.kind) {
      // Where the versions diverge, a pre-release suffix is older; otherwise the side whose next
      // part comes later in the grammar is (the end comes last: 1.2 < 1.2.1, 1.2 < 1.2a).
      if (ta.kind === Kind.Suffix && ta.rank < SUFFIX_NONE) return -1;
      if (tb.kind === Kind.Suffix && tb.rank < SUFFIX_NONE) return 1;
      return ta.kind > tb.kind ? -1 : 1;
    }
    if (ta.kind === Kind.End) return 0;
    const order = compareTokens(ta, tb);
    if (order !== 0) return order;
  }
}

// Sized, like dpkg's, for a whole distribution's distinct versions.
export const apkComparator = parsedComparator("apk", parseApkVersion, compareParsedApkVersions, 32768);

export function compareApkVersions(a: string, b: string): Ordering {
  return apkComparator.compare(a, b);
}
