import { sql, type Transaction } from "kysely";
import type { Database } from "../db/database.js";
import type { DB } from "../db/schema.js";
import { SYSTEM_WORK } from "../db/unit-of-work.js";

export interface NewJob {
  kind: string;
  payload?: Record<string, unknown>;
  /** When to run it (default now). */
  runAt?: Date;
  /** At most one waiting or running job per kind and key: enqueueing it again does nothing. */
  uniqueKey?: string;
  /** Not even when an earlier job with this key has finished (one run per scheduled period). */
  oncePerKey?: boolean;
  maxAttempts?: number;
}

/** Queues a job inside the caller's transaction (it runs only if that commits). */
export async function enqueueJob(db: Transaction<DB>, job: NewJob): Promise<void> {
  await sql`
    INSERT INTO jobs (kind, payload, unique_key, run_at, max_attempts)
    SELECT ${job.kind}, ${JSON.stringify(job.payload ?? {})}::jsonb, ${job.uniqueKey ?? null},
           ${job.runAt ?? new Date()}, ${job.maxAttempts ?? 5}
     WHERE NOT ${job.oncePerKey ?? false}
        OR NOT EXISTS (SELECT 1 FROM jobs WHERE kind = ${job.kind} AND unique_key = ${job.uniqueKey ?? null})
    ON CONFLICT (kind, unique_key) WHERE state IN ('queued', 'running') DO NOTHING`.execute(db);
}

/** Queues a job in a transaction of its own. */
export async function submitJob(db: Database, job: NewJob): Promise<void> {
  await db.system(SYSTEM_WORK, (tx) => enqueueJob(tx.db, job), {
    unaudited: "queueing work is bookkeeping; the work itself records what it changes",
  });
}
