import type { AvailableUpdate } from "@patchpilot/protocol";
import { firstLine } from "./text.js";
import type { CommandRunner, ProgramOptions } from "./types.js";

/**
 * `dist-upgrade` rather than `upgrade`: `upgrade` holds back any update that needs a new package,
 * and the commonest such update is a kernel ABI bump, i.e. a security fix. A package the
 * simulation would newly install (the new kernel image) is listed with `currentVersion: null`.
 */
export const APT_SIMULATE_ARGS = ["-s", "-o", "Debug::NoLocking=1", "dist-upgrade"] as const;

// Inst NAME [OLD] (NEW ORIGIN:VERSION/SUITE, ORIGIN:VERSION/SUITE [ARCH]) [...]
const INST = /^Inst (\S+)(?: \[([^\]]*)\])? \((\S+)(?: (.*?))? \[([^\]\s]+)\]\)/;

/** An origin such as `Debian-Security:12/stable-security` or `Ubuntu:22.04/jammy-security`. */
export function isSecurityOrigin(origins: string): boolean {
  return /-security\b/i.test(origins) || /\bDebian-Security\b/.test(origins);
}

/** Parses the `Inst` lines of `apt-get -s` output; `Conf`, `Remv` and any other lines are ignored. */
export function parseAptSimulation(text: string): AvailableUpdate[] {
  const updates: AvailableUpdate[] = [];
  for (const line of text.split("\n")) {
    const match = INST.exec(line);
    if (!match) continue;
    const [, rawName = "", current, available = "", origins = "", arch = ""] = match;
    // apt writes a foreign-architecture package as name:arch; the arch is its own field here.
    const name = rawName.endsWith(`:${arch}`) ? rawName.slice(0, -arch.length - 1) : rawName;
    const update: AvailableUpdate = {
      ecosystem: "dpkg",
      name,
      arch,
      currentVersion: current === undefined || current === "" ? null : current,
      availableVersion: available,
      security: isSecurityOrigin(origins),
    };
    if (origins.trim() !== "") update.origin = origins.trim();
    updates.push(update);
  }
  return updates;
}

export async function collectAptUpdates(
  runner: CommandRunner,
  options: ProgramOptions = {},
): Promise<AvailableUpdate[]> {
  const root = options.root ?? "/";
  const args = root === "/" ? APT_SIMULATE_ARGS : ["-o", `Dir=${root}`, ...APT_SIMULATE_ARGS];
  const result = await runner(options.program ?? "apt-get", args, {
    timeoutMs: 180_000,
    maxOutputBytes: 16 * 1024 * 1024,
  });
  if (result.timedOut) throw new Error("apt-get -s timed out");
  if (result.code !== 0)
    throw new Error(`apt-get -s exited with ${result.code}: ${firstLine(result.stderr)}`);
  return parseAptSimulation(result.stdout);
}
