import type { AvailableUpdate, InventoryEntry } from "@patchpilot/protocol";

export interface RunOptions {
  timeoutMs: number;
  /** Per stream; a command that prints more is killed and the run rejects (a cut-off list is a wrong list). */
  maxOutputBytes: number;
  /** Added to the agent's environment; `LC_ALL=C` is always set on top. */
  env?: Record<string, string>;
}

export interface CommandResult {
  /** Exit code, or null when the process was killed (timeout) or ended by a signal. */
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/**
 * Runs one program with an argument vector, never through a shell. Collectors take it as a
 * parameter so tests can replay recorded outputs instead of running the real tools.
 */
export type CommandRunner = (
  file: string,
  args: readonly string[],
  options: RunOptions,
) => Promise<CommandResult>;

/** What one collector found, plus the problems that did not stop it. */
export interface CollectorOutput {
  packages: InventoryEntry[];
  updates: AvailableUpdate[];
  warnings: string[];
}

/** Which package-manager program to run, and for which filesystem root. */
export interface ProgramOptions {
  /** Path or bare name of the program; defaults to the bare name. */
  program?: string;
  /** When not `/`, the package manager's own root option is passed so it reads that tree. */
  root?: string;
}
