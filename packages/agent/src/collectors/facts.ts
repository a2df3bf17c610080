import type { DeviceFacts } from "@patchpilot/protocol";
import { collectLinuxFacts } from "./linux-facts.js";
import { collectMacosFacts } from "./macos-facts.js";
import { runCommand } from "./run-command.js";
import type { CommandRunner } from "./types.js";
import { collectWindowsFacts } from "./windows-facts.js";

export interface CollectFactsOptions {
  /** The filesystem root to read (Linux); `/` on a live system, a directory in tests. */
  root?: string;
  agentVersion: string;
  runner?: CommandRunner;
  /** Defaults to `process.platform`; tests set it to exercise another platform's collector on recorded output. */
  platform?: NodeJS.Platform;
}

/** What the device says about itself, and its hardware id (machine-id, MachineGuid or IOPlatformUUID). */
export async function collectFacts(
  options: CollectFactsOptions,
): Promise<{ facts: DeviceFacts; hardwareId: string }> {
  const runner = options.runner ?? runCommand;
  const platform = options.platform ?? process.platform;
  if (platform === "win32") return collectWindowsFacts(runner, options.agentVersion);
  if (platform === "darwin") return collectMacosFacts(runner, options.agentVersion);
  return collectLinuxFacts({ root: options.root ?? "/", agentVersion: options.agentVersion, runner });
}
