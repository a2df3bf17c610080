import type { Readable } from "node:stream";
import type { Database } from "../../db/database.js";
import type { AuditEventsTable, DeviceEventsTable } from "../../db/schema.js";
import { type CsvColumn, csvStream } from "../../http/csv.js";
import { AppError } from "../../http/errors.js";
import { type RequestContext, scopeOf } from "../../http/route.js";

type Selected<T> = { [K in keyof T]: T[K] extends { __select__: infer S } ? S : T[K] };
type AuditRow = Selected<AuditEventsTable>;
type DeviceRow = Selected<DeviceEventsTable>;

export interface AuditExportFilters {
  from?: string;
  to?: string;
  actorId?: string;
  action?: string;
  targetType?: string;
  targetId?: string;
  result?: "success" | "failure";
}

export interface DeviceExportFilters {
  from?: string;
  to?: string;
  deviceId?: string;
  eventType?: string;
}

const PAGE = 5000;
const hex = (b: Buffer) => Buffer.from(b).toString("hex");
const json = (v: unknown) => JSON.stringify(v);

/** The export's columns, in order; a renamed header is a breaking change for people's tooling. */
const AUDIT_COLUMNS: CsvColumn<AuditRow>[] = [
  { header: "seq", value: (r) => r.seq },
  { header: "id", value: (r) => r.id },
  { header: "occurred_at", value: (r) => r.occurred_at },
  { header: "actor_type", value: (r) => r.actor_type },
  { header: "actor_id", value: (r) => r.actor_id },
  { header: "action", value: (r) => r.action },
  { header: "target_type", value: (r) => r.target_type },
  { header: "target_id", value: (r) => r.target_id },
  { header: "result", value: (r) => r.result },
  { header: "error_code", value: (r) => r.error_code },
  { header: "ip", value: (r) => r.ip },
  { header: "user_agent", value: (r) => r.user_agent },
  { header: "request_id", value: (r) => r.request_id },
  { header: "details", value: (r) => json(r.details) },
  { header: "prev_hash", value: (r) => hex(r.prev_hash) },
  { header: "hash", value: (r) => hex(r.hash) },
];

const DEVICE_COLUMNS: CsvColumn<DeviceRow>[] = [
  { header: "seq", value: (r) => r.seq },
  { header: "id", value: (r) => r.id },
  { header: "occurred_at", value: (r) => r.occurred_at },
  { header: "device_id", value: (r) => r.device_id },
  { header: "actor_type", value: (r) => r.actor_type },
  { header: "actor_id", value: (r) => r.actor_id },
  { header: "event_type", value: (r) => r.event_type },
  { header: "result", value: (r) => r.result },
  { header: "error_code", value: (r) => r.error_code },
  { header: "request_id", value: (r) => r.request_id },
  { header: "details", value: (r) => json(r.details) },
  { header: "prev_hash", value: (r) => hex(r.prev_hash) },
  { header: "hash", value: (r) => hex(r.hash) },
];

function checkRange(from?: string, to?: string) {
  if (from && to && new Date(from).getTime() > new Date(to).getTime()) {
    throw new AppError("compliance.invalid_range", { field: "to" });
  }
}

/**
 * Pages of rows in `seq` order; the next page is read while the consumer writes this one out
 * (each page in its own short transaction, so a slow download holds no transaction open).
 */
async function* pagesBySeq<R extends { seq: number }>(
  read: (afterSeq: number) => Promise<R[]>,
): AsyncGenerator<R[]> {
  const fetch = (afterSeq: number) => {
    const page = read(afterSeq);
    page.catch(() => undefined); // awaited below; an abandoned read must not be unhandled
    return page;
  };
  let next = fetch(0);
  for (;;) {
    const rows = await next;
    const last = rows.at(-1);
    const more = rows.length === PAGE && last !== undefined;
    if (more) next = fetch(last.seq);
    if (rows.length > 0) yield rows;
    if (!more) return;
  }
}

function auditPages(db: Database, ctx: RequestContext, f: AuditExportFilters): AsyncGenerator<AuditRow[]> {
  const { organizationId } = scopeOf(ctx);
  return pagesBySeq((after) =>
    db.withOrganization(organizationId, ctx, (tx) => {
      let q = tx.db
        .selectFrom("audit_events")
        .selectAll()
        .where("seq", ">", after)
        .orderBy("seq")
        .limit(PAGE);
      if (f.from) q = q.where("occurred_at", ">=", new Date(f.from));
      if (f.to) q = q.where("occurred_at", "<", new Date(f.to));
      if (f.actorId) q = q.where("actor_id", "=", f.actorId);
      if (f.action) {
        q = f.action.endsWith(".*")
          ? q.where("action", "like", `${f.action.slice(0, -1).replace(/[\\%_]/g, "\\$&")}%`)
          : q.where("action", "=", f.action);
      }
      if (f.targetType) q = q.where("target_type", "=", f.targetType);
      if (f.targetId) q = q.where("target_id", "=", f.targetId);
      if (f.result) q = q.where("result", "=", f.result);
      return q.execute();
    }),
  );
}

function devicePages(db: Database, ctx: RequestContext, f: DeviceExportFilters): AsyncGenerator<DeviceRow[]> {
  const { organizationId } = scopeOf(ctx);
  return pagesBySeq((after) =>
    db.withOrganization(organizationId, ctx, (tx) => {
      let q = tx.db
        .selectFrom("device_events")
        .selectAll()
        .where("seq", ">", after)
        .orderBy("seq")
        .limit(PAGE);
      if (f.from) q = q.where("occurred_at", ">=", new Date(f.from));
      if (f.to) q = q.where("occurred_at", "<", new Date(f.to));
      if (f.deviceId) q = q.where("device_id", "=", f.deviceId);
      if (f.eventType) q = q.where("event_type", "=", f.eventType);
      return q.execute();
    }),
  );
}

/**
 * The organisation's audit events matching the read API's filters as CSV, oldest first, a page
 * at a time (bounded memory however many rows). The export is audited before the first row
 * leaves, so the export itself is in the trail it exports (as its last row, when the range
 * reaches now).
 */
export async function exportAuditEventsCsv(
  db: Database,
  ctx: RequestContext,
  filters: AuditExportFilters,
): Promise<Readable> {
  checkRange(filters.from, filters.to);
  const { organizationId } = scopeOf(ctx);
  await db.withOrganization(organizationId, ctx, async (tx) => {
    tx.audit({
      action: "audit.exported",
      details: { format: "csv", chain: "audit", filters: { ...filters } },
    });
  });
  return csvStream(AUDIT_COLUMNS, auditPages(db, ctx, filters));
}

export async function exportDeviceEventsCsv(
  db: Database,
  ctx: RequestContext,
  filters: DeviceExportFilters,
): Promise<Readable> {
  checkRange(filters.from, filters.to);
  const { organizationId } = scopeOf(ctx);
  await db.withOrganization(organizationId, ctx, async (tx) => {
    tx.audit({
      action: "audit.exported",
      details: { format: "csv", chain: "device", filters: { ...filters } },
    });
  });
  return csvStream(DEVICE_COLUMNS, devicePages(db, ctx, filters));
}
