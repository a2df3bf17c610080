import type { Inventory } from "@patchpilot/protocol";
import { enforceInventoryLimits } from "./limits.js";
import { collectLinuxInventory } from "./linux-inventory.js";
import { collectMacosInventory } from "./macos.js";
import { runCommand } from "./run-command.js";
import { errorMessage } from "./text.js";
import type { CollectorOutput, CommandRunner } from "./types.js";
import { collectWindowsInventory } from "./windows.js";

export { type CollectFactsOptions, collectFacts } from "./facts.js";
export { CommandOutputLimitError, runCommand } from "./run-command.js";
export type { CommandResult, CommandRunner, RunOptions } from "./types.js";

export interface CollectInventoryOptions {
  /** The filesystem root to inventory (Linux); `/` on a live system. */
  root?: string;
  runner?: CommandRunner;
  /** Defaults to `process.platform`. */
  platform?: NodeJS.Platform;
  /** Whether to ask the package managers for available updates (default true). */
  updates?: boolean;
}

/**
 * What is installed and what updates are available, from every collector that applies to this
 * platform and the package managers present. A collector that fails adds a warning instead of
 * failing the inventory (except an unreadable dpkg status file, which throws). The result keeps to
 * the protocol's limits and lists each thing once; anything dropped is named in a warning.
 */
export async function collectInventory(
  options: CollectInventoryOptions = {},
): Promise<{ inventory: Inventory; warnings: string[] }> {
  const runner = options.runner ?? runCommand;
  const platform = options.platform ?? process.platform;
  let output: CollectorOutput;
  if (platform === "win32" || platform === "darwin") {
    const collect = platform === "win32" ? collectWindowsInventory : collectMacosInventory;
    try {
      output = await collect(runner);
    } catch (error) {
      output = {
        packages: [],
        updates: [],
        warnings: [`${platform} inventory failed: ${errorMessage(error)}`],
      };
    }
  } else {
    output = await collectLinuxInventory({
      root: options.root ?? "/",
      runner,
      updates: options.updates ?? true,
    });
  }
  const limited = enforceInventoryLimits({ packages: output.packages, updates: output.updates });
  return { inventory: limited.inventory, warnings: [...output.warnings, ...limited.warnings] };
}
