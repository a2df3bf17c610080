import { type ChildProcess, fork } from "node:child_process";
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import type { LoadJob, LoadReply, LoadRequest, LoadResult } from "./load.js";

/** The load generator (load.ts) in its own process, driven job by job over IPC. */
export class LoadProcess {
  readonly #child: ChildProcess;
  #waiting: { resolve(result: LoadResult): void; reject(error: Error): void } | null = null;

  constructor() {
    // Compiled next to this file: dist/bench/foundation/load.js.
    this.#child = fork(fileURLToPath(new URL("./load.js", import.meta.url)), [], {
      // Not the parent's flags (e.g. --cpu-prof when profiling the server).
      execArgv: [],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.#child.on("message", (message) => {
      const reply = message as LoadReply;
      const waiting = this.#waiting;
      this.#waiting = null;
      if (!waiting) return;
      if (reply.type === "result") waiting.resolve(reply.result);
      else waiting.reject(new Error(`load generator: ${reply.message}`));
    });
    this.#child.on("exit", (code, signal) => {
      this.#waiting?.reject(new Error(`load generator exited (code ${code}, signal ${signal})`));
      this.#waiting = null;
    });
  }

  run(job: LoadJob): Promise<LoadResult> {
    if (this.#waiting) throw new Error("one load job at a time");
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
      this.#child.send({ type: "run", job } satisfies LoadRequest);
    });
  }

  async close(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = once(this.#child, "exit");
    if (this.#child.connected) this.#child.send({ type: "exit" } satisfies LoadRequest);
    const timedOut = await Promise.race([exited.then(() => false), sleep(5000, true, { ref: false })]);
    if (timedOut) {
      this.#child.kill();
      await exited;
    }
  }
}
