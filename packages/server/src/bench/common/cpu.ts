/** Where the machine's CPU goes during a measured run: Linux /proc and Node's own counters. */
import { readdir, readFile } from "node:fs/promises";
import os from "node:os";
import { performance } from "node:perf_hooks";

/** Where the machine's CPU went during a run, in percent of one core (the machine has nproc × 100). */
export interface CpuShare {
  server: number;
  /** How much of the run the server's event loop was busy (100 = saturated), in percent; null when
   * the server runs in other processes. */
  eventLoop: number | null;
  loadGenerator: number;
  /** The bench database's PostgreSQL processes (null on PGlite, or where /proc cannot be read). */
  postgres: number | null;
  /** Everything else: other processes, the kernel's own work. */
  other: number;
  idle: number;
}

export function machineTimes(): { busy: number; idle: number } {
  let busy = 0;
  let idle = 0;
  for (const cpu of os.cpus()) {
    busy += cpu.times.user + cpu.times.nice + cpu.times.sys + cpu.times.irq;
    idle += cpu.times.idle;
  }
  return { busy, idle };
}

// Linux reports process times in clock ticks of 1/100 s (USER_HZ) on every common architecture.
const TICK_MS = 10;

/** User + system CPU time, in ms, from the text of /proc/PID/stat. */
export function statCpuMs(stat: string): number {
  // After "pid (comm)": state is field 3, utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

/**
 * CPU time, in ms, of the local PostgreSQL processes that serve the bench: the backends connected
 * to its database, and the server's shared background processes (WAL writer, checkpointer…), but
 * not other databases' backends. Linux /proc only; null elsewhere.
 */
export async function postgresCpuMs(database: string): Promise<number | null> {
  let pids: string[];
  try {
    pids = (await readdir("/proc")).filter((name) => /^\d+$/.test(name));
  } catch {
    return null;
  }
  let total = 0;
  for (const pid of pids) {
    try {
      const stat = await readFile(`/proc/${pid}/stat`, "utf8");
      if (stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")) !== "postgres") continue;
      // A client backend's title names its database and its client ("host(port)" or "[local]").
      const title = (await readFile(`/proc/${pid}/cmdline`, "utf8")).replaceAll("\0", " ");
      const clientBackend = /\(\d+\)|\[local\]/.test(title);
      if (clientBackend && !title.includes(` ${database} `)) continue;
      total += statCpuMs(stat);
    } catch {
      // The process ended while being read.
    }
  }
  return total;
}

/** CPU time, in ms, this process has used (user + system, all threads). */
export async function thisProcessCpuMs(): Promise<number> {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

export interface CpuProbe<T> {
  /** The measured work, e.g. one load-generator run. */
  work(): Promise<T>;
  /** The server's CPU time so far, in ms (thisProcessCpuMs when it runs in the bench process). */
  serverCpuMs(): Promise<number>;
  /** Whether the server runs in the bench process, so that this event loop is the server's. */
  serverInThisProcess: boolean;
  /** The load generator's own CPU time during the work, in ms, as the work reports it. */
  loadGeneratorCpuMs(result: T): number;
  /** The scratch database's name, to account for its PostgreSQL processes; null for none. */
  postgresDatabase: string | null;
}

/** Runs the work and accounts for the CPU the server, the load generator and the rest used. */
export async function measureCpu<T>(probe: CpuProbe<T>): Promise<{ result: T; cpu: CpuShare }> {
  const postgresCpu = async () => (probe.postgresDatabase ? postgresCpuMs(probe.postgresDatabase) : null);
  const postgresBefore = await postgresCpu();
  const machineBefore = machineTimes();
  const serverBefore = await probe.serverCpuMs();
  const loopBefore = performance.eventLoopUtilization();
  const started = performance.now();
  const result = await probe.work();
  const wallMs = performance.now() - started;
  const serverMs = (await probe.serverCpuMs()) - serverBefore;
  const loop = performance.eventLoopUtilization(loopBefore);
  const machineAfter = machineTimes();
  const postgresAfter = await postgresCpu();
  const postgresMs =
    postgresBefore !== null && postgresAfter !== null ? Math.max(0, postgresAfter - postgresBefore) : null;
  const loadGeneratorMs = probe.loadGeneratorCpuMs(result);
  const busyMs = machineAfter.busy - machineBefore.busy;
  const percent = (ms: number) => (100 * ms) / wallMs;
  return {
    result,
    cpu: {
      server: percent(serverMs),
      eventLoop: probe.serverInThisProcess ? 100 * loop.utilization : null,
      loadGenerator: percent(loadGeneratorMs),
      postgres: postgresMs === null ? null : percent(postgresMs),
      other: percent(Math.max(0, busyMs - serverMs - loadGeneratorMs - (postgresMs ?? 0))),
      idle: percent(machineAfter.idle - machineBefore.idle),
    },
  };
}
