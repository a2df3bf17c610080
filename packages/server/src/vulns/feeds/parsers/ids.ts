/**
 * Identifier and timestamp checks shared by the parsers, so garbage never becomes a key in the
 * knowledge base: an id either matches its source's documented shape or the record is skipped.
 */
import { cleanText } from "./text.js";

/** CVE-YYYY-NNNN…, the number part 4 to 19 digits (the CVE and KEV schemas' limit). */
export const CVE_ID = /^CVE-\d{4}-\d{4,19}$/;
/** Debian security tracker ids for issues without a CVE yet: TEMP-<7 digits>-<6 hex>. */
export const DEBIAN_TEMP_ID = /^TEMP-\d{7}-[0-9A-F]{6}$/;
/**
 * OSV ids are `<PREFIX>-<rest>`: GHSA-…, GO-2023-1989, PYSEC-…, DSA-5555-1, RHSA-2024:1234,
 * openSUSE-SU-2024:1234-1, BIT-brotli-2020-8927. Bounded so a megabyte "id" is refused.
 */
export const OSV_ID = /^[A-Za-z][A-Za-z0-9]*-[A-Za-z0-9][A-Za-z0-9:._-]{0,126}$/;
export const CWE_ID = /^CWE-\d{1,6}$/;
/** Vendor advisory ids (RHSA-2024:6163, DSA-4535-1) have the same prefix-dash-rest shape. */
export const ADVISORY_ID = OSV_ID;

/** The CVE id in canonical upper case, or null when `value` is not one. */
export function cveIdOrNull(value: string): string | null {
  const id = cleanText(value).toUpperCase();
  return CVE_ID.test(id) ? id : null;
}

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * An ISO 8601 timestamp in canonical UTC form (`2022-07-11T13:15:08.503Z`), or null when the value
 * is not one. A time without an offset is read as UTC: NVD and Trivy write UTC without saying so,
 * and PostgreSQL would otherwise read it in the session's time zone.
 */
export function timestampOrNull(value: string | null): string | null {
  if (value === null) return null;
  const text = cleanText(value);
  const match = ISO_DATE_TIME.exec(text);
  if (match === null) return null;
  let iso = text.replace(" ", "T");
  if (iso.length === 10) iso += "T00:00:00Z";
  else if (match[1] === undefined) iso += "Z";
  // "+0000" (EPSS, some CSAF producers) is not accepted by Date.parse everywhere; add the colon.
  iso = iso.replace(/([+-]\d{2})(\d{2})$/, "$1:$2");
  const time = Date.parse(iso);
  return Number.isNaN(time) ? null : new Date(time).toISOString();
}
