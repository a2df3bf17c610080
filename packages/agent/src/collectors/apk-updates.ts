import type { AvailableUpdate, InventoryEntry } from "@patchpilot/protocol";
import { firstLine } from "./text.js";
import type { CommandRunner, ProgramOptions } from "./types.js";

/** `-l '<'`: only packages whose available version is newer. The `<` is one argv element, not shell syntax. */
export const APK_VERSION_ARGS = ["version", "-l", "<"] as const;

// name-version-rN: apk versions always end in -r<number>, and the version itself has no dash.
const PKGVER = /^(.+)-([^-]+-r\d+)$/;

/**
 * Parses `apk version -l '<'`: a header line, then `name-version  <  newversion`. The installed
 * inventory splits name from version where it can (it knows the exact pair), and supplies the arch.
 * apk does not classify updates, so none is marked security.
 */
export function parseApkVersionList(text: string, installed: readonly InventoryEntry[]): AvailableUpdate[] {
  const byPkgver = new Map<string, InventoryEntry>();
  for (const e of installed) if (e.ecosystem === "apk") byPkgver.set(`${e.name}-${e.version}`, e);
  const updates: AvailableUpdate[] = [];
  for (const line of text.split("\n")) {
    const [pkgver = "", relation = "", available = "", ...rest] = line.trim().split(/\s+/);
    if (relation !== "<" || available === "" || rest.length > 0) continue;
    const known = byPkgver.get(pkgver);
    const split = PKGVER.exec(pkgver);
    const name = known?.name ?? split?.[1];
    const current = known?.version ?? split?.[2];
    if (name === undefined || current === undefined) continue;
    const update: AvailableUpdate = {
      ecosystem: "apk",
      name,
      currentVersion: current,
      availableVersion: available,
      security: false,
    };
    if (known?.arch !== undefined) update.arch = known.arch;
    updates.push(update);
  }
  return updates;
}

export async function collectApkUpdates(
  runner: CommandRunner,
  installed: readonly InventoryEntry[],
  options: ProgramOptions = {},
): Promise<AvailableUpdate[]> {
  const root = options.root ?? "/";
  const args = root === "/" ? APK_VERSION_ARGS : ["--root", root, ...APK_VERSION_ARGS];
  const result = await runner(options.program ?? "apk", args, {
    timeoutMs: 120_000,
    maxOutputBytes: 8 * 1024 * 1024,
  });
  if (result.timedOut) throw new Error("apk version timed out");
  if (result.code !== 0)
    throw new Error(`apk version exited with ${result.code}: ${firstLine(result.stderr)}`);
  return parseApkVersionList(result.stdout, installed);
}
