import { errorMessage } from "./text.js";
import type { CollectorOutput, CommandRunner } from "./types.js";
import { readWindowsOsInfo } from "./windows-facts.js";
import { parseHotFixes, parseUninstallEntries } from "./windows-programs.js";
import {
  HOTFIX_SCRIPT,
  PROGRAMS_SCRIPT,
  runPowerShellJson,
  WINDOWS_UPDATE_SCRIPT,
} from "./windows-scripts.js";
import { parseWindowsUpdateSearch } from "./windows-updates.js";

/**
 * The OS build, programs, hotfixes and pending Windows Update updates. Each part that fails becomes a warning;
 * the OS build is needed to name the release, so its failure fails the collector.
 */
export async function collectWindowsInventory(runner: CommandRunner): Promise<CollectorOutput> {
  const { release, fullBuild } = await readWindowsOsInfo(runner);
  // The operating system itself, by build: Microsoft's advisories name the build that fixes it.
  const output: CollectorOutput = {
    packages: [{ kind: "package", ecosystem: "windows", release, name: "windows", version: fullBuild }],
    updates: [],
    warnings: [],
  };
  const parts = [
    {
      label: "installed programs",
      script: PROGRAMS_SCRIPT,
      parse: (json: unknown) => parseUninstallEntries(json, release),
    },
    { label: "hotfixes", script: HOTFIX_SCRIPT, parse: (json: unknown) => parseHotFixes(json, release) },
  ];
  for (const part of parts) {
    try {
      const parsed = part.parse(await runPowerShellJson(runner, part.script));
      output.packages.push(...parsed.packages);
      output.warnings.push(...parsed.problems);
    } catch (error) {
      output.warnings.push(`windows: ${part.label} not collected: ${errorMessage(error)}`);
    }
  }
  try {
    // The search may go online to Windows Update and take minutes.
    output.updates = parseWindowsUpdateSearch(
      await runPowerShellJson(runner, WINDOWS_UPDATE_SCRIPT, 900_000),
    );
  } catch (error) {
    output.warnings.push(`windows: Windows Update search failed: ${errorMessage(error)}`);
  }
  return output;
}
