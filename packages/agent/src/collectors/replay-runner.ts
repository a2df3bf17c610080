import type { CommandResult, CommandRunner, RunOptions } from "./types.js";

/** One recorded run: the program (matched by its base name), its exact arguments, and what it printed. */
export interface RecordedRun {
  program: string;
  args: readonly string[];
  result: Partial<CommandResult>;
}

export interface ReplayRunner extends CommandRunner {
  /** Every call made, in order, for assertions about what was (not) run. */
  calls: { file: string; args: readonly string[]; options: RunOptions }[];
}

const baseName = (file: string) => file.split(/[\\/]/).pop() ?? file;

/**
 * A CommandRunner that answers from recordings instead of running anything, so collectors can be
 * tested on another platform's real output. A call with no recording fails like a missing program.
 */
export function replayRunner(runs: readonly RecordedRun[]): ReplayRunner {
  const calls: ReplayRunner["calls"] = [];
  const runner = async (
    file: string,
    args: readonly string[],
    options: RunOptions,
  ): Promise<CommandResult> => {
    calls.push({ file, args, options });
    const run = runs.find(
      (r) =>
        r.program === baseName(file) &&
        r.args.length === args.length &&
        r.args.every((a, i) => a === args[i]),
    );
    if (!run) {
      throw Object.assign(new Error(`spawn ${file} ENOENT (no recording for ${JSON.stringify(args)})`), {
        code: "ENOENT",
      });
    }
    return { code: 0, stdout: "", stderr: "", timedOut: false, ...run.result };
  };
  return Object.assign(runner, { calls });
}
