import type { RebootPolicy } from "@patchpilot/protocol";
import { findProgram } from "../collectors/detect.js";
import type { CommandRunner } from "../collectors/types.js";
import { failureReason, runLogged } from "./commands.js";

/** Starts a reboot; resolves once it is scheduled, rejects when it could not be. */
export type Rebooter = () => Promise<void>;

const MESSAGE = "PatchPilot: restarting to finish installing updates";

/** `if_required` reboots only when the system says so; `always` after every job that installed. */
export function shouldReboot(policy: RebootPolicy, required: boolean): boolean {
  return policy === "always" || (policy === "if_required" && required);
}

/**
 * The system's own shutdown command, one minute out: long enough for the agent to queue the job's
 * result on disk (and usually to deliver it) before the machine goes down. For another root the
 * agent never reboots the machine it runs on.
 */
export function systemRebooter(
  runner: CommandRunner,
  root = "/",
  platform: NodeJS.Platform = process.platform,
): Rebooter {
  return async () => {
    if (root !== "/") throw new Error(`not rebooting this machine for the root ${root}`);
    let program: string;
    let args: string[];
    if (platform === "win32") {
      program = `${process.env.SystemRoot ?? "C:\\Windows"}\\System32\\shutdown.exe`;
      args = ["/r", "/t", "60", "/c", MESSAGE];
    } else {
      program = (await findProgram("/", "shutdown")) ?? "/sbin/shutdown";
      args = ["-r", "+1", MESSAGE];
    }
    const run = await runLogged(runner, program, args, { timeoutMs: 60_000 });
    if (run.exitCode !== 0) throw new Error(`${run.command} failed: ${failureReason(run)}`);
  };
}
