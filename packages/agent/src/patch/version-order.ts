import { compareVersions } from "@patchpilot/domain";
import type { PatchExecutor } from "./types.js";

/**
 * -1, 0 or 1 by the manager's own version ordering; null when the manager has none the agent knows
 * (winget, Windows Update) or a version does not parse, in which case only equal strings are equal.
 */
export function compareInstalled(
  ecosystem: PatchExecutor["versionEcosystem"],
  a: string,
  b: string,
): number | null {
  if (a === b) return 0;
  if (ecosystem === null) return null;
  try {
    return compareVersions(ecosystem, a, b);
  } catch {
    return null;
  }
}

/** Whether `installed` is the `target` version or newer. */
export function isAtLeast(ecosystem: PatchExecutor["versionEcosystem"], installed: string, target: string) {
  const order = compareInstalled(ecosystem, installed, target);
  return order !== null && order >= 0;
}
