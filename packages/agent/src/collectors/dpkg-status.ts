import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { InventoryEntry } from "@patchpilot/protocol";
import { parseControlStanzas } from "./control-file.js";
import type { CollectorOutput } from "./types.js";

/** One package from /var/lib/dpkg/status whose files are on disk. */
export interface DpkgPackage {
  name: string;
  version: string;
  architecture: string;
  /** The third word of `Status:`, e.g. `installed`, `half-configured`. */
  state: string;
  /** The first word of `Status:`: `install`, `hold`, `deinstall` or `purge`. */
  want: string;
  sourceName: string;
  sourceVersion: string;
}

export interface DpkgStatus {
  packages: DpkgPackage[];
  /** Stanzas that were read but are not reported, with why; each becomes a warning. */
  problems: string[];
}

/**
 * Which dpkg states are reported. The third word of `Status:` is what is on disk; the first word
 * (`install`, `hold`, `deinstall`, `purge`) is only the administrator's selection, so
 * `hold ok installed` is reported (held packages are exactly the ones that stop getting fixes), as is
 * `deinstall ok installed` (selected for removal, still there).
 *
 * - installed, triggers-pending, triggers-awaited: configured; reported.
 * - unpacked, half-configured: the files, vulnerable code included, are on disk even though
 *   configuration did not finish; reported.
 * - half-installed: unpacking stopped part-way, so the files are a mix of two versions and the
 *   recorded version says nothing reliable; not reported, but named in a warning.
 * - config-files, not-installed: no program files; not reported.
 */
const REPORTED_STATES = new Set([
  "installed",
  "triggers-pending",
  "triggers-awaited",
  "unpacked",
  "half-configured",
]);
const SILENT_STATES = new Set(["not-installed", "config-files"]);
const WANTS = new Set(["unknown", "install", "hold", "deinstall", "purge"]);
const FLAGS = new Set(["ok", "reinstreq"]);

/** The status file has content but not one stanza could be read: an error, not an empty inventory. */
export class DpkgStatusParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DpkgStatusParseError";
  }
}

/** Parses the text of /var/lib/dpkg/status. */
export function parseDpkgStatus(text: string): DpkgStatus {
  const packages: DpkgPackage[] = [];
  const problems: string[] = [];
  let understood = 0;
  const stanzas = parseControlStanzas(text);
  for (const [index, stanza] of stanzas.entries()) {
    const f = stanza.fields;
    const name = f.get("package") ?? "";
    const label = name === "" ? `stanza ${index + 1}` : name;
    if (name === "" || stanza.badLine !== null) {
      problems.push(`dpkg status: ${label} is malformed; skipped`);
      continue;
    }
    const [want = "", flag = "", state = "", ...rest] = (f.get("status") ?? "").split(/\s+/);
    if (!WANTS.has(want) || !FLAGS.has(flag) || rest.length > 0) {
      problems.push(`dpkg status: ${label} has an unreadable Status; skipped`);
      continue;
    }
    if (SILENT_STATES.has(state)) {
      understood++;
      continue;
    }
    if (state === "half-installed") {
      understood++;
      problems.push(`dpkg status: ${label} is half-installed; not reported until it is reinstalled`);
      continue;
    }
    if (!REPORTED_STATES.has(state)) {
      problems.push(`dpkg status: ${label} has unknown state "${state}"; skipped`);
      continue;
    }
    const version = f.get("version") ?? "";
    const architecture = f.get("architecture") ?? "";
    if (version === "" || architecture === "") {
      problems.push(`dpkg status: ${label} has no Version or Architecture; skipped`);
      continue;
    }
    understood++;
    packages.push({ name, version, architecture, state, want, ...sourceOf(f.get("source"), name, version) });
  }
  if (understood === 0 && text.trim() !== "") {
    throw new DpkgStatusParseError(`dpkg status: none of ${stanzas.length} stanzas could be read`);
  }
  return { packages, problems };
}

/**
 * `Source: name (version)` when the source version differs from the binary's (binNMUs, packages
 * built from an older source), `Source: name` when only the name differs, and no field when both
 * equal the binary's.
 */
function sourceOf(field: string | undefined, name: string, version: string) {
  const match = /^(\S+)(?:\s+\((\S+)\))?$/.exec(field?.trim() ?? "");
  if (!match) return { sourceName: name, sourceVersion: version };
  return { sourceName: match[1]!, sourceVersion: match[2] ?? version };
}

export function dpkgEntries(packages: readonly DpkgPackage[], release: string): InventoryEntry[] {
  return packages.map((p) => ({
    kind: "package",
    ecosystem: "dpkg",
    release,
    name: p.name,
    version: p.version,
    arch: p.architecture,
    sourceName: p.sourceName,
    sourceVersion: p.sourceVersion,
  }));
}

/**
 * Reads `<root>/var/lib/dpkg/status` (root is `/` on a live system, or a sandbox as for
 * `dpkg --root`). A missing file or a file with no readable stanza throws: the caller only runs this
 * collector when the file exists.
 */
export async function collectDpkgInventory(root: string, release: string): Promise<CollectorOutput> {
  const status = parseDpkgStatus(await readFile(join(root, "var/lib/dpkg/status"), "utf8"));
  return { packages: dpkgEntries(status.packages, release), updates: [], warnings: status.problems };
}
