import type { PatchJobPayload } from "@patchpilot/protocol";
import { sql } from "kysely";
import type { Database, OrganizationTransaction } from "../../db/database.js";
import { type AuditContext, SYSTEM_WORK } from "../../db/unit-of-work.js";
import { queueJobs } from "../../devices/jobs.js";
import { windowAt } from "../windows/window-schedule.js";

/** Devices queued per rollout per step, so one step of a huge ring stays a short transaction. */
export const DISPATCH_BATCH = 5000;
const TERMINAL = ["succeeded", "failed", "skipped"];

export interface RolloutRow {
  id: string;
  name: string;
  state: string;
  mode: string;
  packages: unknown;
  hold: string[];
  pre_update: unknown;
  health_check: unknown;
  rollback_on_failure: boolean;
  max_reboot_deferrals: number;
  reboot: string;
  window_id: string | null;
  max_attempts: number;
  device_timeout_hours: number;
  current_ring: number;
}

export interface RingRow {
  position: number;
  name: string;
  state: string;
  success_threshold: string;
  soak_minutes: number;
  require_approval: boolean;
  started_at: Date | null;
  settled_at: Date | null;
  approved_at: Date | null;
}

export interface GateMeasure {
  total: number;
  succeeded: number;
  failed: number;
  skipped: number;
  healthFailed: number;
  mismatched: number;
  successPercent: number;
}

/** The job a device of the rollout is sent. */
export function patchPayload(rollout: RolloutRow, ring: RingRow): PatchJobPayload {
  return {
    rolloutId: rollout.id,
    ring: ring.name,
    mode: rollout.mode as PatchJobPayload["mode"],
    packages: rollout.packages as PatchJobPayload["packages"],
    hold: rollout.hold,
    preUpdate: (rollout.pre_update ?? null) as PatchJobPayload["preUpdate"],
    healthCheck: (rollout.health_check ?? null) as PatchJobPayload["healthCheck"],
    rollbackOnFailure: rollout.rollback_on_failure,
    reboot: rollout.reboot as PatchJobPayload["reboot"],
    maxRebootDeferrals: rollout.max_reboot_deferrals,
  };
}

async function measure(
  tx: OrganizationTransaction,
  rolloutId: string,
  ring: number,
): Promise<GateMeasure & { open: number }> {
  const row = await sql<Record<string, number>>`
    SELECT count(*)::int AS total,
           count(*) FILTER (WHERE state = 'succeeded')::int AS succeeded,
           count(*) FILTER (WHERE state = 'failed')::int AS failed,
           count(*) FILTER (WHERE state = 'skipped')::int AS skipped,
           count(*) FILTER (WHERE health = 'failed')::int AS "healthFailed",
           count(*) FILTER (WHERE verified = 'mismatch')::int AS mismatched,
           count(*) FILTER (WHERE state <> ALL(${TERMINAL}::text[]))::int AS open
      FROM rollout_devices WHERE rollout_id = ${rolloutId} AND ring = ${ring}`.execute(tx.db);
  const m = row.rows[0] ?? {};
  const total = m.total ?? 0;
  const succeeded = m.succeeded ?? 0;
  return {
    total,
    succeeded,
    failed: m.failed ?? 0,
    skipped: m.skipped ?? 0,
    healthFailed: m.healthFailed ?? 0,
    mismatched: m.mismatched ?? 0,
    open: m.open ?? 0,
    successPercent: total === 0 ? 0 : Math.round((succeeded / total) * 10_000) / 100,
  };
}

/** Why a settled ring's gate is not met, or null when it is. */
export function gateProblem(m: GateMeasure, threshold: number): string | null {
  if (m.healthFailed > 0) return `${m.healthFailed} device(s) failed the health check after updating`;
  if (m.successPercent < threshold * 100) {
    return `${m.successPercent} % of the ring's devices succeeded; the gate needs ${threshold * 100} %`;
  }
  return null;
}

/**
 * One step of a rollout, in one transaction: start the current ring, queue its due devices (in
 * their maintenance window), give back jobs that expired undelivered, and when every device of the
 * ring has settled, measure the gate — halting the rollout if it is not met, promoting the next ring
 * once the soak time has passed (and a person approved, where the ring asks for it). The rollout
 * row is locked for the step, so two processes never step one rollout at once; a crash rolls the
 * step back, and the next one starts from the state the database holds. Returns whether another
 * step has work to do now.
 */
export async function stepRollout(
  db: Database,
  organizationId: string,
  rolloutId: string,
  now = new Date(),
  context: AuditContext = SYSTEM_WORK,
): Promise<boolean> {
  return db.withOrganization(organizationId, context, async (tx) => {
    const rollout = (await tx.db
      .selectFrom("rollouts")
      .select([
        "id",
        "name",
        "state",
        "mode",
        "packages",
        "hold",
        "pre_update",
        "health_check",
        "rollback_on_failure",
        "max_reboot_deferrals",
        "reboot",
        "window_id",
        "max_attempts",
        "device_timeout_hours",
        "current_ring",
      ])
      .where("id", "=", rolloutId)
      .forUpdate()
      .executeTakeFirst()) as RolloutRow | undefined;
    if (rollout?.state !== "running") return false;
    const ring = (await tx.db
      .selectFrom("rollout_rings")
      .select([
        "position",
        "name",
        "state",
        "success_threshold",
        "soak_minutes",
        "require_approval",
        "started_at",
        "settled_at",
        "approved_at",
      ])
      .where("rollout_id", "=", rolloutId)
      .where("position", "=", rollout.current_ring)
      .executeTakeFirstOrThrow()) as RingRow;

    if (ring.state === "pending") {
      await setRing(tx, rolloutId, ring.position, { state: "active", started_at: now });
      ring.state = "active";
      ring.started_at = now;
      tx.audit({
        action: "rollouts.ring_started",
        target: { type: "rollout", id: rolloutId },
        details: { ring: ring.name, position: ring.position },
      });
    }

    if (ring.state === "active") {
      const more = await dispatch(tx, rollout, ring, now);
      const m = await measure(tx, rolloutId, ring.position);
      if (m.open > 0) return more;
      const problem = gateProblem(m, Number(ring.success_threshold));
      if (problem) {
        await setRing(tx, rolloutId, ring.position, {
          state: "failed",
          settled_at: now,
          measured: JSON.stringify(m),
        });
        await tx.db
          .updateTable("rollouts")
          .set({ state: "halted", halted_reason: `Ring ${ring.name}: ${problem}`, updated_at: now })
          .where("id", "=", rolloutId)
          .execute();
        tx.audit({
          action: "rollouts.halted",
          target: { type: "rollout", id: rolloutId },
          result: "failure",
          errorCode: "rollouts.gate_failed",
          details: { ring: ring.name, reason: problem, measured: m },
        });
        return false;
      }
      await setRing(tx, rolloutId, ring.position, {
        state: "soaking",
        settled_at: now,
        measured: JSON.stringify(m),
      });
      ring.state = "soaking";
      ring.settled_at = now;
      tx.audit({
        action: "rollouts.ring_settled",
        target: { type: "rollout", id: rolloutId },
        details: { ring: ring.name, measured: m },
      });
    }

    if (ring.state === "soaking") {
      const soakEnds = (ring.settled_at?.getTime() ?? now.getTime()) + ring.soak_minutes * 60_000;
      if (now.getTime() < soakEnds) return false;
      // What the soak may have shown: a device whose inventory contradicted its report.
      const m = await measure(tx, rolloutId, ring.position);
      const problem =
        gateProblem(m, Number(ring.success_threshold)) ??
        (m.mismatched > 0 ? `${m.mismatched} device(s) do not show the new versions` : null);
      if (problem) {
        await setRing(tx, rolloutId, ring.position, { state: "failed", measured: JSON.stringify(m) });
        await tx.db
          .updateTable("rollouts")
          .set({ state: "halted", halted_reason: `Ring ${ring.name}: ${problem}`, updated_at: now })
          .where("id", "=", rolloutId)
          .execute();
        tx.audit({
          action: "rollouts.halted",
          target: { type: "rollout", id: rolloutId },
          result: "failure",
          errorCode: "rollouts.gate_failed",
          details: { ring: ring.name, reason: problem, measured: m },
        });
        return false;
      }
      if (ring.require_approval && ring.approved_at === null) {
        await setRing(tx, rolloutId, ring.position, {
          state: "awaiting_approval",
          measured: JSON.stringify(m),
        });
        tx.audit({
          action: "rollouts.awaiting_approval",
          target: { type: "rollout", id: rolloutId },
          details: { ring: ring.name },
        });
        return false;
      }
      ring.state = "passing";
    }
    if (ring.state === "awaiting_approval" && ring.approved_at !== null) ring.state = "passing";

    if (ring.state === "passing") {
      await setRing(tx, rolloutId, ring.position, { state: "passed", passed_at: now });
      const next = await tx.db
        .selectFrom("rollout_rings")
        .select("name")
        .where("rollout_id", "=", rolloutId)
        .where("position", "=", ring.position + 1)
        .executeTakeFirst();
      if (next) {
        await tx.db
          .updateTable("rollouts")
          .set({ current_ring: ring.position + 1, updated_at: now })
          .where("id", "=", rolloutId)
          .execute();
        tx.audit({
          action: "rollouts.ring_promoted",
          target: { type: "rollout", id: rolloutId },
          details: { from: ring.name, to: next.name },
        });
        return true;
      }
      await tx.db
        .updateTable("rollouts")
        .set({ state: "completed", finished_at: now, updated_at: now })
        .where("id", "=", rolloutId)
        .execute();
      tx.audit({
        action: "rollouts.completed",
        target: { type: "rollout", id: rolloutId },
        details: { name: rollout.name },
      });
      return false;
    }
    return false;
  });
}

async function setRing(
  tx: OrganizationTransaction,
  rolloutId: string,
  position: number,
  values: Partial<{
    state: string;
    started_at: Date;
    settled_at: Date;
    passed_at: Date;
    measured: string;
  }>,
): Promise<void> {
  await tx.db
    .updateTable("rollout_rings")
    .set(values)
    .where("rollout_id", "=", rolloutId)
    .where("position", "=", position)
    .execute();
}

/**
 * Queues the ring's due devices (a batch at a time) inside the window, returns jobs that expired
 * without being delivered to their device, and skips devices the ring could not reach in time.
 * Returns whether devices are still due (another step should follow at once).
 */
async function dispatch(
  tx: OrganizationTransaction,
  rollout: RolloutRow,
  ring: RingRow,
  now: Date,
): Promise<boolean> {
  const deadline = new Date((ring.started_at ?? now).getTime() + rollout.device_timeout_hours * 3_600_000);
  // Jobs that expired undelivered (the device was offline): due again, in the next window.
  const expired = await sql<{ device_id: string }>`
    WITH gone AS (
      UPDATE device_jobs j SET state = 'expired', completed_at = ${now}
        FROM rollout_devices rd
       WHERE rd.rollout_id = ${rollout.id} AND rd.ring = ${ring.position} AND rd.state IN ('queued', 'delivered')
         AND j.id = rd.job_id AND j.state IN ('queued', 'delivered') AND j.expires_at <= ${now}
      RETURNING j.device_id)
    UPDATE rollout_devices rd SET state = 'pending', job_id = NULL, reason = 'the device did not pick the job up in time',
                                  updated_at = ${now}
      FROM gone WHERE rd.rollout_id = ${rollout.id} AND rd.device_id = gone.device_id
    RETURNING rd.device_id`.execute(tx.db);
  for (const r of expired.rows) {
    tx.deviceEvent({
      eventType: "rollout.job_expired",
      deviceId: r.device_id,
      details: { rolloutId: rollout.id },
    });
  }
  if (now >= deadline) {
    const skipped = await sql<{ device_id: string }>`
      UPDATE rollout_devices SET state = 'skipped', updated_at = ${now},
             reason = ${`not reached within ${rollout.device_timeout_hours} hours of the ring's start`}
       WHERE rollout_id = ${rollout.id} AND ring = ${ring.position} AND state IN ('pending', 'waiting_window')
      RETURNING device_id`.execute(tx.db);
    for (const r of skipped.rows) {
      tx.deviceEvent({
        eventType: "rollout.skipped",
        deviceId: r.device_id,
        details: { rolloutId: rollout.id },
      });
    }
    return false;
  }
  let expiresAt = deadline;
  if (rollout.window_id) {
    const window = await tx.db
      .selectFrom("maintenance_windows")
      .select(["schedule", "duration_minutes", "time_zone"])
      .where("id", "=", rollout.window_id)
      .executeTakeFirstOrThrow();
    const span = windowAt(
      { schedule: window.schedule, durationMinutes: window.duration_minutes, timeZone: window.time_zone },
      now,
    );
    if (!span.open) {
      await sql`
        UPDATE rollout_devices SET state = 'waiting_window', updated_at = ${now},
               reason = ${`the maintenance window opens at ${span.opensAt.toISOString()}`}
         WHERE rollout_id = ${rollout.id} AND ring = ${ring.position} AND state = 'pending'`.execute(tx.db);
      return false;
    }
    // Delivered by the window's end, or not at all: the device catches up in its next window.
    if (span.closesAt < expiresAt) expiresAt = span.closesAt;
  }
  const due = await tx.db
    .selectFrom("rollout_devices")
    .select("device_id")
    .where("rollout_id", "=", rollout.id)
    .where("ring", "=", ring.position)
    .where("state", "in", ["pending", "waiting_window"])
    .where((eb) => eb.or([eb("next_attempt_at", "is", null), eb("next_attempt_at", "<=", now)]))
    .limit(DISPATCH_BATCH + 1)
    .execute();
  const batch = due.slice(0, DISPATCH_BATCH).map((d) => d.device_id);
  if (batch.length === 0) return false;
  const payload = patchPayload(rollout, ring);
  const jobs = await queueJobs(
    tx,
    SYSTEM_WORK.actor,
    batch.map((deviceId) => ({ deviceId, kind: "patch", payload: { ...payload }, expiresAt })),
  );
  await sql`
    UPDATE rollout_devices rd SET state = 'queued', job_id = q.job_id, attempts = rd.attempts + 1, reason = NULL,
                                  next_attempt_at = NULL, updated_at = ${now}
      FROM unnest(${[...jobs.keys()]}::uuid[], ${[...jobs.values()]}::uuid[]) AS q(device_id, job_id)
     WHERE rd.rollout_id = ${rollout.id} AND rd.device_id = q.device_id`.execute(tx.db);
  return due.length > DISPATCH_BATCH;
}
