import { type ChildProcess, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { statCpuMs } from "../common/cpu.js";

const CLI = fileURLToPath(new URL("../../cli/main.js", import.meta.url));

/**
 * `patchpilot serve` as its own process tree (a primary and its worker processes), as an operator
 * runs it with PATCHPILOT_WORKERS. Resolves once the server prints where it is running.
 */
export class ServerProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
  ) {}

  static async start(env: Record<string, string>): Promise<ServerProcess> {
    const child = spawn(process.execPath, [CLI, "serve"], {
      env: { PATH: process.env.PATH ?? "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the server did not start:\n${output}`)), 60_000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString("utf8");
        const match = /PatchPilot is running at (\S+)/.exec(output);
        if (match?.[1]) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      };
      child.stdout?.on("data", onData);
      child.stderr?.on("data", onData);
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`the server exited (${code}):\n${output}`));
      });
    });
    return new ServerProcess(child, url);
  }

  /** CPU time, in ms, of the primary and every worker (Linux /proc). */
  async cpuMs(): Promise<number> {
    const root = this.child.pid;
    if (!root) return 0;
    let children: string[] = [];
    try {
      children = (await readFile(`/proc/${root}/task/${root}/children`, "utf8"))
        .trim()
        .split(/\s+/)
        .filter(Boolean);
    } catch {
      // no /proc: count nothing
    }
    let total = 0;
    for (const pid of [String(root), ...children]) {
      try {
        total += statCpuMs(await readFile(`/proc/${pid}/stat`, "utf8"));
      } catch {
        // the process ended while being read
      }
    }
    return total;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once("exit", resolve));
    this.child.kill("SIGTERM");
    await exited;
  }
}
