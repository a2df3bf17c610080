/**
 * macOS and Mac application versions: `14.4.1`, `123.0.6312.86`. The rule, since Apple publishes
 * none for third-party apps:
 *  - the release is dot-separated decimal numbers, compared numerically, a missing part counting
 *    as 0 (14.4 = 14.4.0);
 *  - it may be followed by a pre-release tag, directly or after "-": a, alpha, b, beta, rc
 *    (any case) with an optional number, as in `124.0b3` or `2.0-rc.1`. A pre-release sorts before
 *    its release; alpha < beta < rc, then by number (no number = 0);
 *  - or by a Rapid Security Response letter in parentheses, `13.3.1 (a)`, which Apple ships after
 *    13.3.1, so it sorts after the release and after earlier letters.
 * Anything else (build numbers such as "23E224", free text) is refused rather than guessed at.
 */
import { parsedComparator } from "./comparator.js";
import { compareDigitStrings } from "./digits.js";
import { VersionSyntaxError } from "./errors.js";
import type { Ordering, VersionComparator } from "./types.js";
import { compareDottedNumbers } from "./windows.js";

export interface MacosVersion {
  readonly release: readonly string[];
  /** Negative for a pre-release (-3 alpha, -2 beta, -1 rc), 0 for the release, +1 for an RSR. */
  readonly stage: number;
  /** The pre-release number, or the RSR letter. */
  readonly tag: string;
}

const PATTERN = /^([0-9]+(?:\.[0-9]+)*)(?:-?(alpha|a|beta|b|rc)\.?([0-9]*)| \(([a-z])\))?$/i;
const STAGE: Readonly<Record<string, number>> = { a: -3, alpha: -3, b: -2, beta: -2, rc: -1 };

export function parseMacosVersion(input: string): MacosVersion {
  const match = PATTERN.exec(input);
  if (match?.[1] === undefined) {
    throw new VersionSyntaxError(
      "macos",
      input,
      "expected numbers such as 14.4.1, optionally followed by a1/b2/rc1 or a response letter such as (a)",
    );
  }
  const release = match[1].split(".");
  const preLabel = match[2]?.toLowerCase();
  if (preLabel !== undefined) return { release, stage: STAGE[preLabel] ?? -3, tag: match[3] || "0" };
  if (match[4] !== undefined) return { release, stage: 1, tag: match[4].toLowerCase() };
  return { release, stage: 0, tag: "" };
}

export function compareParsedMacosVersions(a: MacosVersion, b: MacosVersion): Ordering {
  const release = compareDottedNumbers(a.release, b.release);
  if (release !== 0) return release;
  if (a.stage !== b.stage) return a.stage < b.stage ? -1 : 1;
  if (a.stage < 0) return compareDigitStrings(a.tag, b.tag);
  return a.tag === b.tag ? 0 : a.tag < b.tag ? -1 : 1;
}

export const macosComparator: VersionComparator = parsedComparator(
  "macos",
  parseMacosVersion,
  compareParsedMacosVersions,
);
