import type { AvailableUpdate, InventoryEntry } from "@patchpilot/protocol";
import { firstLine } from "./text.js";
import type { CommandRunner, ProgramOptions } from "./types.js";

export const DNF_CHECK_UPDATE_ARGS = ["-q", "check-update"] as const;
export const DNF_SECURITY_ARGS = ["-q", "updateinfo", "list", "--security"] as const;
/** `check-update` exits 100 when updates are available, 0 when none, 1 on error. */
const UPDATES_AVAILABLE = 100;

const NAME_ARCH = /^(.+)\.([A-Za-z0-9_]+)$/;
// [epoch:]version-release; neither version nor release contains a dash.
const EVR = /^(?:\d+:)?[^\s:-]+-[^\s-]+$/;

export interface DnfCheckUpdate {
  name: string;
  arch: string;
  version: string;
  repo: string;
}

/**
 * Parses `dnf -q check-update` (also yum's): `name.arch  [epoch:]version-release  repo` rows. When a
 * name is too long for its column dnf prints it alone and continues the row on the next line. The
 * "Obsoleting Packages" section that may follow repeats packages with what they replace, and ends the list.
 */
export function parseDnfCheckUpdate(text: string): DnfCheckUpdate[] {
  const rows: DnfCheckUpdate[] = [];
  let pending: string[] = [];
  for (const line of text.split("\n")) {
    if (/^Obsoleting Packages/.test(line)) break;
    const tokens = [
      ...pending,
      ...line
        .trim()
        .split(/\s+/)
        .filter((t) => t !== ""),
    ];
    pending = [];
    if (tokens.length === 1 && NAME_ARCH.test(tokens[0]!)) {
      pending = tokens;
      continue;
    }
    if (tokens.length !== 3) continue;
    const [nameArch = "", version = "", repo = ""] = tokens;
    const match = NAME_ARCH.exec(nameArch);
    if (!match || !EVR.test(version)) continue;
    rows.push({ name: match[1]!, arch: match[2]!, version, repo });
  }
  return rows;
}

// name-[epoch:]version-release.arch
const NEVRA = /^(.+)-((?:\d+:)?[^\s:-]+-[^\s-]+)\.([A-Za-z0-9_]+)$/;

/**
 * The `name.arch` of every package named by `dnf updateinfo list --security`. dnf 4 prints
 * `ADVISORY  SEVERITY/Sec.  NEVRA`; dnf 5 prints `ADVISORY  security  SEVERITY  NEVRA  ISSUED`; the
 * NEVRA is the one token shaped like one.
 */
export function parseDnfSecurityList(text: string): Set<string> {
  const keys = new Set<string>();
  for (const line of text.split("\n")) {
    for (const token of line.trim().split(/\s+/)) {
      const match = NEVRA.exec(token);
      if (match) {
        keys.add(`${match[1]}.${match[3]}`);
        break;
      }
    }
  }
  return keys;
}

/**
 * check-update does not print the installed version, so it comes from the rpm inventory; a package
 * installed in several versions at once (kernels) gets null rather than a guess.
 */
export function dnfUpdates(
  rows: readonly DnfCheckUpdate[],
  security: ReadonlySet<string>,
  installed: readonly InventoryEntry[],
): AvailableUpdate[] {
  const versions = new Map<string, string[]>();
  for (const e of installed) {
    if (e.ecosystem !== "rpm") continue;
    const key = `${e.name}.${e.arch ?? ""}`;
    versions.set(key, [...(versions.get(key) ?? []), e.version]);
  }
  return rows.map((row) => {
    const current = versions.get(`${row.name}.${row.arch}`) ?? [];
    return {
      ecosystem: "rpm",
      name: row.name,
      arch: row.arch,
      currentVersion: current.length === 1 ? current[0]! : null,
      availableVersion: row.version,
      origin: row.repo,
      security: security.has(`${row.name}.${row.arch}`),
    };
  });
}

/** `dnf` or, on CentOS 7 and older, `yum`, which prints the same formats. */
export async function collectDnfUpdates(
  runner: CommandRunner,
  installed: readonly InventoryEntry[],
  programOptions: ProgramOptions = {},
): Promise<{ updates: AvailableUpdate[]; warnings: string[] }> {
  const program = programOptions.program ?? "dnf";
  const root = programOptions.root ?? "/";
  const rootArgs = root === "/" ? [] : [`--installroot=${root}`];
  const options = { timeoutMs: 300_000, maxOutputBytes: 16 * 1024 * 1024 };
  const check = await runner(program, [...rootArgs, ...DNF_CHECK_UPDATE_ARGS], options);
  if (check.timedOut) throw new Error(`${program} check-update timed out`);
  if (check.code !== 0 && check.code !== UPDATES_AVAILABLE) {
    throw new Error(`${program} check-update exited with ${check.code}: ${firstLine(check.stderr)}`);
  }
  const rows = parseDnfCheckUpdate(check.stdout);
  if (rows.length === 0) return { updates: [], warnings: [] };
  const warnings: string[] = [];
  let security = new Set<string>();
  const advisories = await runner(program, [...rootArgs, ...DNF_SECURITY_ARGS], options);
  if (advisories.code === 0) security = parseDnfSecurityList(advisories.stdout);
  else {
    warnings.push(
      `${program} updateinfo failed (${advisories.timedOut ? "timed out" : `exit ${advisories.code}`}); ` +
        "updates are listed without their security classification",
    );
  }
  return { updates: dnfUpdates(rows, security, installed), warnings };
}
