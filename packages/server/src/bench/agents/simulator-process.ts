import { type ChildProcess, fork } from "node:child_process";
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import type { SimulatorJob, SimulatorReply, SimulatorRequest, SimulatorResult } from "./simulator.js";

/** The agent simulator in its own process, driven job by job over IPC. */
export class SimulatorProcess {
  readonly #child: ChildProcess;
  #waiting: { resolve(result: SimulatorResult): void; reject(error: Error): void } | null = null;

  constructor() {
    const source = import.meta.url.endsWith(".ts");
    this.#child = fork(fileURLToPath(new URL(`./simulator.${source ? "ts" : "js"}`, import.meta.url)), [], {
      // Not the parent's flags (e.g. --cpu-prof when profiling the server); tsx when run from source.
      execArgv: source ? ["--import", "tsx", "--conditions=source"] : [],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      serialization: "advanced",
    });
    this.#child.on("message", (message) => {
      const reply = message as SimulatorReply;
      const waiting = this.#waiting;
      this.#waiting = null;
      if (!waiting) return;
      if (reply.type === "result") waiting.resolve(reply.result);
      else waiting.reject(new Error(`simulator: ${reply.message}`));
    });
    this.#child.on("exit", (code, signal) => {
      this.#waiting?.reject(new Error(`simulator exited (code ${code}, signal ${signal})`));
      this.#waiting = null;
    });
  }

  run(job: SimulatorJob): Promise<SimulatorResult> {
    if (this.#waiting) throw new Error("one simulator job at a time");
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
      this.#child.send({ type: "run", job } satisfies SimulatorRequest);
    });
  }

  async close(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = once(this.#child, "exit");
    if (this.#child.connected) this.#child.send({ type: "exit" } satisfies SimulatorRequest);
    const timedOut = await Promise.race([exited.then(() => false), sleep(5000, true, { ref: false })]);
    if (timedOut) {
      this.#child.kill();
      await exited;
    }
  }
}
