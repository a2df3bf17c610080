import Type, { type Static } from "typebox";

/**
 * What an agent reports as installed. Every entry names the ecosystem whose version order its
 * version follows (so the server compares it with the right comparator) and the distribution
 * release it came from (Debian and Ubuntu advisories are per release and per source package).
 */
export const ECOSYSTEMS = [
  "dpkg",
  "rpm",
  "apk",
  "windows",
  "windows-kb",
  "macos",
  "npm",
  "pypi",
  "maven",
  "go",
  "cargo",
  "nuget",
] as const;
export type Ecosystem = (typeof ECOSYSTEMS)[number];

/** What kind of thing an entry is: an OS package, an installed program or app, a Windows hotfix. */
export const ENTRY_KINDS = ["package", "application", "hotfix"] as const;
export type EntryKind = (typeof ENTRY_KINDS)[number];

/** Limits the server enforces on every inventory; documented in docs/agent.md. */
export const INVENTORY_LIMITS = {
  maxPackages: 50_000,
  maxUpdates: 10_000,
  maxNameLength: 256,
  maxVersionLength: 256,
  maxArchLength: 32,
  maxReleaseLength: 64,
  maxTextLength: 256,
} as const;

const L = INVENTORY_LIMITS;
// Printable text without control characters: inventory values end up in CSV exports and consoles.
const PRINTABLE = "^[^\\u0000-\\u001f\\u007f]*$";
const text = (max: number, min = 1) => Type.String({ minLength: min, maxLength: max, pattern: PRINTABLE });

/** `debian:12`, `ubuntu:22.04`, `alpine:3.19`, `rhel:9`, `windows:10.0.22631`, `macos:14`. */
export const Release = Type.String({
  minLength: 1,
  maxLength: L.maxReleaseLength,
  pattern: "^[a-z][a-z0-9._-]*:[A-Za-z0-9._~+-]+$",
});

export const EcosystemSchema = Type.Enum(ECOSYSTEMS);
export const EntryKindSchema = Type.Enum(ENTRY_KINDS);

export const InventoryEntry = Type.Object(
  {
    kind: EntryKindSchema,
    ecosystem: EcosystemSchema,
    release: Release,
    name: text(L.maxNameLength),
    version: text(L.maxVersionLength),
    arch: Type.Optional(text(L.maxArchLength)),
    /** The source package (dpkg `Source:`, apk origin, rpm source RPM) advisories are written against. */
    sourceName: Type.Optional(text(L.maxNameLength)),
    sourceVersion: Type.Optional(text(L.maxVersionLength)),
    /** Publisher or vendor (Windows programs, macOS apps). */
    vendor: Type.Optional(text(L.maxTextLength)),
  },
  { additionalProperties: false },
);
export type InventoryEntry = Static<typeof InventoryEntry>;

export const AvailableUpdate = Type.Object(
  {
    ecosystem: EcosystemSchema,
    name: text(L.maxNameLength),
    arch: Type.Optional(text(L.maxArchLength)),
    /** Null when the package manager does not say (a new dependency to be installed). */
    currentVersion: Type.Union([text(L.maxVersionLength), Type.Null()]),
    availableVersion: text(L.maxVersionLength),
    /** Repository, channel or update classification the update comes from. */
    origin: Type.Optional(text(L.maxTextLength)),
    /** Whether the package manager classes it as a security update. */
    security: Type.Boolean(),
    /** Windows: the KB article, e.g. `KB5034441`. */
    kb: Type.Optional(Type.String({ pattern: "^KB[0-9]{4,10}$", maxLength: 12 })),
  },
  { additionalProperties: false },
);
export type AvailableUpdate = Static<typeof AvailableUpdate>;

export const Inventory = Type.Object(
  {
    packages: Type.Array(InventoryEntry, { maxItems: L.maxPackages }),
    updates: Type.Array(AvailableUpdate, { maxItems: L.maxUpdates }),
  },
  { additionalProperties: false },
);
export type Inventory = Static<typeof Inventory>;

/** The identity of an entry: two entries with the same key are a duplicate. */
export function entryKey(e: InventoryEntry): string {
  return [e.kind, e.ecosystem, e.release, e.name, e.version, e.arch ?? ""].join("\t");
}

export function updateKey(u: AvailableUpdate): string {
  return [u.ecosystem, u.name, u.arch ?? "", u.availableVersion].join("\t");
}

/** The first duplicate entry or update, or null: an inventory lists each thing once. */
export function findDuplicate(inventory: Inventory): { field: string; index: number } | null {
  const seen = new Set<string>();
  for (const [index, e] of inventory.packages.entries()) {
    const key = entryKey(e);
    if (seen.has(key)) return { field: "packages", index };
    seen.add(key);
  }
  seen.clear();
  for (const [index, u] of inventory.updates.entries()) {
    const key = updateKey(u);
    if (seen.has(key)) return { field: "updates", index };
    seen.add(key);
  }
  return null;
}
