import { spawn } from "node:child_process";
import { lstat, realpath, stat } from "node:fs/promises";
import { join } from "node:path";
import type { HookCommand, StepOutcome } from "@patchpilot/protocol";
import { errorMessage } from "../collectors/text.js";
import { logExcerpt } from "./log-excerpt.js";

export const DEFAULT_HOOKS_DIR = "/etc/patchpilot/hooks";

export interface HookContext {
  hooksDir: string;
  /** What the hook is told of the job (added to its otherwise minimal environment). */
  env?: Record<string, string>;
}

/** Output kept while a hook runs; its last 4 KiB end up in the step's log. */
const KEEP_BYTES = 64 * 1024;
const GROUP_OR_WORLD_WRITABLE = 0o022;
/** Hooks get this PATH, not the agent's. */
const HOOK_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export const refusedStep = (reason: string): StepOutcome => ({
  status: "failed",
  exitCode: null,
  log: reason,
});

function ownerProblem(uid: number): string | null {
  const self = process.getuid?.() ?? 0;
  return uid === 0 || uid === self ? null : `is owned by uid ${uid}, neither root nor the agent's user`;
}

/**
 * The hook's path if it may run, else why not. A hook is a program an administrator installed in
 * the hooks directory: a regular file (not a link) that only its owner can change, in a directory
 * only its owner can change, both owned by root or the agent's user. Anything else could have been
 * put there by someone who should not choose what the agent runs.
 */
export async function checkHook(
  hooksDir: string,
  name: string,
): Promise<{ path: string } | { refused: string }> {
  if (process.platform === "win32") {
    return { refused: "hooks are not supported on Windows (their permissions cannot be checked)" };
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(name))
    return { refused: `invalid hook name ${JSON.stringify(name)}` };
  let dir: string;
  try {
    dir = await realpath(hooksDir);
    const info = await stat(dir);
    if (!info.isDirectory()) return { refused: `the hooks directory ${hooksDir} is not a directory` };
    if (info.mode & GROUP_OR_WORLD_WRITABLE) {
      return { refused: `the hooks directory ${hooksDir} is group- or world-writable` };
    }
    const owner = ownerProblem(info.uid);
    if (owner) return { refused: `the hooks directory ${hooksDir} ${owner}` };
  } catch (error) {
    return { refused: `the hooks directory ${hooksDir} cannot be used: ${errorMessage(error)}` };
  }
  const path = join(dir, name);
  try {
    const info = await lstat(path);
    if (info.isSymbolicLink()) return { refused: `hook ${name} is a symbolic link` };
    if (!info.isFile()) return { refused: `hook ${name} is not a regular file` };
    if (info.mode & GROUP_OR_WORLD_WRITABLE) return { refused: `hook ${name} is group- or world-writable` };
    const owner = ownerProblem(info.uid);
    if (owner) return { refused: `hook ${name} ${owner}` };
    if (!(info.mode & 0o100)) return { refused: `hook ${name} is not executable` };
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
    return { refused: missing ? `no hook ${name} in ${hooksDir}` : `hook ${name}: ${errorMessage(error)}` };
  }
  return { path };
}

/**
 * Runs `<hooksDir>/<hook>` with its arguments as separate argv elements (no shell), from the hooks
 * directory, with a minimal environment (never the agent's: no tokens, no proxies). The hook and
 * every process it started are killed at the timeout. Exit status 0 is success.
 */
export async function runHook(hook: HookCommand, context: HookContext): Promise<StepOutcome> {
  const checked = await checkHook(context.hooksDir, hook.hook);
  if ("refused" in checked) return refusedStep(`hook refused: ${checked.refused}`);
  const started = Date.now();
  return new Promise<StepOutcome>((resolve) => {
    let output = Buffer.alloc(0);
    const keep = (chunk: Buffer) => {
      output = Buffer.concat([output, chunk]);
      if (output.length > KEEP_BYTES) output = output.subarray(output.length - KEEP_BYTES);
    };
    const child = spawn(checked.path, hook.args, {
      shell: false,
      cwd: "/",
      // Its own process group, so a timeout also ends what the hook started.
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { PATH: HOOK_PATH, LC_ALL: "C", HOME: "/", ...context.env },
    });
    let timedOut = false;
    let settled = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    }, hook.timeoutSeconds * 1000);
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    const finish = (outcome: StepOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    child.on("error", (error) => finish(refusedStep(`hook ${hook.hook} could not start: ${error.message}`)));
    child.on("exit", () => {
      // A background process the hook left behind may hold its output open; stop reading soon.
      setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
      }, 1000).unref();
    });
    child.on("close", (code, signal) => {
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      const text = output.toString("utf8");
      if (timedOut) {
        finish({
          status: "failed",
          exitCode: null,
          log: logExcerpt(`${text}\nhook ${hook.hook} timed out after ${hook.timeoutSeconds} s; killed`),
        });
        return;
      }
      const ended = code === null ? `was killed by ${signal}` : `exited with ${code}`;
      finish({
        status: code === 0 ? "succeeded" : "failed",
        exitCode: code,
        log: logExcerpt(`${text}\nhook ${hook.hook} ${ended} after ${seconds} s`.trimStart()),
      });
    });
  });
}
