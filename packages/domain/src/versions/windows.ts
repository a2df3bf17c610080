/**
 * Windows build and file versions such as `10.0.22631.3296`: dot-separated decimal numbers
 * compared part by part, numerically, a missing part counting as 0 (so 10.0 = 10.0.0.0). Nothing
 * else is accepted: feature-update labels like "23H2" are names, not orderable versions.
 */
import { parsedComparator } from "./comparator.js";
import { compareDigitStrings, isDigits } from "./digits.js";
import { VersionSyntaxError } from "./errors.js";
import type { Ordering, VersionComparator } from "./types.js";

export type DottedNumbers = readonly string[];

export function parseWindowsVersion(input: string): DottedNumbers {
  const parts = input.split(".");
  for (const part of parts) {
    if (!isDigits(part)) {
      throw new VersionSyntaxError(
        "windows",
        input,
        "expected dot-separated decimal numbers such as 10.0.22631.3296",
      );
    }
  }
  return parts;
}

/** Part-by-part numeric comparison where a missing part counts as 0. */
export function compareDottedNumbers(a: DottedNumbers, b: DottedNumbers): Ordering {
  const length = Math.max(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const order = compareDigitStrings(a[i] ?? "0", b[i] ?? "0");
    if (order !== 0) return order;
  }
  return 0;
}

export const windowsComparator: VersionComparator = parsedComparator(
  "windows",
  parseWindowsVersion,
  compareDottedNumbers,
);
