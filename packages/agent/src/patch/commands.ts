import { errorMessage } from "../collectors/text.js";
import type { CommandRunner } from "../collectors/types.js";
import { joinLogs, logExcerpt } from "./log-excerpt.js";
import type { CommandStep } from "./types.js";

/** One command an executor ran: how it ended and what it printed. */
export interface CommandRun {
  command: string;
  exitCode: number | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

export interface RunLoggedOptions {
  timeoutMs: number;
  env?: Record<string, string>;
  /** Per stream; installs print a lot, so the default is generous (only the end is kept in logs). */
  maxOutputBytes?: number;
}

/** How a command line reads in a log: arguments with spaces or quotes are JSON-quoted. */
export function commandLine(file: string, args: readonly string[]): string {
  const name = file.split(/[\\/]/).pop() ?? file;
  return [name, ...args].map((a) => (/^[\w@%+=:,./~^-]+$/.test(a) ? a : JSON.stringify(a))).join(" ");
}

/**
 * Runs one program (argv, no shell) and never throws: a program that cannot be started, or whose
 * output passes the limit, becomes a run with no exit code and the error as its output. The
 * environment is added to the agent's, and is never written to a log.
 */
export async function runLogged(
  runner: CommandRunner,
  file: string,
  args: readonly string[],
  options: RunLoggedOptions,
): Promise<CommandRun> {
  const command = commandLine(file, args);
  try {
    const result = await runner(file, args, {
      timeoutMs: options.timeoutMs,
      maxOutputBytes: options.maxOutputBytes ?? 64 * 1024 * 1024,
      ...(options.env ? { env: options.env } : {}),
    });
    const stderr = result.timedOut
      ? `${result.stderr}\n${command}: timed out after ${Math.round(options.timeoutMs / 1000)} s`
      : result.stderr;
    return { command, exitCode: result.code, timedOut: result.timedOut, stdout: result.stdout, stderr };
  } catch (error) {
    return { command, exitCode: null, timedOut: false, stdout: "", stderr: errorMessage(error) };
  }
}

export const runOutput = (run: CommandRun) => [run.stdout, run.stderr].filter((s) => s !== "").join("\n");

/** Several runs as one step: the first failing run's exit code (else the last's), all output. */
export function stepOf(runs: readonly CommandRun[], ok: (run: CommandRun) => boolean = okExit): CommandStep {
  const failed = runs.find((r) => !ok(r));
  const last = runs[runs.length - 1];
  return {
    ok: failed === undefined,
    exitCode: (failed ?? last)?.exitCode ?? null,
    log: logExcerpt(joinLogs(runs.map((r) => ({ command: r.command, output: runOutput(r) })))),
  };
}

export const okExit = (run: CommandRun) => run.exitCode === 0;

/**
 * The `E:` lines apt, `Error:` lines dnf and `ERROR:` lines apk print: the reason, without the
 * progress around it. A line ending in `:` takes the indented lines after it (dnf and apk put the
 * detail there).
 */
export function errorLines(text: string, pattern = /^(?:E|Error|ERROR):\s*(.*)$/): string[] {
  const lines = text.split("\n");
  const found: string[] = [];
  lines.forEach((line, i) => {
    let message = pattern.exec(line.trim())?.[1]?.trim() ?? "";
    if (message === "") return;
    for (let j = i + 1; message.endsWith(":") && j < lines.length && /^\s+\S/.test(lines[j] ?? ""); j++) {
      message = `${message} ${lines[j]!.trim()}`;
    }
    found.push(message);
  });
  return found;
}

/** A short reason from a failed run: its error lines, else its last output line. */
export function failureReason(run: CommandRun): string {
  const errors = errorLines(`${run.stdout}\n${run.stderr}`);
  const text =
    errors.join("; ") ||
    runOutput(run)
      .trim()
      .split("\n")
      .filter((l) => l.trim() !== "")
      .pop() ||
    `exit ${run.exitCode}`;
  return text.slice(0, 300);
}
