import { hostname } from "node:os";
import { sql } from "kysely";
import type { Database } from "../db/database.js";
import { SYSTEM_WORK } from "../db/unit-of-work.js";
import { enqueueJob } from "./job-queue.js";

export interface JobContext {
  jobId: number;
  attempt: number;
}

export type JobHandler = (payload: Record<string, unknown>, context: JobContext) => Promise<void>;

/** Work that repeats: one job per period, keyed by the period so two processes queue it once. */
export interface Schedule {
  kind: string;
  everyMs: number;
  payload?: Record<string, unknown>;
}

const LEASE_SECONDS = 300;
const POLL_MS = 1000;
const BATCH = 4;
const SCHEDULE_CHECK_MS = 60_000;

/** Seconds to wait before attempt n+1: 30 s, 1 min, 2 min, … up to an hour. */
export function backoffSeconds(attempt: number): number {
  return Math.min(3600, 30 * 2 ** Math.max(0, attempt - 1));
}

/**
 * Runs the jobs in the `jobs` table. A job is leased with FOR UPDATE SKIP LOCKED, so two server
 * processes never run the same one, and a lease that runs out (the process died) is taken over.
 * A failure is retried with backoff up to the job's attempt limit, and recorded.
 */
export class JobRunner {
  readonly #handlers = new Map<string, JobHandler>();
  readonly #schedules: Schedule[] = [];
  readonly #me = `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #lastPrune = 0;
  #lastSchedule = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly db: Database,
    private readonly onError: (error: unknown, message: string) => void,
  ) {}

  register(kind: string, handler: JobHandler): void {
    this.#handlers.set(kind, handler);
  }

  schedule(schedule: Schedule): void {
    this.#schedules.push(schedule);
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => this.kick(), POLL_MS);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#running;
  }

  kick(): void {
    if (this.#running) return;
    this.#running = this.runDue()
      .then(() => {})
      .catch((error: unknown) => this.onError(error, "the job runner failed"))
      .finally(() => {
        this.#running = null;
      });
  }

  /** Queues the scheduled jobs that are due, then runs what is due; returns how many ran. */
  async runDue(): Promise<number> {
    await this.#queueSchedules();
    const kinds = [...this.#handlers.keys()];
    if (kinds.length === 0) return 0;
    const leased = await this.db.system(
      SYSTEM_WORK,
      async (tx) =>
        (
          await sql<{
            id: number;
            kind: string;
            payload: Record<string, unknown>;
            attempts: number;
            max_attempts: number;
          }>`
            UPDATE jobs SET state = 'running', attempts = attempts + 1, leased_by = ${this.#me},
                            leased_until = now() + make_interval(secs => ${LEASE_SECONDS})
             WHERE id IN (SELECT id FROM jobs
                           WHERE kind = ANY(${kinds}::text[])
                             AND ((state = 'queued' AND run_at <= now()) OR (state = 'running' AND leased_until < now()))
                           ORDER BY run_at LIMIT ${BATCH} FOR UPDATE SKIP LOCKED)
            RETURNING id, kind, payload, attempts, max_attempts`.execute(tx.db)
        ).rows,
      { unaudited: "leasing a job is bookkeeping; the job records what it changes" },
    );
    for (const job of leased) await this.#run(job);
    return leased.length;
  }

  async #run(job: {
    id: number;
    kind: string;
    payload: Record<string, unknown>;
    attempts: number;
    max_attempts: number;
  }) {
    const handler = this.#handlers.get(job.kind);
    let error: string | null = null;
    try {
      if (!handler) throw new Error(`no handler for job kind ${job.kind}`);
      await handler(job.payload, { jobId: job.id, attempt: job.attempts });
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
      this.onError(e, `job ${job.kind} #${job.id} failed (attempt ${job.attempts} of ${job.max_attempts})`);
    }
    const final = error === null || job.attempts >= job.max_attempts;
    await this.db.system(
      SYSTEM_WORK,
      async (tx) => {
        await sql`
          UPDATE jobs SET state = ${error === null ? "succeeded" : final ? "failed" : "queued"},
                          last_error = ${error?.slice(0, 2000) ?? null}, leased_until = NULL, leased_by = NULL,
                          finished_at = ${final ? new Date() : null},
                          run_at = ${final ? sql`run_at` : sql`now() + make_interval(secs => ${backoffSeconds(job.attempts)})`}
           WHERE id = ${job.id}`.execute(tx.db);
      },
      { unaudited: "a job's state is bookkeeping; the job records what it changes" },
    );
  }

  async #queueSchedules(): Promise<void> {
    const now = Date.now();
    // Periods are hours and days: looking once a minute is enough, and keeps an idle server quiet.
    if (this.#schedules.length === 0 || now - this.#lastSchedule < SCHEDULE_CHECK_MS) return;
    this.#lastSchedule = now;
    await this.db.system(
      SYSTEM_WORK,
      async (tx) => {
        for (const s of this.#schedules) {
          const slot = Math.floor(now / s.everyMs);
          await enqueueJob(tx.db, {
            kind: s.kind,
            payload: s.payload ?? {},
            uniqueKey: `slot:${slot}`,
            oncePerKey: true,
            runAt: new Date(slot * s.everyMs),
          });
        }
        // Finished jobs are kept a week for the record, then removed.
        if (now - this.#lastPrune > 3_600_000) {
          this.#lastPrune = now;
          await sql`DELETE FROM jobs WHERE state IN ('succeeded', 'failed') AND finished_at < now() - interval '7 days'`.execute(
            tx.db,
          );
        }
      },
      { unaudited: "queueing scheduled work is bookkeeping" },
    );
  }
}
