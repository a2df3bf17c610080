import Type, { type Static } from "typebox";
import {
  type AvailableUpdate,
  AvailableUpdate as AvailableUpdateSchema,
  ECOSYSTEMS,
  ENTRY_KINDS,
  INVENTORY_LIMITS,
  type Inventory,
  type InventoryEntry,
} from "./inventory.js";

/**
 * On the wire an installed entry is one line: its fields joined by TAB, which no field may contain
 * (control characters are not allowed in any inventory value). The line is also the entry's
 * identity: its SHA-256 is its share of the inventory hash and its key in the server's catalogue,
 * so the server hashes exactly the bytes it received and parses the fields only of entries it has
 * not seen before.
 *
 *   p TAB kind TAB ecosystem TAB release TAB name TAB version TAB arch TAB sourceName TAB sourceVersion TAB vendor
 *
 * An optional field that is absent is empty (a present field is never empty).
 */
const L = INVENTORY_LIMITS;
const value = (max: number) => `[^\\t\\u0000-\\u001f\\u007f]{1,${max}}`;
const optional = (max: number) => `(?:${value(max)})?`;

export const ENTRY_LINE_PATTERN = [
  "^p",
  `(?:${ENTRY_KINDS.join("|")})`,
  `(?:${ECOSYSTEMS.join("|")})`,
  `[a-z][a-z0-9._-]{0,30}:[A-Za-z0-9._~+-]{1,32}`,
  value(L.maxNameLength),
  value(L.maxVersionLength),
  optional(L.maxArchLength),
  optional(L.maxNameLength),
  optional(L.maxVersionLength),
  optional(L.maxTextLength),
]
  .join("\\t")
  .concat("$");

export const EntryLine = Type.String({
  pattern: ENTRY_LINE_PATTERN,
  maxLength: 1200,
  description:
    "An installed entry: p, kind, ecosystem, release, name, version, arch, source name, source version, vendor, joined by TAB.",
});

export const EntryLines = Type.Array(EntryLine, { maxItems: L.maxPackages });

/** The inventory as it is uploaded: entries as lines, updates as objects. */
export const WireInventory = Type.Object(
  {
    packages: EntryLines,
    updates: Type.Array(AvailableUpdateSchema, { maxItems: L.maxUpdates }),
  },
  { additionalProperties: false },
);
export type WireInventory = Static<typeof WireInventory>;

export function entryLine(e: InventoryEntry): string {
  return [
    "p",
    e.kind,
    e.ecosystem,
    e.release,
    e.name,
    e.version,
    e.arch ?? "",
    e.sourceName ?? "",
    e.sourceVersion ?? "",
    e.vendor ?? "",
  ].join("\t");
}

/** The entry a line stands for; the line must already match ENTRY_LINE_PATTERN. */
export function parseEntryLine(line: string): InventoryEntry {
  const [, kind, ecosystem, release, name, version, arch, sourceName, sourceVersion, vendor] =
    line.split("\t");
  const entry: InventoryEntry = {
    kind: kind as InventoryEntry["kind"],
    ecosystem: ecosystem as InventoryEntry["ecosystem"],
    release: release ?? "",
    name: name ?? "",
    version: version ?? "",
  };
  if (arch) entry.arch = arch;
  if (sourceName) entry.sourceName = sourceName;
  if (sourceVersion) entry.sourceVersion = sourceVersion;
  if (vendor) entry.vendor = vendor;
  return entry;
}

/** The part of a line two entries may not share: kind, ecosystem, release, name, version, arch. */
export function entryLineKey(line: string): string {
  let at = -1;
  for (let i = 0; i < 7; i++) {
    at = line.indexOf("\t", at + 1);
    if (at < 0) return line;
  }
  return line.slice(0, at);
}

export function updateLine(u: AvailableUpdate): string {
  return [
    "u",
    u.ecosystem,
    u.name,
    u.arch ?? "",
    u.currentVersion ?? "",
    u.availableVersion,
    u.origin ?? "",
    u.security ? "1" : "0",
    u.kb ?? "",
  ].join("\t");
}

export function toWireInventory(inventory: Inventory): WireInventory {
  return { packages: inventory.packages.map(entryLine), updates: inventory.updates };
}

/** The index of the first line listed twice (or twice with the same identity), or -1. */
export function duplicateLine(lines: readonly string[]): number {
  const seen = new Set<string>();
  for (let i = 0; i < lines.length; i++) {
    const key = entryLineKey(lines[i] as string);
    if (seen.has(key)) return i;
    seen.add(key);
  }
  return -1;
}
