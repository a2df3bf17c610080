import { parseSystemProfilerApps } from "./macos-apps.js";
import { macosRelease, readSwVers } from "./macos-facts.js";
import { parseSoftwareUpdateList, softwareUpdateToUpdates } from "./macos-softwareupdate.js";
import { errorMessage, firstLine } from "./text.js";
import type { CollectorOutput, CommandRunner } from "./types.js";

/** The OS version, applications and pending software updates. The OS version names the release, so its failure fails the collector. */
export async function collectMacosInventory(runner: CommandRunner): Promise<CollectorOutput> {
  const vers = await readSwVers(runner);
  const release = macosRelease(vers.productVersion);
  // The operating system itself, by version: what Apple's fixes and NVD's apple:macos CPEs name.
  const system = {
    kind: "package" as const,
    ecosystem: "macos" as const,
    release,
    name: "macos",
    version: vers.productVersion,
  };
  const output: CollectorOutput = { packages: [system], updates: [], warnings: [] };
  try {
    const result = await runner("/usr/sbin/system_profiler", ["SPApplicationsDataType", "-json"], {
      timeoutMs: 300_000,
      maxOutputBytes: 64 * 1024 * 1024,
    });
    if (result.code !== 0) throw new Error(`exit ${result.code}: ${firstLine(result.stderr)}`);
    const json: unknown = JSON.parse(result.stdout);
    const apps = parseSystemProfilerApps(json, release);
    output.packages.push(...apps.packages);
    output.warnings.push(...apps.problems);
  } catch (error) {
    output.warnings.push(`macos: applications not collected: ${errorMessage(error)}`);
  }
  try {
    // softwareupdate asks Apple's servers and can take minutes.
    const result = await runner("/usr/sbin/softwareupdate", ["--list"], {
      timeoutMs: 600_000,
      maxOutputBytes: 4 * 1024 * 1024,
    });
    if (result.code !== 0) throw new Error(`exit ${result.code}: ${firstLine(result.stderr)}`);
    output.updates = softwareUpdateToUpdates(
      parseSoftwareUpdateList(result.stdout),
      vers.productVersion,
      output.packages,
    );
  } catch (error) {
    output.warnings.push(`macos: softwareupdate --list failed: ${errorMessage(error)}`);
  }
  return output;
}
