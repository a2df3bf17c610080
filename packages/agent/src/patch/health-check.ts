import type { PatchJobPayload, StepOutcome } from "@patchpilot/protocol";
import type { CommandRunner } from "../collectors/types.js";
import { runLogged, runOutput } from "./commands.js";
import { type HookContext, runHook } from "./hooks.js";
import { logExcerpt } from "./log-excerpt.js";

/** Whether one service is running, and what the service manager said. */
export type ServiceChecker = (service: string) => Promise<{ active: boolean; detail: string }>;

const CHECK = { timeoutMs: 30_000, maxOutputBytes: 1024 * 1024 };

/**
 * The service manager's own answer: `systemctl is-active` on Linux, `sc.exe query` on Windows,
 * `launchctl print system/<label>` on macOS. For another root there is no running system to ask,
 * so every service is reported inactive (tests inject a checker instead).
 */
export function systemServiceChecker(
  runner: CommandRunner,
  root = "/",
  platform: NodeJS.Platform = process.platform,
): ServiceChecker {
  if (root !== "/") {
    return async () => ({ active: false, detail: `cannot ask about services under the root ${root}` });
  }
  if (platform === "win32") {
    const sc = `${process.env.SystemRoot ?? "C:\\Windows"}\\System32\\sc.exe`;
    return async (service) => {
      const run = await runLogged(runner, sc, ["query", service], CHECK);
      const state = /STATE\s*:\s*\d+\s+(\w+)/.exec(run.stdout)?.[1] ?? "unknown";
      return { active: run.exitCode === 0 && state === "RUNNING", detail: state.toLowerCase() };
    };
  }
  if (platform === "darwin") {
    return async (service) => {
      const run = await runLogged(runner, "/bin/launchctl", ["print", `system/${service}`], CHECK);
      const state = /^\s*state = (\S+)/m.exec(run.stdout)?.[1] ?? "not loaded";
      return { active: run.exitCode === 0 && state === "running", detail: state };
    };
  }
  return async (service) => {
    const run = await runLogged(runner, "systemctl", ["is-active", service], CHECK);
    const detail = runOutput(run).trim().split("\n")[0] || `exit ${run.exitCode}`;
    return { active: run.exitCode === 0, detail };
  };
}

/**
 * After the install: every listed service must be active and the hook, if any, must exit 0. Both
 * are checked even when one fails, so the log says everything that was wrong.
 */
export async function runHealthCheck(
  check: PatchJobPayload["healthCheck"],
  services: ServiceChecker,
  hooks: HookContext,
): Promise<StepOutcome> {
  if (check === null) return { status: "skipped", exitCode: null, log: "no health check" };
  const lines: string[] = [];
  let healthy = true;
  for (const service of check.services) {
    const { active, detail } = await services(service).catch((error: unknown) => ({
      active: false,
      detail: error instanceof Error ? error.message : String(error),
    }));
    if (!active) healthy = false;
    lines.push(`service ${service}: ${active ? "active" : "NOT active"} (${detail})`);
  }
  let exitCode: number | null = null;
  if (check.hook !== null) {
    const hook = await runHook(check.hook, hooks);
    if (hook.status !== "succeeded") healthy = false;
    exitCode = hook.exitCode;
    lines.push(hook.log);
  }
  return { status: healthy ? "succeeded" : "failed", exitCode, log: logExcerpt(lines.join("\n")) };
}
