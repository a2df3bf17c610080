/**
 * Microsoft knowledge-base article numbers naming Windows updates, such as `KB5034441`: compared
 * by their number. The "KB" prefix is optional and case-insensitive, since Microsoft's own feeds
 * give the bare number as often as the prefixed one.
 */
import { parsedComparator } from "./comparator.js";
import { compareDigitStrings } from "./digits.js";
import { VersionSyntaxError } from "./errors.js";
import type { VersionComparator } from "./types.js";

export function parseWindowsKb(input: string): string {
  const match = /^(?:kb)?([0-9]+)$/i.exec(input);
  if (match?.[1] === undefined) {
    throw new VersionSyntaxError("windows-kb", input, "expected a knowledge-base number such as KB5034441");
  }
  return match[1];
}

export const windowsKbComparator: VersionComparator = parsedComparator(
  "windows-kb",
  parseWindowsKb,
  compareDigitStrings,
);
