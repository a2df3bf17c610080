import { compareVersions } from "@patchpilot/domain";
import { rpmVersionString } from "../collectors/rpm.js";
import type { CommandRunner } from "../collectors/types.js";
import { runLogged } from "./commands.js";

/** name, epoch, version, release, one package per line; `rpm -q` prints "package X is not installed" otherwise. */
export const RPM_Q_FORMAT = "%{NAME}\\t%{EPOCH}\\t%{VERSION}\\t%{RELEASE}\\n";

/**
 * Parses `rpm -q --queryformat RPM_Q_FORMAT name...`: the installed `[epoch:]version-release` of
 * each name, the newest when several are installed at once (kernels), null when not installed.
 */
export function parseRpmQ(text: string, names: readonly string[]): Map<string, string | null> {
  const found = new Map<string, string | null>(names.map((n) => [n, null]));
  for (const line of text.split("\n")) {
    const [name = "", epoch = "", version = "", release = "", ...rest] = line.split("\t");
    if (rest.length > 0 || !found.has(name) || version === "" || release === "") continue;
    const evr = rpmVersionString(epoch === "(none)" ? null : epoch, version, release);
    const known = found.get(name) ?? null;
    if (known === null || newer(evr, known)) found.set(name, evr);
  }
  return found;
}

function newer(a: string, b: string): boolean {
  try {
    return compareVersions("rpm", a, b) > 0;
  } catch {
    return false;
  }
}

/** `rpm [--root R] -q --queryformat … names`: exits with the count of names not installed, so its code is not an error. */
export async function rpmInstalledVersions(
  runner: CommandRunner,
  rpm: string,
  root: string,
  names: readonly string[],
): Promise<Map<string, string | null>> {
  if (names.length === 0) return new Map();
  const rootArgs = root === "/" ? [] : ["--root", root];
  const run = await runLogged(runner, rpm, [...rootArgs, "-q", "--queryformat", RPM_Q_FORMAT, ...names], {
    timeoutMs: 120_000,
  });
  if (run.exitCode === null) throw new Error(`rpm -q failed: ${run.stderr.slice(0, 200)}`);
  return parseRpmQ(run.stdout, names);
}
