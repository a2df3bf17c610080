import { createHash } from "node:crypto";
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
  return [e.kind, e.ecosystem, e.release, e.name, e.arch ?? "", e.version].join("\u0000");
}

function updateKey(u: AvailableUpdate): string {
  return [u.ecosystem, u.name, u.arch ?? "", u.availableVersion].join("\u0000");
}

/** One line per entry, field order fixed, so agent and server hash the same bytes. */
export function entryLine(e: InventoryEntry): string {
  return JSON.stringify([
    "p",
    e.kind,
    e.ecosystem,
    e.release,
    e.name,
    e.version,
    e.arch ?? null,
    e.sourceName ?? null,
    e.sourceVersion ?? null,
    e.vendor ?? null,
  ]);
}

export function updateLine(u: AvailableUpdate): string {
  return JSON.stringify([
    "u",
    u.ecosystem,
    u.name,
    u.arch ?? null,
    u.currentVersion,
    u.availableVersion,
    u.origin ?? null,
    u.security,
    u.kb ?? null,
  ]);
}

/** SHA-256 of an entry's line: its identity in the server's catalogue and its share of the hash. */
export function entryDigest(e: InventoryEntry): Buffer {
  return createHash("sha256").update(entryLine(e)).digest();
}

export function updateDigest(u: AvailableUpdate): Buffer {
  return createHash("sha256").update(updateLine(u)).digest();
}

const MODULUS = 1n << 256n;

/**
 * The inventory hash an agent sends on every check-in: the sum, modulo 2^256, of every entry's
 * and update's digest, as 64 hex digits. A sum does not depend on the order things were collected
 * in, and it can be moved by a change without rereading the rest: the server adds the digests of
 * what was added and subtracts those of what was removed. It detects change; it is not a
 * signature (the agent that computes it is the authority on its own inventory anyway).
 */
export class InventoryHash {
  #sum = 0n;

  static of(inventory: Inventory): InventoryHash {
    const hash = new InventoryHash();
    for (const e of inventory.packages) hash.add(entryDigest(e));
    for (const u of inventory.updates) hash.add(updateDigest(u));
    return hash;
  }

  static fromHex(hex: string): InventoryHash {
    if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error("an inventory hash is 64 lowercase hex digits");
    const hash = new InventoryHash();
    hash.#sum = BigInt(`0x${hex}`);
    return hash;
  }

  add(digest: Buffer): this {
    this.#sum = (this.#sum + digestValue(digest)) % MODULUS;
    return this;
  }

  remove(digest: Buffer): this {
    this.#sum = (this.#sum - digestValue(digest) + MODULUS) % MODULUS;
    return this;
  }

  toHex(): string {
    return this.#sum.toString(16).padStart(64, "0");
  }
}

function digestValue(digest: Buffer): bigint {
  if (digest.length !== 32) throw new Error("a digest is 32 bytes");
  return (
    (digest.readBigUInt64BE(0) << 192n) |
    (digest.readBigUInt64BE(8) << 128n) |
    (digest.readBigUInt64BE(16) << 64n) |
    digest.readBigUInt64BE(24)
  );
}

export function inventoryHash(inventory: Inventory): string {
  return InventoryHash.of(inventory).toHex();
}

export const InventoryHashSchema = Type.String({ pattern: "^[0-9a-f]{64}$", minLength: 64, maxLength: 64 });

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
