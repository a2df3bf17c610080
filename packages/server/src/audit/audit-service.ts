import type { Database } from "../db/database.js";
import { AppError } from "../http/errors.js";
import type { Page } from "../http/pagination.js";
import { type RequestContext, scopeOf } from "../http/route.js";
import { type ChainReport, verifyChain } from "./verify.js";

export interface AuditEventView {
  id: string;
  seq: number;
  occurredAt: string;
  actor: { type: string; id: string | null };
  action: string;
  target: { type: string; id: string } | null;
  result: string;
  errorCode: string | null;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

export interface AuditFilters {
  from?: string;
  to?: string;
  actorId?: string;
  action?: string;
  targetType?: string;
  targetId?: string;
  result?: "success" | "failure";
  cursor?: string;
  limit: number;
}

/** Cursor over seq, newest first: the seq of the last row returned. */
function seqCursor(cursor: string | undefined): number | null {
  if (cursor === undefined) return null;
  if (!/^[1-9][0-9]{0,15}$/.test(cursor)) {
    throw new AppError("request.invalid", { field: "cursor", message: "The cursor is not valid." });
  }
  return Number(cursor);
}

export async function listAuditEvents(
  db: Database,
  ctx: RequestContext,
  f: AuditFilters,
): Promise<Page<AuditEventView>> {
  const { organizationId } = scopeOf(ctx);
  const before = seqCursor(f.cursor);
  const rows = await db.withOrganization(organizationId, ctx, async (tx) => {
    let q = tx.db
      .selectFrom("audit_events")
      .selectAll()
      .orderBy("seq", "desc")
      .limit(f.limit + 1);
    if (before !== null) q = q.where("seq", "<", before);
    if (f.from) q = q.where("occurred_at", ">=", new Date(f.from));
    if (f.to) q = q.where("occurred_at", "<", new Date(f.to));
    if (f.actorId) q = q.where("actor_id", "=", f.actorId);
    if (f.action) {
      // `users.*` matches every action of a capability.
      q = f.action.endsWith(".*")
        ? q.where("action", "like", `${f.action.slice(0, -1).replace(/[\\%_]/g, "\\$&")}%`)
        : q.where("action", "=", f.action);
    }
    if (f.targetType) q = q.where("target_type", "=", f.targetType);
    if (f.targetId) q = q.where("target_id", "=", f.targetId);
    if (f.result) q = q.where("result", "=", f.result);
    return q.execute();
  });
  const page = rows.slice(0, f.limit);
  return {
    items: page.map((r) => ({
      id: r.id,
      seq: r.seq,
      occurredAt: r.occurred_at.toISOString(),
      actor: { type: r.actor_type, id: r.actor_id },
      action: r.action,
      target: r.target_type && r.target_id ? { type: r.target_type, id: r.target_id } : null,
      result: r.result,
      errorCode: r.error_code,
      ip: r.ip,
      userAgent: r.user_agent,
      requestId: r.request_id,
      details: r.details,
      prevHash: Buffer.from(r.prev_hash).toString("hex"),
      hash: Buffer.from(r.hash).toString("hex"),
    })),
    nextCursor: rows.length > f.limit ? String(page.at(-1)?.seq) : null,
  };
}

export interface DeviceEventFilters {
  from?: string;
  to?: string;
  deviceId?: string;
  eventType?: string;
  cursor?: string;
  limit: number;
}

export async function listDeviceEvents(db: Database, ctx: RequestContext, f: DeviceEventFilters) {
  const { organizationId } = scopeOf(ctx);
  const before = seqCursor(f.cursor);
  const rows = await db.withOrganization(organizationId, ctx, async (tx) => {
    let q = tx.db
      .selectFrom("device_events")
      .selectAll()
      .orderBy("seq", "desc")
      .limit(f.limit + 1);
    if (before !== null) q = q.where("seq", "<", before);
    if (f.from) q = q.where("occurred_at", ">=", new Date(f.from));
    if (f.to) q = q.where("occurred_at", "<", new Date(f.to));
    if (f.deviceId) q = q.where("device_id", "=", f.deviceId);
    if (f.eventType) q = q.where("event_type", "=", f.eventType);
    return q.execute();
  });
  const page = rows.slice(0, f.limit);
  return {
    items: page.map((r) => ({
      id: r.id,
      seq: r.seq,
      occurredAt: r.occurred_at.toISOString(),
      deviceId: r.device_id,
      actor: { type: r.actor_type, id: r.actor_id },
      eventType: r.event_type,
      result: r.result,
      errorCode: r.error_code,
      requestId: r.request_id,
      details: r.details,
      prevHash: Buffer.from(r.prev_hash).toString("hex"),
      hash: Buffer.from(r.hash).toString("hex"),
    })),
    nextCursor: rows.length > f.limit ? String(page.at(-1)?.seq) : null,
  };
}

/** The organisation's own chains, verified through its tenant handle. */
export async function verifyOwnChains(db: Database, ctx: RequestContext): Promise<ChainReport[]> {
  const { organizationId } = scopeOf(ctx);
  return db.withOrganization(organizationId, ctx, async (tx) => [
    await verifyChain(tx.db, organizationId, "audit"),
    await verifyChain(tx.db, organizationId, "device"),
  ]);
}
