import {
  AGENT_API,
  type CheckInResponse,
  type Inventory,
  inventoryHash,
  type Job,
  type JobsResponse,
  type TokenRotationResponse,
} from "@patchpilot/protocol";
import { collectFacts } from "../collectors/index.js";
import type { Log } from "../log.js";
import { DEFAULT_HOOKS_DIR } from "../patch/hooks.js";
import { fileRebootDeferrals } from "../patch/reboot.js";
import type { AgentState, Credentials } from "../state/agent-state.js";
import { ReportQueue } from "../state/report-queue.js";
import { AgentClient, ApiError, UnreachableError } from "../transport/client.js";
import { AGENT_VERSION } from "../version.js";
import { deliverQueue } from "./deliver-queue.js";
import { InventorySource } from "./inventory-source.js";
import { type JobContext, runJob } from "./jobs.js";
import { queueInventory } from "./queue-inventory.js";
import { RevokedError } from "./revoked.js";

export interface RunOptions {
  /** One check-in, its reports and jobs, then return (for tests and `patchpilot-agent check-in`). */
  once?: boolean;
  /** Overrides the interval the server asks for (tests). */
  intervalSeconds?: number;
  /** How long a jobs long-poll waits at the server. */
  jobWaitSeconds?: number;
  /** Filesystem root the Linux collectors read and patch jobs install into (tests point it at a sandbox). */
  root?: string;
  /** Where patch jobs find their hooks (default /etc/patchpilot/hooks). */
  hooksDir?: string;
  signal?: AbortSignal;
}

export type StopReason = "revoked" | "stopped" | "once";

const JITTER = 0.1;
const MAX_BACKOFF_MS = 5 * 60_000;

/**
 * The agent's life: check in every interval (with jitter), send what the server asks for, run
 * the jobs it hands out (also waiting for them between check-ins, by long poll), and keep every
 * report on disk until the server has taken it. Stops for good only when its token is refused.
 */
export async function runAgent(state: AgentState, log: Log, options: RunOptions = {}): Promise<StopReason> {
  await state.init();
  const credentials = await state.credentials();
  if (!credentials)
    throw new Error(`this agent is not enrolled (no ${state.credentialsFile}); run: patchpilot-agent enroll`);
  const client = new AgentClient({ serverUrl: new URL(credentials.serverUrl), caPem: await state.caPem() });
  const agent = new RunningAgent(state, client, credentials, log, options);
  try {
    return await agent.run();
  } finally {
    client.close();
  }
}

class RunningAgent {
  readonly queue: ReportQueue;
  readonly inventory: InventorySource;
  #stopping = false;
  /** Set when the long poll, not the check-in, was the first to hear the token is refused. */
  #revoked = false;
  #wake: (() => void) | null = null;

  constructor(
    readonly state: AgentState,
    readonly client: AgentClient,
    private credentials: Credentials,
    readonly log: Log,
    private readonly options: RunOptions,
  ) {
    this.queue = new ReportQueue(state.queueDir);
    this.inventory = new InventorySource(options.root ?? "/", log);
    options.signal?.addEventListener("abort", () => this.stop());
  }

  get device() {
    return AGENT_API.device(this.credentials.deviceId);
  }

  get token() {
    return this.credentials.token;
  }

  stop(): void {
    this.#stopping = true;
    this.#wake?.();
  }

  async run(): Promise<StopReason> {
    const poller = this.options.once ? null : this.#pollJobs();
    let failures = 0;
    try {
      while (!this.#stopping) {
        let interval: number;
        try {
          interval = await this.#cycle();
          failures = 0;
        } catch (error) {
          if (error instanceof RevokedError) throw error;
          if (!(error instanceof UnreachableError) && !(error instanceof ApiError)) throw error;
          failures++;
          interval = Math.min(MAX_BACKOFF_MS, 5000 * 2 ** Math.min(failures, 10)) / 1000;
          this.log("warn", `check-in failed (${error.message}); retrying in about ${Math.round(interval)} s`);
        }
        if (this.options.once) return "once";
        await this.#sleep(jittered(interval * 1000));
      }
      if (this.#revoked) throw new RevokedError("refused while waiting for jobs");
      return "stopped";
    } catch (error) {
      if (error instanceof RevokedError) {
        this.log(
          "error",
          "the server refused this device's token (revoked, or the device was retired); stopping. Re-enrol to start again.",
        );
        return "revoked";
      }
      throw error;
    } finally {
      this.stop();
      await poller?.catch(() => {});
    }
  }

  /** One check-in and what follows from it; returns the seconds until the next. */
  async #cycle(): Promise<number> {
    const { facts } = await collectFacts({
      agentVersion: AGENT_VERSION,
      ...(this.options.root ? { root: this.options.root } : {}),
    });
    const inventory = await this.inventory.current();
    // A change is queued the moment it is seen, so it survives the server being away (and this
    // agent restarting) and is delivered as soon as the server answers again.
    const acknowledged = await this.state.acknowledgedInventory();
    if (acknowledged && acknowledged.hash !== inventoryHash(inventory)) {
      await queueInventory(this.queue, this.device, inventory, acknowledged);
    }
    const response = await this.call<CheckInResponse>("POST", `${this.device}/check-in`, {
      facts,
      inventoryHash: inventoryHash(inventory),
      queuedReports: (await this.queue.pending()).length,
    });
    await this.#answerInventoryRequest(response, inventory);
    await this.#runJobs(response.jobs);
    await this.deliver();
    if (response.rotateToken) await this.#rotateToken();
    return this.options.intervalSeconds ?? response.nextCheckInSeconds;
  }

  async #answerInventoryRequest(response: CheckInResponse, inventory: Inventory): Promise<void> {
    const hash = inventoryHash(inventory);
    if (response.inventory === "current") {
      const acknowledged = await this.state.acknowledgedInventory();
      if (acknowledged?.hash !== hash) await this.state.saveAcknowledgedInventory({ hash, inventory });
      return;
    }
    const base = response.inventory === "send_changes" ? await this.state.acknowledgedInventory() : null;
    await queueInventory(
      this.queue,
      this.device,
      inventory,
      base?.hash === response.knownInventoryHash ? base : null,
    );
  }

  async #runJobs(jobs: readonly Job[]): Promise<void> {
    const context: JobContext = {
      queue: this.queue,
      device: this.device,
      inventory: this.inventory,
      log: this.log,
      acknowledgedInventory: () => this.state.acknowledgedInventory(),
      patch: {
        root: this.options.root ?? "/",
        hooksDir: this.options.hooksDir ?? DEFAULT_HOOKS_DIR,
        rebootDeferrals: fileRebootDeferrals(this.state.dir),
      },
    };
    for (const job of jobs) await runJob(job, context);
  }

  /** Sends every queued report, oldest first; stops at the first that cannot be delivered now. */
  deliver(): Promise<void> {
    return deliverQueue(this);
  }

  /** Waits at the server for jobs between check-ins, so new work starts within seconds. */
  async #pollJobs(): Promise<void> {
    let failures = 0;
    while (!this.#stopping) {
      try {
        const wait = this.options.jobWaitSeconds ?? 50;
        const { jobs } = await this.call<JobsResponse>(
          "GET",
          `${this.device}/jobs?waitSeconds=${wait}`,
          undefined,
          (wait + 15) * 1000,
        );
        failures = 0;
        if (jobs.length > 0) {
          await this.#runJobs(jobs);
          await this.deliver();
        }
      } catch (error) {
        if (error instanceof RevokedError) {
          this.#revoked = true;
          this.stop();
          return;
        }
        failures++;
        await this.#sleep(jittered(Math.min(MAX_BACKOFF_MS, 2000 * 2 ** Math.min(failures, 10))));
      }
    }
  }

  async #rotateToken(): Promise<void> {
    const { deviceToken } = await this.call<TokenRotationResponse>("POST", `${this.device}/token`);
    // The old token keeps working until the server sees this one, so a crash here loses nothing.
    this.credentials = { ...this.credentials, token: deviceToken };
    await this.state.saveCredentials(this.credentials);
    this.log("info", "rotated the device token");
  }

  /** A request with the device token; a refused token ends the agent. */
  async call<T>(
    method: "GET" | "POST" | "PUT",
    path: string,
    body?: unknown,
    timeoutMs?: number,
  ): Promise<T> {
    try {
      return await this.client.send<T>(method, path, {
        token: this.credentials.token,
        ...(body !== undefined ? { body } : {}),
        ...(timeoutMs ? { timeoutMs } : {}),
      });
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) throw new RevokedError(error.message);
      throw error;
    }
  }

  async #sleep(ms: number): Promise<void> {
    if (this.#stopping) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.#wake = null;
        resolve();
      }
      this.#wake = done;
    });
  }
}

export type { RunningAgent };

function jittered(ms: number): number {
  return Math.max(100, ms * (1 - JITTER + Math.random() * 2 * JITTER));
}
