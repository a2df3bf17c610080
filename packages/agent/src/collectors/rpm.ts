import type { InventoryEntry } from "@patchpilot/protocol";
import { firstLine } from "./text.js";
import type { CollectorOutput, CommandRunner } from "./types.js";

/**
 * One record per line, fields separated by a tab: rpm package names, versions, releases and
 * architectures cannot contain whitespace, and source RPM file names are built from them.
 * Unset tags print `(none)`.
 */
export const RPM_QUERY_FORMAT = "%{NAME}\\t%{EPOCH}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\t%{SOURCERPM}\\n";

export interface RpmPackage {
  name: string;
  epoch: string | null;
  version: string;
  release: string;
  arch: string | null;
  sourceRpm: string | null;
}

export interface RpmQuery {
  packages: RpmPackage[];
  problems: string[];
}

const NONE = "(none)";
const orNull = (value: string) => (value === NONE || value === "" ? null : value);

/** Parses `rpm -qa --queryformat RPM_QUERY_FORMAT`; `gpg-pubkey` entries (imported signing keys) are skipped. */
export function parseRpmQuery(text: string): RpmQuery {
  const packages: RpmPackage[] = [];
  const problems: string[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const fields = line.split("\t");
    const [name = "", epoch = "", version = "", release = "", arch = "", sourceRpm = ""] = fields;
    if (fields.length !== 6 || name === "" || orNull(version) === null || orNull(release) === null) {
      problems.push(`rpm: unreadable record ${JSON.stringify(line.slice(0, 80))}; skipped`);
      continue;
    }
    // Imported GPG keys live in the rpm database as pseudo-packages; they are not software.
    if (name === "gpg-pubkey") continue;
    packages.push({
      name,
      epoch: orNull(epoch),
      version,
      release,
      arch: orNull(arch),
      sourceRpm: orNull(sourceRpm),
    });
  }
  return { packages, problems };
}

/**
 * `[epoch:]version-release`. The epoch is written only when it is set and not 0: rpm compares a
 * missing epoch as 0, so `0:1.0-1` and `1.0-1` are the same version, and one spelling keeps the
 * inventory (and its hash) stable when a package gains an explicit `Epoch: 0`. This is also how
 * dnf prints versions.
 */
export function rpmVersionString(epoch: string | null, version: string, release: string): string {
  const prefix = epoch !== null && epoch !== "0" ? `${epoch}:` : "";
  return `${prefix}${version}-${release}`;
}

/**
 * Splits a source RPM file name, `name-version-release.src.rpm` (or `.nosrc.rpm`): version and
 * release are the last two dash-separated parts, since neither may contain a dash.
 */
export function parseSourceRpmName(file: string): { name: string; version: string; release: string } | null {
  const match = /^(.+)-([^-]+)-([^-]+)\.(?:no)?src\.rpm$/.exec(file);
  if (!match) return null;
  return { name: match[1]!, version: match[2]!, release: match[3]! };
}

/**
 * The source package's version carries the binary's epoch: the source RPM file name has no epoch,
 * and every subpackage of a spec shares the spec's Epoch, which is how Red Hat advisories state
 * fixed source versions.
 */
export function rpmEntries(packages: readonly RpmPackage[], release: string): InventoryEntry[] {
  return packages.map((p) => {
    const source = p.sourceRpm === null ? null : parseSourceRpmName(p.sourceRpm);
    const entry: InventoryEntry = {
      kind: "package",
      ecosystem: "rpm",
      release,
      name: p.name,
      version: rpmVersionString(p.epoch, p.version, p.release),
    };
    if (p.arch !== null) entry.arch = p.arch;
    if (source) {
      entry.sourceName = source.name;
      entry.sourceVersion = rpmVersionString(p.epoch, source.version, source.release);
    }
    return entry;
  });
}

export interface RpmCollectorOptions {
  runner: CommandRunner;
  release: string;
  /** The rpm program; a bare name is looked up on PATH. */
  rpmPath?: string;
  /** `--root`, when not `/`. */
  root?: string;
  /** `--dbpath`, e.g. a temporary database in tests. */
  dbPath?: string;
}

export async function collectRpmInventory(options: RpmCollectorOptions): Promise<CollectorOutput> {
  const args: string[] = [];
  if (options.root !== undefined && options.root !== "/") args.push("--root", options.root);
  if (options.dbPath !== undefined) args.push("--dbpath", options.dbPath);
  args.push("-qa", "--queryformat", RPM_QUERY_FORMAT);
  const result = await options.runner(options.rpmPath ?? "rpm", args, {
    timeoutMs: 120_000,
    maxOutputBytes: 32 * 1024 * 1024,
  });
  if (result.timedOut) throw new Error("rpm -qa timed out");
  if (result.code !== 0) throw new Error(`rpm -qa exited with ${result.code}: ${firstLine(result.stderr)}`);
  const query = parseRpmQuery(result.stdout);
  return { packages: rpmEntries(query.packages, options.release), updates: [], warnings: query.problems };
}
