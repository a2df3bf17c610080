import { spawn } from "node:child_process";
import type { CommandResult, CommandRunner, RunOptions } from "./types.js";

/** The run was stopped because a stream passed `maxOutputBytes`. */
export class CommandOutputLimitError extends Error {
  constructor(file: string, limit: number) {
    super(`${file}: output exceeded ${limit} bytes; stopped`);
    this.name = "CommandOutputLimitError";
  }
}

/**
 * Runs `file` with `args` as separate argv elements (`shell: false`), so nothing in an argument is
 * ever interpreted by a shell. Output is bounded, the run is killed at the timeout, and `LC_ALL=C`
 * keeps tool output in the untranslated format the parsers expect.
 */
export const runCommand: CommandRunner = (file, args, options: RunOptions) =>
  new Promise<CommandResult>((resolve, reject) => {
    const child = spawn(file, [...args], {
      shell: false,
      windowsHide: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...options.env, LC_ALL: "C" },
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    const size = { stdout: 0, stderr: 0 };
    let timedOut = false;
    let failure: Error | null = null;

    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, options.timeoutMs);

    const collect = (stream: "stdout" | "stderr", chunks: Buffer[]) => (chunk: Buffer) => {
      if (failure) return;
      size[stream] += chunk.length;
      if (size[stream] > options.maxOutputBytes) {
        failure = new CommandOutputLimitError(file, options.maxOutputBytes);
        child.kill("SIGKILL");
        return;
      }
      chunks.push(chunk);
    };
    child.stdout.on("data", collect("stdout", stdout));
    child.stderr.on("data", collect("stderr", stderr));

    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      if (failure) {
        reject(failure);
        return;
      }
      // Decoded once at the end so a multi-byte character split across chunks stays intact.
      resolve({
        code: timedOut ? null : code,
        stdout: Buffer.concat(stdout).toString("utf8"),
        stderr: Buffer.concat(stderr).toString("utf8"),
        timedOut,
      });
    });
  });
