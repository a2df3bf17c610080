/**
 * The load generator, run as a child process of the bench (`child_process.fork`) so that it does
 * not share an event loop with the server it measures. It takes jobs as JSON over IPC, runs
 * autocannon for each, and answers with the figures as JSON.
 */
import type { EventEmitter } from "node:events";
import https from "node:https";
import { createRequire } from "node:module";
import { performance } from "node:perf_hooks";

export interface ReadScenario {
  kind: "read";
  path: string;
}

export interface WriteScenario {
  kind: "write";
  organizationId: string;
  /** Each member with the role the database holds now; every request flips one of them. */
  members: { userId: string; role: "operator" | "auditor" }[];
}

export interface LoadJob {
  /** e.g. https://127.0.0.1:43210 */
  origin: string;
  /** The server's own CA (PEM), to check its certificate before the run. */
  caPem: string;
  connections: number;
  durationSeconds: number;
  headers: Record<string, string>;
  scenario: ReadScenario | WriteScenario;
}

export interface LoadResult {
  durationSeconds: number;
  /** Responses received (any status). */
  completed: number;
  ok: number;
  non2xx: number;
  statusCodes: Record<string, number>;
  /** Connection errors and timeouts, as autocannon counts them (timeouts included). */
  errors: number;
  timeouts: number;
  errorMessages: string[];
  /** 2xx responses per second over the run's wall-clock time. */
  okPerSecond: number;
  /** CPU time the load generator itself used during the run (user + system), in ms. */
  cpuMs: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
}

export type LoadRequest = { type: "run"; job: LoadJob } | { type: "exit" };
export type LoadReply = { type: "result"; result: LoadResult } | { type: "error"; message: string };

// autocannon ships no type declarations: these are the parts of its API used here (v8).
interface CannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
}
interface CannonRequestSpec extends CannonRequest {
  setupRequest?: (request: CannonRequest, context: object) => CannonRequest;
  onResponse?: (status: number, body: string, context: object) => void;
}
interface CannonClient {
  setRequests(requests: CannonRequestSpec[]): void;
}
interface CannonOptions {
  url: string;
  connections: number;
  duration: number;
  method?: string;
  headers?: Record<string, string>;
  setupClient?: (client: CannonClient) => void;
}
interface CannonResult {
  errors: number;
  timeouts: number;
  non2xx: number;
}
type Autocannon = (
  options: CannonOptions,
  done: (error: Error | null, result: CannonResult) => void,
) => EventEmitter;

const require = createRequire(import.meta.url);
const autocannon = require("autocannon") as Autocannon;

/**
 * autocannon 8 always connects with `rejectUnauthorized: false`, whatever TLS options it is given,
 * so the certificate is checked here instead: one request that must verify against the server's
 * CA (host name included) and answer 2xx, before any load is sent.
 */
function preflight(job: LoadJob, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = https.request(
      new URL(path, job.origin),
      { method: "GET", ca: job.caPem, headers: job.headers, agent: false },
      (response) => {
        response.resume();
        response.on("end", () => {
          const status = response.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve();
          else reject(new Error(`preflight GET ${path} answered ${status}`));
        });
      },
    );
    request.on("error", reject);
    request.end();
  });
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  // Nearest rank: the smallest value at or above p percent of the samples.
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? Number.NaN;
}

/**
 * Per-connection state for the write scenario: each connection owns a fixed share of the members
 * and walks them in turn, so no member ever has two changes in flight, and it flips a member's
 * role only once the server confirmed the previous change (a 2xx), so every request changes it.
 */
function writeClientSetup(job: LoadJob, scenario: WriteScenario): (client: CannonClient) => void {
  const roles = new Map(scenario.members.map((m) => [m.userId, m.role]));
  const ids = scenario.members.map((m) => m.userId);
  let nextSlot = 0;
  return (client) => {
    const slot = nextSlot++;
    const mine = ids.filter((_, i) => i % job.connections === slot % job.connections);
    if (mine.length === 0) throw new Error("more connections than members to write to");
    let turn = 0;
    let pending: { userId: string; role: "operator" | "auditor" } | null = null;
    client.setRequests([
      {
        method: "PATCH",
        setupRequest: (request) => {
          const userId = mine[turn++ % mine.length] ?? "";
          const role = roles.get(userId) === "operator" ? "auditor" : "operator";
          pending = { userId, role };
          return {
            ...request,
            path: `/api/v1/orgs/${scenario.organizationId}/users/${userId}`,
            body: JSON.stringify({ role }),
          };
        },
        onResponse: (status) => {
          if (pending && status >= 200 && status < 300) roles.set(pending.userId, pending.role);
          pending = null;
        },
      },
    ]);
  };
}

async function run(job: LoadJob): Promise<LoadResult> {
  const { scenario } = job;
  await preflight(
    job,
    scenario.kind === "read" ? scenario.path : `/api/v1/orgs/${scenario.organizationId}/users?limit=1`,
  );

  const latencies: number[] = [];
  const statusCodes: Record<string, number> = {};
  const errorMessages = new Map<string, number>();
  const options: CannonOptions =
    scenario.kind === "read"
      ? {
          url: new URL(scenario.path, job.origin).toString(),
          connections: job.connections,
          duration: job.durationSeconds,
          headers: job.headers,
        }
      : {
          url: job.origin,
          connections: job.connections,
          duration: job.durationSeconds,
          method: "PATCH",
          headers: { ...job.headers, "content-type": "application/json" },
          setupClient: writeClientSetup(job, scenario),
        };

  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const result = await new Promise<CannonResult>((resolve, reject) => {
    const instance = autocannon(options, (error, outcome) => (error ? reject(error) : resolve(outcome)));
    // autocannon's own histogram keeps whole milliseconds; these are exact (fractional) times.
    instance.on("response", (_client: unknown, status: number, _bytes: number, ms: number) => {
      latencies.push(ms);
      const key = String(status);
      statusCodes[key] = (statusCodes[key] ?? 0) + 1;
    });
    instance.on("reqError", (error: Error) => {
      errorMessages.set(error.message, (errorMessages.get(error.message) ?? 0) + 1);
    });
  });
  const durationSeconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);

  const sorted = Float64Array.from(latencies).sort();
  const ok = Object.entries(statusCodes)
    .filter(([code]) => code.startsWith("2"))
    .reduce((sum, [, count]) => sum + count, 0);
  const sum = latencies.reduce((a, b) => a + b, 0);
  return {
    durationSeconds,
    completed: latencies.length,
    ok,
    non2xx: latencies.length - ok,
    statusCodes,
    errors: result.errors,
    timeouts: result.timeouts,
    errorMessages: [...errorMessages].map(([message, count]) => `${message} (×${count})`),
    okPerSecond: ok / durationSeconds,
    cpuMs: (cpu.user + cpu.system) / 1000,
    latencyMs: {
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p99: percentile(sorted, 99),
      max: sorted.at(-1) ?? Number.NaN,
      mean: latencies.length > 0 ? sum / latencies.length : Number.NaN,
    },
  };
}

function reply(message: LoadReply): void {
  process.send?.(message);
}

if (!process.send) {
  console.error("bench/foundation/load.js is started by bench/run.js (child_process.fork), not directly");
  process.exit(2);
}

process.on("message", (message: LoadRequest) => {
  if (message.type === "exit") {
    process.disconnect();
    return;
  }
  run(message.job).then(
    (result) => reply({ type: "result", result }),
    (error: unknown) =>
      reply({ type: "error", message: error instanceof Error ? error.message : String(error) }),
  );
});
