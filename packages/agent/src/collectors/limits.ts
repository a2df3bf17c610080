import type { AvailableUpdate, Inventory, InventoryEntry } from "@patchpilot/protocol";
import { INVENTORY_LIMITS } from "@patchpilot/protocol";
import { RELEASE_PATTERN } from "./os-release.js";

const L = INVENTORY_LIMITS;
/** The protocol's PRINTABLE rule: no C0 control character and no DEL. */
function hasControlCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}
const KB = /^KB[0-9]{4,10}$/;

/** null when `value` fits the protocol's text rules (1..max characters, printable), else why not. */
function textProblem(field: string, value: string, max: number): string | null {
  // UTF-16 length: never less than the code point count a JSON Schema validator may use.
  if (value.length === 0) return `${field} is empty`;
  if (value.length > max) return `${field} is longer than ${max} characters`;
  if (hasControlCharacter(value)) return `${field} contains control characters`;
  return null;
}

function optionalTextProblem(field: string, value: string | undefined, max: number): string | null {
  return value === undefined ? null : textProblem(field, value, max);
}

export function entryProblem(e: InventoryEntry): string | null {
  if (e.release.length > L.maxReleaseLength || !RELEASE_PATTERN.test(e.release))
    return "release is malformed";
  return (
    textProblem("name", e.name, L.maxNameLength) ??
    textProblem("version", e.version, L.maxVersionLength) ??
    optionalTextProblem("arch", e.arch, L.maxArchLength) ??
    optionalTextProblem("sourceName", e.sourceName, L.maxNameLength) ??
    optionalTextProblem("sourceVersion", e.sourceVersion, L.maxVersionLength) ??
    optionalTextProblem("vendor", e.vendor, L.maxTextLength)
  );
}

export function updateProblem(u: AvailableUpdate): string | null {
  if (u.kb !== undefined && !KB.test(u.kb)) return "kb is malformed";
  return (
    textProblem("name", u.name, L.maxNameLength) ??
    textProblem("availableVersion", u.availableVersion, L.maxVersionLength) ??
    (u.currentVersion === null
      ? null
      : textProblem("currentVersion", u.currentVersion, L.maxVersionLength)) ??
    optionalTextProblem("arch", u.arch, L.maxArchLength) ??
    optionalTextProblem("origin", u.origin, L.maxTextLength)
  );
}

/** The same identity as the protocol's `entryKey`: kind, ecosystem, release, name, arch, version. */
function entryIdentity(e: InventoryEntry): string {
  return [e.kind, e.ecosystem, e.release, e.name, e.arch ?? "", e.version].join("\u0000");
}

/** The same identity as the protocol's update key: ecosystem, name, arch, available version. */
function updateIdentity(u: AvailableUpdate): string {
  return [u.ecosystem, u.name, u.arch ?? "", u.availableVersion].join("\u0000");
}

/** How an entry is named in a warning; truncated and JSON-quoted so a hostile name cannot forge lines. */
const label = (ecosystem: string, name: string, version: string) =>
  `${ecosystem} ${JSON.stringify(name.slice(0, 80))} ${JSON.stringify(version.slice(0, 40))}`;

interface ListRules<T> {
  what: "package" | "update";
  max: number;
  problem: (item: T) => string | null;
  identity: (item: T) => string;
  describe: (item: T) => string;
}

/** The items that pass `problem`, each identity once, at most `max`; every dropped item is named in `warnings`. */
function keepValidUnique<T>(items: readonly T[], rules: ListRules<T>, warnings: string[]): T[] {
  const seen = new Set<string>();
  const kept: T[] = [];
  for (const item of items) {
    const why = rules.problem(item);
    if (why !== null) {
      warnings.push(`${rules.what} ${rules.describe(item)} dropped: ${why}`);
      continue;
    }
    const key = rules.identity(item);
    if (seen.has(key)) {
      warnings.push(`${rules.what} ${rules.describe(item)} listed twice; duplicate dropped`);
      continue;
    }
    seen.add(key);
    kept.push(item);
  }
  if (kept.length > rules.max) {
    warnings.push(`${kept.length - rules.max} ${rules.what} entries over the limit of ${rules.max} dropped`);
    kept.length = rules.max;
  }
  return kept;
}

/**
 * Makes an inventory the server will accept: an entry or update that breaks a protocol limit is
 * dropped with a warning naming it (truncating a name or version would report something that is
 * not installed), exact duplicates are dropped with a warning, and the lists are cut to the maximum
 * counts.
 */
export function enforceInventoryLimits(inventory: Inventory): {
  inventory: Inventory;
  warnings: string[];
} {
  const warnings: string[] = [];
  const packages = keepValidUnique(
    inventory.packages,
    {
      what: "package",
      max: L.maxPackages,
      problem: entryProblem,
      identity: entryIdentity,
      describe: (e) => label(e.ecosystem, e.name, e.version),
    },
    warnings,
  );
  const updates = keepValidUnique(
    inventory.updates,
    {
      what: "update",
      max: L.maxUpdates,
      problem: updateProblem,
      identity: updateIdentity,
      describe: (u) => label(u.ecosystem, u.name, u.availableVersion),
    },
    warnings,
  );
  return { inventory: { packages, updates }, warnings };
}
