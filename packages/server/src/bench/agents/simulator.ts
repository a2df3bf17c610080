/**
 * The agent simulator, run as its own process (`child_process.fork`) so it does not share an event
 * loop with the server. It speaks HTTP/1.1 over TLS (or plain TCP for the bare baseline) with
 * hand-built requests and minimal response parsing, so that on a 2-core machine as much CPU as
 * possible is left to the server it measures. Jobs arrive over IPC as JSON; results go back.
 */
import { connect as connectTcp, type Socket } from "node:net";
import { performance } from "node:perf_hooks";
import { connect as connectTls } from "node:tls";
import { buildInventoryRequests, type InventoryRequestPlan } from "./inventory-requests.js";

type SSLSession = Buffer;

export interface SimulatedDevice {
  deviceId: string;
  token: string;
  /** The check-in body with `"uptimeSeconds":0` where the uptime goes. */
  body: string;
  /** Boot time (ms since the epoch): uptime is reported from it, so no reboot is seen. */
  bootedAt: number;
}

/** A request other than a check-in (inventory uploads), sent as given. */
export interface SimulatedRequest {
  method: "POST" | "PUT";
  path: string;
  token: string;
  body: string;
}

export interface SimulatorJob {
  origin: string;
  /** Trust only this root (the server's own CA); null for plain TCP. */
  caPem: string | null;
  devices: SimulatedDevice[];
  /** Each device checks in once, then the run ends (the warm-up). */
  once?: boolean;
  /** Builds, in the simulator, requests each sent once (bodies too large to send over IPC). */
  generate?: InventoryRequestPlan;
  /** Requests each sent once, as given (small bodies, e.g. job results). */
  requests?: SimulatedRequest[];
  connections: number;
  durationSeconds: number;
  /** Requests per second across all connections; 0 = as fast as answers come. */
  ratePerSecond: number;
  /**
   * keep-alive: every connection stays open (steady check-ins).
   * reconnect: every request on a new TLS connection, resuming the last session when it can.
   */
  mode: "keep-alive" | "reconnect";
  /** A request path other than the check-in (the bare baselines answer any path). */
  path?: string;
}

export interface SimulatorResult {
  durationSeconds: number;
  completed: number;
  ok: number;
  statusCodes: Record<string, number>;
  errors: number;
  errorMessages: string[];
  /** New TLS connections made, and how many of them resumed a session. */
  handshakes: number;
  resumed: number;
  okPerSecond: number;
  cpuMs: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
}

export type SimulatorRequest = { type: "run"; job: SimulatorJob } | { type: "exit" };
export type SimulatorReply = { type: "result"; result: SimulatorResult } | { type: "error"; message: string };

const MAX_SAMPLES = 4_000_000;

class Stats {
  readonly samples = new Float64Array(MAX_SAMPLES);
  count = 0;
  ok = 0;
  errors = 0;
  handshakes = 0;
  resumed = 0;
  readonly codes = new Map<number, number>();
  readonly messages = new Set<string>();

  record(status: number, latency: number): void {
    if (this.count < MAX_SAMPLES) this.samples[this.count] = latency;
    this.count++;
    if (status >= 200 && status < 300) this.ok++;
    this.codes.set(status, (this.codes.get(status) ?? 0) + 1);
  }

  fail(message: string): void {
    this.errors++;
    if (this.messages.size < 5) this.messages.add(message);
  }
}

/** Pace for a fixed rate: each request waits for its slot in a shared schedule. */
class Pacer {
  #next = performance.now();
  constructor(private readonly perSecond: number) {}
  delay(): number {
    if (this.perSecond <= 0) return 0;
    const now = performance.now();
    this.#next = Math.max(this.#next + 1000 / this.perSecond, now - 50);
    return Math.max(0, this.#next - now);
  }
}

function checkInRequest(job: SimulatorJob, device: SimulatedDevice, now: number): SimulatedRequest {
  return {
    method: "POST",
    path: job.path ?? `/api/v1/agent/devices/${device.deviceId}/check-in`,
    token: device.token,
    body: device.body.replace(
      '"uptimeSeconds":0',
      `"uptimeSeconds":${Math.floor((now - device.bootedAt) / 1000)}`,
    ),
  };
}

function requestBytes(host: string, request: SimulatedRequest): Buffer {
  return Buffer.from(
    `${request.method} ${request.path} HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${request.token}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(request.body)}\r\n\r\n${request.body}`,
  );
}

/** Reads one HTTP/1.1 response (status and Content-Length body) from a socket. */
function readResponse(socket: Socket): Promise<number> {
  return new Promise((resolve, reject) => {
    let buffered: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf("\r\n\r\n");
      if (end < 0) return;
      const head = buffered.subarray(0, end).toString("latin1");
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? "0");
      if (buffered.length < end + 4 + length) return;
      cleanup();
      resolve(Number(head.slice(9, 12)));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onClose = () => {
      cleanup();
      reject(new Error("connection closed"));
    };
    const cleanup = () => {
      socket.off("data", onData);
      socket.off("error", onError);
      socket.off("close", onClose);
    };
    socket.on("data", onData);
    socket.on("error", onError);
    socket.on("close", onClose);
  });
}

async function open(job: SimulatorJob, url: URL, stats: Stats, session: SSLSession | null): Promise<Socket> {
  const port = Number(url.port);
  return new Promise((resolve, reject) => {
    const socket =
      job.caPem === null
        ? connectTcp({ host: url.hostname, port }, () => resolve(socket))
        : connectTls(
            {
              host: url.hostname,
              port,
              ca: job.caPem,
              servername: url.hostname === "localhost" ? "localhost" : undefined,
              minVersion: "TLSv1.2",
              ...(session ? { session } : {}),
            },
            () => {
              stats.handshakes++;
              if ((socket as ReturnType<typeof connectTls>).isSessionReused()) stats.resumed++;
              resolve(socket);
            },
          );
    socket.setNoDelay(true);
    socket.once("error", reject);
  });
}

async function runConnection(
  job: SimulatorJob,
  stats: Stats,
  pick: () => SimulatedRequest | null,
  pacer: Pacer,
  until: number,
) {
  const url = new URL(job.origin);
  const host = url.host;
  let socket: Socket | null = null;
  let session: SSLSession | null = null;
  let backoff = 50;
  while (performance.now() < until) {
    const wait = pacer.delay();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    try {
      if (!socket) {
        socket = await open(job, url, stats, session);
        if (job.caPem !== null) socket.once("session", (s: SSLSession) => (session = s));
      }
      const next = pick();
      if (next === null) break;
      const started = performance.now();
      const answer = readResponse(socket);
      socket.write(requestBytes(host, next));
      const status = await answer;
      stats.record(status, performance.now() - started);
      backoff = 50;
      if (job.mode === "reconnect") {
        socket.end();
        socket = null;
      }
    } catch (error) {
      stats.fail(error instanceof Error ? error.message : String(error));
      socket?.destroy();
      socket = null;
      // Agents back off with jitter when the server cannot take them.
      await new Promise((r) => setTimeout(r, backoff * (0.5 + Math.random())));
      backoff = Math.min(backoff * 2, 5000);
    }
  }
  socket?.end();
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1] ?? Number.NaN;
}

export async function simulate(job: SimulatorJob): Promise<SimulatorResult> {
  const stats = new Stats();
  let next = 0;
  const list = job.generate ? await buildInventoryRequests(job.generate) : (job.requests ?? null);
  // A generated list is sent once; check-ins go round the fleet until the time is up.
  const pick = list
    ? () => list[next++] ?? null
    : () => {
        if (job.once && next >= job.devices.length) return null;
        return checkInRequest(job, job.devices[next++ % job.devices.length] as SimulatedDevice, Date.now());
      };
  const pacer = new Pacer(job.ratePerSecond);
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const until = list || job.once ? Number.POSITIVE_INFINITY : started + job.durationSeconds * 1000;
  await Promise.all(
    Array.from({ length: job.connections }, () => runConnection(job, stats, pick, pacer, until)),
  );
  const wall = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const sorted = stats.samples.slice(0, Math.min(stats.count, MAX_SAMPLES)).sort();
  return {
    durationSeconds: wall,
    completed: stats.count,
    ok: stats.ok,
    statusCodes: Object.fromEntries([...stats.codes].map(([k, v]) => [String(k), v])),
    errors: stats.errors,
    errorMessages: [...stats.messages],
    handshakes: stats.handshakes,
    resumed: stats.resumed,
    okPerSecond: stats.ok / wall,
    cpuMs: (cpu.user + cpu.system) / 1000,
    latencyMs: {
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p99: percentile(sorted, 99),
      max: sorted.length ? (sorted[sorted.length - 1] ?? Number.NaN) : Number.NaN,
    },
  };
}

if (process.send) {
  process.on("message", (message: SimulatorRequest) => {
    if (message.type === "exit") process.exit(0);
    simulate(message.job).then(
      (result) => process.send?.({ type: "result", result } satisfies SimulatorReply),
      (error: unknown) =>
        process.send?.({
          type: "error",
          message: error instanceof Error ? error.message : String(error),
        } satisfies SimulatorReply),
    );
  });
}
