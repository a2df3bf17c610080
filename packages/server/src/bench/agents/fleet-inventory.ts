import type { Inventory, InventoryEntry } from "@patchpilot/protocol";
import { random } from "../common/random.js";

const SYLLABLES = [
  "lib",
  "ssl",
  "core",
  "net",
  "x11",
  "gtk",
  "py",
  "perl",
  "ruby",
  "util",
  "font",
  "sys",
  "db",
  "xml",
  "z",
  "gnu",
  "krb",
  "ldap",
  "http",
  "curl",
];

export interface Release {
  release: string;
  /** Packages every machine installed from this release's image has. */
  image: InventoryEntry[];
  /** Packages that some machines add for their role (web, database, build …). */
  extras: InventoryEntry[];
}

function packageName(rand: () => number, i: number): string {
  const a = SYLLABLES[Math.floor(rand() * SYLLABLES.length)] ?? "lib";
  const b = SYLLABLES[Math.floor(rand() * SYLLABLES.length)] ?? "x";
  return `${a}${b}-${i}`;
}

function debianVersion(rand: () => number, release: string): string {
  const upstream = `${1 + Math.floor(rand() * 9)}.${Math.floor(rand() * 30)}.${Math.floor(rand() * 12)}`;
  const revision = 1 + Math.floor(rand() * 4);
  const suffix = release.startsWith("ubuntu")
    ? `ubuntu${Math.floor(rand() * 3)}`
    : rand() < 0.2
      ? `+deb12u${1 + Math.floor(rand() * 3)}`
      : "";
  return `${upstream}-${revision}${suffix}`;
}

/**
 * A release's package pool: an image of `imageSize` packages and `extraCount` role packages, in
 * the shapes Debian and Ubuntu really use (binary and source names, dpkg versions, architectures).
 */
export function releasePool(release: string, imageSize: number, extraCount: number, seed: number): Release {
  const rand = random(seed);
  const make = (i: number): InventoryEntry => {
    const name = packageName(rand, i);
    const version = debianVersion(rand, release);
    return {
      kind: "package",
      ecosystem: "dpkg",
      release,
      name,
      version,
      arch: rand() < 0.15 ? "all" : "amd64",
      sourceName: name.replace(/-\d+$/, "").concat(`-src-${i % 400}`),
      sourceVersion: version,
    };
  };
  const all = Array.from({ length: imageSize + extraCount }, (_, i) => make(i));
  return { release, image: all.slice(0, imageSize), extras: all.slice(imageSize) };
}

/** One machine's inventory: the image, plus `extras` role packages chosen by its own seed. */
export function machineInventory(pool: Release, extras: number, seed: number): Inventory {
  const rand = random(seed);
  const chosen = new Set<number>();
  while (chosen.size < Math.min(extras, pool.extras.length))
    chosen.add(Math.floor(rand() * pool.extras.length));
  return {
    packages: [
      ...pool.image,
      ...[...chosen].sort((a, b) => a - b).map((i) => pool.extras[i] as InventoryEntry),
    ],
    updates: [],
  };
}

/**
 * The same machine a day later: `fraction` of its packages upgraded to a newer revision (the
 * 1 % daily churn of a fleet that patches).
 */
export function churned(inventory: Inventory, fraction: number, seed: number): Inventory {
  const rand = random(seed);
  const changed = new Set<number>();
  const count = Math.round(inventory.packages.length * fraction);
  while (changed.size < count) changed.add(Math.floor(rand() * inventory.packages.length));
  const packages = inventory.packages.map((p, i) =>
    changed.has(i) ? { ...p, version: `${p.version}.1`, sourceVersion: `${p.version}.1` } : p,
  );
  return { packages, updates: inventory.updates };
}
