import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { InventoryEntry } from "@patchpilot/protocol";
import type { CollectorOutput } from "./types.js";

export interface ApkPackage {
  name: string;
  version: string;
  arch: string | null;
  /** The origin (`o:`), i.e. the APKBUILD the package was built from; Alpine's secdb is keyed by it. */
  origin: string | null;
}

export interface ApkInstalled {
  packages: ApkPackage[];
  problems: string[];
}

/**
 * Parses apk's installed database (`/lib/apk/db/installed`): one block per package separated by a
 * blank line, each line `X:value` with a one-letter key. Only `P:` (name), `V:` (version),
 * `A:` (arch) and `o:` (origin) are used; file lists (`F:`, `R:`, `Z:` ...) are skipped.
 */
export function parseApkInstalled(text: string): ApkInstalled {
  const packages: ApkPackage[] = [];
  const problems: string[] = [];
  let block = new Map<string, string>();
  const finish = () => {
    if (block.size === 0) return;
    const name = block.get("P") ?? "";
    const version = block.get("V") ?? "";
    if (name === "" || version === "") {
      problems.push(
        `apk: package ${JSON.stringify(name || "(no name)")} has no ${name === "" ? "name" : "version"}; skipped`,
      );
    } else {
      packages.push({ name, version, arch: block.get("A") || null, origin: block.get("o") || null });
    }
    block = new Map();
  };
  for (const line of text.split("\n")) {
    if (line.trim() === "") {
      finish();
      continue;
    }
    const match = /^([A-Za-z]):(.*)$/.exec(line);
    // Keep the first value: P, V, A and o occur once per package.
    if (match && !block.has(match[1]!)) block.set(match[1]!, match[2]!.trim());
  }
  finish();
  return { packages, problems };
}

/** Alpine builds every subpackage from its origin at the same version, so the origin's version is the package's. */
export function apkEntries(packages: readonly ApkPackage[], release: string): InventoryEntry[] {
  return packages.map((p) => {
    const entry: InventoryEntry = {
      kind: "package",
      ecosystem: "apk",
      release,
      name: p.name,
      version: p.version,
    };
    if (p.arch !== null) entry.arch = p.arch;
    if (p.origin !== null) {
      entry.sourceName = p.origin;
      entry.sourceVersion = p.version;
    }
    return entry;
  });
}

export async function collectApkInventory(root: string, release: string): Promise<CollectorOutput> {
  const installed = parseApkInstalled(await readFile(join(root, "lib/apk/db/installed"), "utf8"));
  return { packages: apkEntries(installed.packages, release), updates: [], warnings: installed.problems };
}
