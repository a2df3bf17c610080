import type { Ordering } from "./types.js";

/**
 * Compares two runs of ASCII decimal digits as unbounded integers, ignoring leading zeros: the
 * longer significant part is larger, equal lengths compare lexically. Exact at any size, so no
 * version number is ever rounded through a double.
 */
export function compareDigitStrings(a: string, b: string): Ordering {
  let i = 0;
  let j = 0;
  while (i < a.length - 1 && a.charCodeAt(i) === 48) i++;
  while (j < b.length - 1 && b.charCodeAt(j) === 48) j++;
  const lengthA = a.length - i;
  const lengthB = b.length - j;
  if (lengthA !== lengthB) return lengthA < lengthB ? -1 : 1;
  for (; i < a.length; i++, j++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(j);
    if (ca !== cb) return ca < cb ? -1 : 1;
  }
  return 0;
}

/** Whether a non-empty string is all ASCII digits. */
export function isDigits(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** Whether a digit string, read as an integer, is at most `max` (also a digit string). */
export function digitsAtMost(text: string, max: string): boolean {
  return compareDigitStrings(text, max) <= 0;
}
