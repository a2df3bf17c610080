import type { PatchJobResult } from "@patchpilot/protocol";
import { sql } from "kysely";
import type { Database, OrganizationTransaction } from "../../db/database.js";
import { AppError } from "../../http/errors.js";
import { decodeCursor, encodeCursor, type Page, preciseTimestamp } from "../../http/pagination.js";
import { type RequestContext, scopeOf } from "../../http/route.js";

const iso = (d: Date | null) => (d ? d.toISOString() : null);

interface CountRow {
  ring: number;
  total: number;
  pending: number;
  waiting_window: number;
  queued: number;
  delivered: number;
  succeeded: number;
  failed: number;
  skipped: number;
  health_failed: number;
  verified: number;
}

async function ringCounts(tx: OrganizationTransaction, rolloutId: string): Promise<Map<number, CountRow>> {
  const rows = await sql<CountRow>`
    SELECT ring, count(*)::int AS total,
           count(*) FILTER (WHERE state = 'pending')::int AS pending,
           count(*) FILTER (WHERE state = 'waiting_window')::int AS waiting_window,
           count(*) FILTER (WHERE state = 'queued')::int AS queued,
           count(*) FILTER (WHERE state = 'delivered')::int AS delivered,
           count(*) FILTER (WHERE state = 'succeeded')::int AS succeeded,
           count(*) FILTER (WHERE state = 'failed')::int AS failed,
           count(*) FILTER (WHERE state = 'skipped')::int AS skipped,
           count(*) FILTER (WHERE health = 'failed')::int AS health_failed,
           count(*) FILTER (WHERE verified = 'verified')::int AS verified
      FROM rollout_devices WHERE rollout_id = ${rolloutId} GROUP BY ring`.execute(tx.db);
  return new Map(rows.rows.map((r) => [r.ring, r]));
}

/**
 * When the rollout should be done, from what it has taken so far: the current ring's pace
 * (settled devices per minute since it started) for the devices left, plus each ring's soak.
 */
function estimateCompletion(
  rings: { position: number; soak_minutes: number; started_at: Date | null; state: string }[],
  counts: Map<number, CountRow>,
  current: number,
  now: Date,
): string | null {
  const ring = rings.find((r) => r.position === current);
  if (!ring?.started_at) return null;
  const c = counts.get(current);
  if (!c) return null;
  const settled = c.succeeded + c.failed + c.skipped;
  const elapsed = Math.max(1, (now.getTime() - ring.started_at.getTime()) / 60_000);
  if (settled === 0) return null;
  const perMinute = settled / elapsed;
  let minutes = (c.total - settled) / perMinute;
  for (const r of rings.filter((r) => r.position >= current && r.state !== "passed")) {
    minutes += r.soak_minutes;
    if (r.position > current) minutes += (counts.get(r.position)?.total ?? 0) / perMinute;
  }
  return new Date(now.getTime() + minutes * 60_000).toISOString();
}

export async function loadRollout(tx: OrganizationTransaction, rolloutId: string) {
  const rollout = await tx.db
    .selectFrom("rollouts")
    .selectAll()
    .where("id", "=", rolloutId)
    .executeTakeFirst();
  if (!rollout) throw new AppError("rollouts.not_found");
  const rings = await tx.db
    .selectFrom("rollout_rings")
    .selectAll()
    .where("rollout_id", "=", rolloutId)
    .orderBy("position")
    .execute();
  const counts = await ringCounts(tx, rolloutId);
  const now = new Date();
  return {
    id: rollout.id,
    name: rollout.name,
    state: rollout.state,
    mode: rollout.mode,
    packages: rollout.packages as { name: string; version?: string }[],
    hold: rollout.hold,
    reboot: rollout.reboot,
    windowId: rollout.window_id,
    currentRing: rollout.current_ring,
    haltedReason: rollout.halted_reason,
    createdAt: rollout.created_at.toISOString(),
    finishedAt: iso(rollout.finished_at),
    estimatedCompletionAt:
      rollout.state === "running" ? estimateCompletion(rings, counts, rollout.current_ring, now) : null,
    rings: rings.map((r) => {
      const c = counts.get(r.position);
      return {
        position: r.position,
        name: r.name,
        groupIds: r.group_ids,
        gate: {
          successPercent: Math.round(Number(r.success_threshold) * 10_000) / 100,
          soakMinutes: r.soak_minutes,
          requireApproval: r.require_approval,
        },
        state: r.state,
        startedAt: iso(r.started_at),
        settledAt: iso(r.settled_at),
        passedAt: iso(r.passed_at),
        approvedAt: iso(r.approved_at),
        measured: r.measured as Record<string, unknown>,
        counts: {
          total: c?.total ?? 0,
          pending: c?.pending ?? 0,
          waitingWindow: c?.waiting_window ?? 0,
          queued: c?.queued ?? 0,
          delivered: c?.delivered ?? 0,
          succeeded: c?.succeeded ?? 0,
          failed: c?.failed ?? 0,
          skipped: c?.skipped ?? 0,
          healthFailed: c?.health_failed ?? 0,
          verified: c?.verified ?? 0,
        },
      };
    }),
  };
}

export type RolloutView = Awaited<ReturnType<typeof loadRollout>>;

export async function getRollout(db: Database, ctx: RequestContext, rolloutId: string): Promise<RolloutView> {
  return db.withOrganization(scopeOf(ctx).organizationId, ctx, (tx) => loadRollout(tx, rolloutId));
}

export async function listRollouts(
  db: Database,
  ctx: RequestContext,
  query: { limit: number; cursor?: string; state?: string },
): Promise<
  Page<{ id: string; name: string; state: string; mode: string; currentRing: number; createdAt: string }>
> {
  const after = query.cursor ? decodeCursor(query.cursor) : null;
  return db.withOrganization(scopeOf(ctx).organizationId, ctx, async (tx) => {
    let q = tx.db
      .selectFrom("rollouts")
      .select(["id", "name", "state", "mode", "current_ring", preciseTimestamp("created_at").as("at")])
      .orderBy("created_at", "desc")
      .orderBy("id", "desc")
      .limit(query.limit + 1);
    if (query.state) q = q.where("state", "=", query.state);
    if (after) q = q.where(sql<boolean>`(created_at, id) < (${after.at}::timestamptz, ${after.id}::uuid)`);
    const rows = await q.execute();
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return {
      items: page.map((r) => ({
        id: r.id,
        name: r.name,
        state: r.state,
        mode: r.mode,
        currentRing: r.current_ring,
        createdAt: r.at,
      })),
      nextCursor: rows.length > query.limit && last ? encodeCursor({ at: last.at, id: last.id }) : null,
    };
  });
}

/** Each targeted device's progress, by ring and hostname; filters by ring and state. */
export async function listRolloutDevices(
  db: Database,
  ctx: RequestContext,
  rolloutId: string,
  query: { limit: number; cursor?: string; ring?: number; state?: string },
) {
  const after = query.cursor ? decodeCursor(query.cursor) : null;
  return db.withOrganization(scopeOf(ctx).organizationId, ctx, async (tx) => {
    const exists = await tx.db
      .selectFrom("rollouts")
      .select("id")
      .where("id", "=", rolloutId)
      .executeTakeFirst();
    if (!exists) throw new AppError("rollouts.not_found");
    let q = tx.db
      .selectFrom("rollout_devices as rd")
      .innerJoin("devices as d", "d.id", "rd.device_id")
      .select([
        "rd.device_id",
        "d.hostname",
        "rd.ring",
        "rd.state",
        "rd.attempts",
        "rd.next_attempt_at",
        "rd.reason",
        "rd.health",
        "rd.verified",
        "rd.log_excerpt",
        "rd.result",
        "rd.updated_at",
      ])
      .where("rd.rollout_id", "=", rolloutId)
      .orderBy("rd.device_id")
      .limit(query.limit + 1);
    if (query.ring !== undefined) q = q.where("rd.ring", "=", query.ring);
    if (query.state) q = q.where("rd.state", "=", query.state);
    if (after) q = q.where("rd.device_id", ">", after.id);
    const rows = await q.execute();
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return {
      items: page.map((r) => ({
        deviceId: r.device_id,
        hostname: r.hostname,
        ring: r.ring,
        state: r.state,
        attempts: r.attempts,
        nextAttemptAt: iso(r.next_attempt_at),
        reason: r.reason,
        health: r.health,
        verified: r.verified,
        logExcerpt: r.log_excerpt,
        steps: stepsOf(r.result as PatchJobResult | null),
        packages: ((r.result as { packages?: Record<string, unknown>[] } | null)?.packages ?? []).slice(
          0,
          200,
        ),
        updatedAt: r.updated_at.toISOString(),
      })),
      nextCursor:
        rows.length > query.limit && last
          ? encodeCursor({ at: last.updated_at.toISOString(), id: last.device_id })
          : null,
    };
  });
}

const step = (s: { status: string; exitCode: number | null }) => ({ status: s.status, exitCode: s.exitCode });

/** What each step of the device's last job did, without the logs (the excerpt carries those). */
function stepsOf(result: PatchJobResult | null) {
  if (!result?.preUpdate) return null;
  return {
    preUpdate: step(result.preUpdate),
    install: { exitCode: result.install.exitCode },
    healthCheck: step(result.healthCheck),
    rollback: step(result.rollback),
    rebootRequired: result.rebootRequired,
  };
}

/** The rollouts a device took part in, newest first: its ring, its state and why. */
export async function listDeviceRollouts(
  db: Database,
  ctx: RequestContext,
  deviceId: string,
  query: { limit: number; cursor?: string },
) {
  const after = query.cursor ? decodeCursor(query.cursor) : null;
  return db.withOrganization(scopeOf(ctx).organizationId, ctx, async (tx) => {
    const device = await tx.db
      .selectFrom("devices")
      .select("id")
      .where("id", "=", deviceId)
      .executeTakeFirst();
    if (!device) throw new AppError("devices.not_found");
    let q = tx.db
      .selectFrom("rollout_devices as rd")
      .innerJoin("rollouts as r", "r.id", "rd.rollout_id")
      .innerJoin("rollout_rings as g", (join) =>
        join.onRef("g.rollout_id", "=", "rd.rollout_id").onRef("g.position", "=", "rd.ring"),
      )
      .select([
        "r.id",
        "r.name",
        "r.state as rollout_state",
        "r.mode",
        "r.finished_at",
        preciseTimestamp("r.created_at").as("at"),
        "rd.ring",
        "g.name as ring_name",
        "rd.state",
        "rd.attempts",
        "rd.reason",
        "rd.health",
        "rd.verified",
        "rd.updated_at",
      ])
      .where("rd.device_id", "=", deviceId)
      .orderBy("r.created_at", "desc")
      .orderBy("r.id", "desc")
      .limit(query.limit + 1);
    if (after)
      q = q.where(sql<boolean>`(r.created_at, r.id) < (${after.at}::timestamptz, ${after.id}::uuid)`);
    const rows = await q.execute();
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return {
      items: page.map((r) => ({
        rolloutId: r.id,
        name: r.name,
        rolloutState: r.rollout_state,
        mode: r.mode,
        createdAt: r.at,
        finishedAt: iso(r.finished_at),
        ring: r.ring,
        ringName: r.ring_name,
        state: r.state,
        attempts: r.attempts,
        reason: r.reason,
        health: r.health,
        verified: r.verified,
        updatedAt: r.updated_at.toISOString(),
      })),
      nextCursor: rows.length > query.limit && last ? encodeCursor({ at: last.at, id: last.id }) : null,
    };
  });
}
