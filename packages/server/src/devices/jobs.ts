import type { Job, JobKind, JobResultReport } from "@patchpilot/protocol";
import { sql } from "kysely";
import { anyOf } from "../db/any-of.js";
import type { Database, OrganizationTransaction } from "../db/database.js";
import type { AuditContext } from "../db/unit-of-work.js";
import { AppError } from "../http/errors.js";
import type { AgentSession } from "./agent-sessions.js";
import { emitSignal, notifyLocally } from "./signals.js";

const JOB_TTL_MS = 7 * 24 * 3600 * 1000;

/** Queues a job for a device inside the caller's transaction; agents learn of it within a second. */
export async function queueJob(
  tx: OrganizationTransaction,
  actor: AuditContext["actor"],
  deviceId: string,
  kind: JobKind,
  payload: Record<string, unknown> = {},
): Promise<string> {
  const row = await tx.db
    .insertInto("device_jobs")
    .values({
      device_id: deviceId,
      kind,
      payload: JSON.stringify(payload),
      requested_by_type: actor.type,
      requested_by_id: actor.id,
      expires_at: new Date(Date.now() + JOB_TTL_MS),
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  await emitSignal(tx, deviceId, "jobs_queued");
  tx.deviceEvent({ eventType: "job.queued", deviceId, details: { jobId: row.id, kind } });
  return row.id;
}

/** A job for one device, queued in bulk. */
export interface NewDeviceJob {
  deviceId: string;
  kind: JobKind;
  payload: Record<string, unknown>;
  expiresAt: Date;
}

/**
 * Queues many jobs in the caller's transaction, in three statements whatever their number: the
 * jobs, one signal per device (every process learns within a poll; this one at commit), one device
 * event per job. Returns each device's job id.
 */
export async function queueJobs(
  tx: OrganizationTransaction,
  actor: AuditContext["actor"],
  jobs: readonly NewDeviceJob[],
): Promise<Map<string, string>> {
  if (jobs.length === 0) return new Map();
  const rows = await sql<{ id: string; device_id: string }>`
    INSERT INTO device_jobs (device_id, kind, payload, requested_by_type, requested_by_id, expires_at)
    SELECT j.device_id, j.kind, j.payload, ${actor.type}, ${actor.id}, j.expires_at
      FROM unnest(${jobs.map((j) => j.deviceId)}::uuid[], ${jobs.map((j) => j.kind)}::text[],
                  ${jobs.map((j) => JSON.stringify(j.payload))}::jsonb[], ${jobs.map((j) => j.expiresAt)}::timestamptz[])
        AS j(device_id, kind, payload, expires_at)
    RETURNING id, device_id`.execute(tx.db);
  const deviceIds = rows.rows.map((r) => r.device_id);
  await sql`
    INSERT INTO agent_signals (device_id, kind)
    SELECT unnest(${deviceIds}::uuid[]), 'jobs_queued'`.execute(tx.db);
  tx.afterCommit(() => notifyLocally(deviceIds.map((deviceId) => ({ deviceId, kind: "jobs_queued" }))));
  const kinds = new Map(jobs.map((j) => [j.deviceId, j.kind]));
  for (const r of rows.rows) {
    tx.deviceEvent({
      eventType: "job.queued",
      deviceId: r.device_id,
      details: { jobId: r.id, kind: kinds.get(r.device_id) },
    });
  }
  return new Map(rows.rows.map((r) => [r.device_id, r.id]));
}

/**
 * Long-polls waiting for work, by device. A signal wakes the device's waiters; a waiter also wakes
 * when its time is up. Held only in memory: a request that was waiting on a stopped process is
 * simply answered by the next one the agent makes.
 */
export class JobWaiters {
  readonly #waiting = new Map<string, Set<() => void>>();

  wait(deviceId: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let set = this.#waiting.get(deviceId);
      if (!set) {
        set = new Set();
        this.#waiting.set(deviceId, set);
      }
      const done = () => {
        clearTimeout(timer);
        set.delete(done);
        if (set.size === 0 && this.#waiting.get(deviceId) === set) this.#waiting.delete(deviceId);
        resolve();
      };
      const timer = setTimeout(done, ms);
      set.add(done);
    });
  }

  wake(deviceId: string): void {
    for (const done of [...(this.#waiting.get(deviceId) ?? [])]) done();
  }

  wakeAll(): void {
    for (const deviceId of [...this.#waiting.keys()]) this.wake(deviceId);
  }
}

/**
 * The device's queued jobs, marked delivered, and its pending flag cleared. The agent keeps what
 * it received on disk until it has reported the result, so a job is delivered once.
 */
export async function deliverJobs(db: Database, session: AgentSession, ctx: AuditContext): Promise<Job[]> {
  const epoch = session.jobsEpoch;
  const rows = await db.withOrganization(session.organizationId, ctx, async (tx) => {
    const open = await tx.db
      .selectFrom("device_jobs")
      .select(["id", "kind", "payload", "created_at", "expires_at"])
      .where("device_id", "=", session.deviceId)
      .where("state", "=", "queued")
      .orderBy("created_at")
      .limit(50)
      .execute();
    const expired = open.filter((j) => j.expires_at.getTime() <= Date.now());
    const live = open.filter((j) => j.expires_at.getTime() > Date.now());
    if (expired.length > 0) {
      await tx.db
        .updateTable("device_jobs")
        .set({ state: "expired", completed_at: new Date() })
        .where(
          anyOf(
            "id",
            expired.map((j) => j.id),
            "uuid",
          ),
        )
        .execute();
      for (const j of expired) {
        tx.deviceEvent({
          eventType: "job.expired",
          deviceId: session.deviceId,
          result: "failure",
          details: { jobId: j.id },
        });
      }
    }
    if (live.length > 0) {
      await tx.db
        .updateTable("device_jobs")
        .set({
          state: "delivered",
          delivered_at: new Date(),
          delivery_count: sql<number>`delivery_count + 1`,
        })
        .where(
          anyOf(
            "id",
            live.map((j) => j.id),
            "uuid",
          ),
        )
        .execute();
      for (const j of live) {
        tx.deviceEvent({
          eventType: "job.delivered",
          deviceId: session.deviceId,
          details: { jobId: j.id, kind: j.kind },
        });
      }
    }
    return live;
  });
  // Fewer than a page means nothing queued is left behind, unless more was queued meanwhile.
  if (rows.length < 50 && session.jobsEpoch === epoch) session.jobsPending = false;
  return rows.map((j) => ({
    id: j.id,
    kind: j.kind as JobKind,
    payload: j.payload,
    createdAt: j.created_at.toISOString(),
    expiresAt: j.expires_at.toISOString(),
  }));
}

/** Records a job's result once; the same report sent again changes nothing. */
/** Told, in the result's transaction, of a job result that was applied (the job was still open). */
export type JobResultListener = (
  tx: OrganizationTransaction,
  job: { id: string; kind: string; deviceId: string },
  report: JobResultReport,
) => Promise<void>;

export async function recordJobResult(
  db: Database,
  session: AgentSession,
  ctx: AuditContext,
  report: JobResultReport,
  listeners: readonly JobResultListener[] = [],
): Promise<{ duplicate: boolean }> {
  return db.withOrganization(session.organizationId, ctx, async (tx) => {
    const seen = await tx.db
      .selectFrom("agent_reports")
      .select("report_id")
      .where("device_id", "=", session.deviceId)
      .where("report_id", "=", report.reportId)
      .executeTakeFirst();
    if (seen) return { duplicate: true };
    const job = await tx.db
      .selectFrom("device_jobs")
      .select(["id", "kind", "state"])
      .where("id", "=", report.jobId)
      .where("device_id", "=", session.deviceId)
      .forUpdate()
      .executeTakeFirst();
    if (!job) throw new AppError("jobs.not_found", { field: "body/jobId" });
    const open = job.state === "queued" || job.state === "delivered";
    if (open) {
      await tx.db
        .updateTable("device_jobs")
        .set({
          state: report.outcome,
          completed_at: new Date(),
          result: JSON.stringify({
            summary: report.summary,
            startedAt: report.startedAt,
            finishedAt: report.finishedAt,
            logExcerpt: report.logExcerpt ?? null,
            ...(report.patch ? { patch: report.patch } : {}),
          }),
        })
        .where("id", "=", job.id)
        .execute();
      for (const listener of listeners) {
        await listener(tx, { id: job.id, kind: job.kind, deviceId: session.deviceId }, report);
      }
    }
    await tx.db
      .insertInto("agent_reports")
      .values({
        device_id: session.deviceId,
        report_id: report.reportId,
        kind: "job.result",
        outcome: JSON.stringify({ jobId: job.id, outcome: report.outcome, applied: open }),
      })
      .execute();
    tx.deviceEvent({
      eventType: open ? `job.${report.outcome}` : "job.result_ignored",
      deviceId: session.deviceId,
      result: report.outcome === "succeeded" ? "success" : "failure",
      details: { jobId: job.id, kind: job.kind, summary: report.summary, state: job.state },
    });
    return { duplicate: false };
  });
}
