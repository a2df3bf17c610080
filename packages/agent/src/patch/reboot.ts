import { readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import type { RebootPolicy } from "@patchpilot/protocol";
import { findProgram } from "../collectors/detect.js";
import type { CommandRunner } from "../collectors/types.js";
import { failureReason, runLogged } from "./commands.js";
import { checkHook, type HookContext, runHook } from "./hooks.js";

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

/** Reboots put off in a row, kept across jobs and the agent's restarts. */
export interface RebootDeferrals {
  count(): Promise<number>;
  set(count: number): Promise<void>;
}

/** The count in a file of the agent's state directory, written whole (temporary file, rename). */
export function fileRebootDeferrals(stateDir: string): RebootDeferrals {
  const file = path.join(stateDir, "reboot-deferrals");
  return {
    async count() {
      const text = await readFile(file, "utf8").catch(() => "0");
      const n = Number.parseInt(text, 10);
      return Number.isInteger(n) && n >= 0 ? n : 0;
    },
    async set(count) {
      await writeFile(`${file}.tmp`, `${count}\n`, { mode: 0o600 });
      await rename(`${file}.tmp`, file);
    },
  };
}

/** The administrator's hook that says whether now is a bad time to reboot (exit 0: put it off). */
export const DEFER_REBOOT_HOOK = "defer-reboot";

/**
 * Whether the reboot is put off: only while fewer than `max` were put off in a row, and only when
 * the `defer-reboot` hook exists and exits 0 (a user is working, a batch job runs). Without the
 * hook, or once the cap is reached, the reboot goes ahead. Returns the new count when put off.
 */
export async function deferReboot(
  max: number,
  deferrals: RebootDeferrals | undefined,
  hooks: HookContext,
): Promise<{ deferred: number } | { log: string }> {
  if (!deferrals || max <= 0) return { log: "" };
  const used = await deferrals.count();
  if (used >= max) return { log: `reboot put off ${used} times in a row already; not again` };
  const checked = await checkHook(hooks.hooksDir, DEFER_REBOOT_HOOK);
  if ("refused" in checked) return { log: "" };
  const asked = await runHook({ hook: DEFER_REBOOT_HOOK, args: [], timeoutSeconds: 60 }, hooks);
  if (asked.status !== "succeeded") return { log: asked.log };
  await deferrals.set(used + 1);
  return { deferred: used + 1 };
}
