import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const REPO_ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
const AGENT = fileURLToPath(new URL("../../../agent/src/main.ts", import.meta.url));

/** A `patchpilot-agent` process run from source, with what it printed so far. */
export interface AgentProcess {
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code (null after a signal). */
  exited: Promise<number | null>;
}

export function spawnAgent(args: string[], env: Record<string, string> = {}): AgentProcess {
  const child = spawn(process.execPath, ["--conditions=source", "--import", "tsx", AGENT, ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/root", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let text = "";
  child.stdout?.on("data", (c: Buffer) => {
    text += c.toString("utf8");
  });
  child.stderr?.on("data", (c: Buffer) => {
    text += c.toString("utf8");
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, output: () => text, exited };
}

/** Runs the agent to completion (with a time limit) and returns its exit code and output. */
export async function runAgentCli(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 90_000,
): Promise<{ code: number | null; output: string }> {
  const agent = spawnAgent(args, env);
  const timer = setTimeout(() => agent.child.kill("SIGKILL"), timeoutMs);
  const code = await agent.exited;
  clearTimeout(timer);
  return { code, output: agent.output() };
}

/** Polls `probe` until it returns a value (not undefined), or fails after `timeoutMs`. */
export async function eventually<T>(
  probe: () => Promise<T | undefined>,
  timeoutMs = 30_000,
  what: string | (() => string) = "condition",
): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() - started > timeoutMs) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${typeof what === "function" ? what() : what}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
