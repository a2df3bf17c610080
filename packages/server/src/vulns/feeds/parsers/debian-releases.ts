/**
 * Debian release codenames and their numbers, as the agent spells releases (`debian:12`,
 * `debian:unstable`). Older releases keep their point numbers (woody was 3.0): /etc/os-release of
 * those systems says so, and nothing older than squeeze is expected on a managed machine anyway.
 */

const CODENAMES: ReadonlyMap<string, string> = new Map([
  ["buzz", "1.1"],
  ["rex", "1.2"],
  ["bo", "1.3"],
  ["hamm", "2.0"],
  ["slink", "2.1"],
  ["potato", "2.2"],
  ["woody", "3.0"],
  ["sarge", "3.1"],
  ["etch", "4"],
  ["lenny", "5"],
  ["squeeze", "6"],
  ["wheezy", "7"],
  ["jessie", "8"],
  ["stretch", "9"],
  ["buster", "10"],
  ["bullseye", "11"],
  ["bookworm", "12"],
  ["trixie", "13"],
  ["forky", "14"],
  ["duke", "15"],
  ["sid", "unstable"],
]);

/** `debian:12` for "bookworm" or "12", `debian:unstable` for "sid"; null for anything else. */
export function debianRelease(codenameOrNumber: string): string | null {
  const key = codenameOrNumber.trim().toLowerCase();
  const number = CODENAMES.get(key);
  if (number !== undefined) return `debian:${number}`;
  if (/^\d{1,2}(?:\.\d)?$/.test(key)) return `debian:${key}`;
  return null;
}
