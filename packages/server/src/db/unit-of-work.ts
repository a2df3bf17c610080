import { sql, type Transaction } from "kysely";
import {
  type AuditEventContent,
  auditContentDigest,
  chainHash,
  type DeviceEventContent,
  deviceContentDigest,
  sanitizeDetails,
} from "../audit/chain.js";
import type { DB } from "./schema.js";

/** Who did something; people and devices are named by id only, so erasing a person keeps the chain. */
export type Actor =
  | { type: "user"; id: string }
  | { type: "api_token"; id: string }
  | { type: "device"; id: string }
  | { type: "system"; id: string | null }
  | { type: "anonymous"; id: null };

/** What every audit row records about the request it came from. */
export interface AuditContext {
  actor: Actor;
  requestId: string | null;
  ip: string | null;
  userAgent: string | null;
  /**
   * What names the actor beyond its id, recorded in every row's details as `actor`: an API
   * token's name, or the MSP a technician acts for in a client organisation.
   */
  actorDetails?: Readonly<Record<string, string>>;
}

/** The context of work the system does on its own (jobs, matching, housekeeping): no person, no request. */
export const SYSTEM_WORK: AuditContext = Object.freeze({
  actor: Object.freeze({ type: "system" as const, id: null }),
  requestId: null,
  ip: null,
  userAgent: null,
});

export interface AuditEventInput {
  /** `<capability>.<verb>`, e.g. `users.role_changed`. */
  action: string;
  target?: { type: string; id: string };
  result?: "success" | "failure";
  errorCode?: string;
  details?: Record<string, unknown>;
  /** Who acted, when the unit of work learnt it only inside the transaction (single sign-on); else the context's actor. */
  actor?: Actor;
}

export interface DeviceEventInput {
  eventType: string;
  deviceId: string | null;
  result?: "success" | "failure";
  errorCode?: string;
  details?: Record<string, unknown>;
}

export class AuditMissingError extends Error {
  override name = "AuditMissingError";
  constructor() {
    super("a unit of work changed data without writing an audit row; it was rolled back");
  }
}

type Pending =
  | { chain: "audit"; content: AuditEventContent }
  | { chain: "device"; content: DeviceEventContent };

/**
 * Audit rows queued by a unit of work. They are written just before commit, in the same
 * transaction as the change, so the chain head's row lock is held for as short a time as possible.
 */
export class AuditQueue {
  readonly pending: Pending[] = [];

  constructor(private readonly context: AuditContext) {}

  audit(organizationId: string, event: AuditEventInput): void {
    this.pending.push({
      chain: "audit",
      content: {
        organizationId,
        occurredAt: new Date(),
        actorType: (event.actor ?? this.context.actor).type,
        actorId: (event.actor ?? this.context.actor).id,
        action: event.action,
        targetType: event.target?.type ?? null,
        targetId: event.target?.id ?? null,
        result: event.result ?? "success",
        errorCode: event.errorCode ?? null,
        ip: this.context.ip,
        userAgent: this.context.userAgent,
        requestId: this.context.requestId,
        details: sanitizeDetails(
          this.context.actorDetails
            ? { ...event.details, actor: this.context.actorDetails }
            : (event.details ?? {}),
        ),
      },
    });
  }

  deviceEvent(organizationId: string, event: DeviceEventInput): void {
    this.pending.push({
      chain: "device",
      content: {
        organizationId,
        occurredAt: new Date(),
        deviceId: event.deviceId,
        actorType: this.context.actor.type,
        actorId: this.context.actor.id,
        eventType: event.eventType,
        result: event.result ?? "success",
        errorCode: event.errorCode ?? null,
        requestId: this.context.requestId,
        details: sanitizeDetails(event.details ?? {}),
      },
    });
  }

  /**
   * Appends every queued row to its chain. A chain that gets one row takes one statement; a chain
   * that gets several takes two (lock the head, then insert them all and advance the head), however
   * many rows, so a batch holds the head's lock for two round trips instead of one per row.
   */
  async flush(trx: Transaction<DB>): Promise<void> {
    // Lock heads in a fixed order so two transactions touching several chains cannot deadlock.
    const ordered = [...this.pending].sort((a, b) => chainKey(a).localeCompare(chainKey(b)));
    let start = 0;
    while (start < ordered.length) {
      let end = start + 1;
      while (
        end < ordered.length &&
        chainKey(ordered[end] as Pending) === chainKey(ordered[start] as Pending)
      )
        end++;
      const group = ordered.slice(start, end);
      const first = group[0] as Pending;
      const inserted =
        group.length > 1
          ? await appendBatch(trx, group)
          : first.chain === "audit"
            ? await insertAudit(trx, first.content)
            : await insertDevice(trx, first.content);
      if (inserted !== group.length)
        throw new Error(`no ${first.chain} chain for organisation ${first.content.organizationId}`);
      start = end;
    }
    this.pending.length = 0;
  }
}

const chainKey = (item: Pending): string => `${item.content.organizationId}:${item.chain}`;

/**
 * Appends one row to an organisation's chain in a single statement: the head row is advanced
 * (taking its lock, which orders concurrent writers) and its new hash becomes the row's hash.
 */
async function appendToChain(
  trx: Transaction<DB>,
  chain: "audit" | "device",
  organizationId: string,
  contentDigest: Buffer,
  columns: Record<string, unknown>,
): Promise<number> {
  const names = Object.keys(columns);
  const table = chain === "audit" ? "audit_events" : "device_events";
  const result = await sql`
    WITH head AS (
      UPDATE audit_chain_heads
         SET seq = seq + 1, prev_hash = head_hash,
             head_hash = sha256(head_hash || int8send(seq + 1) || ${contentDigest})
       WHERE organization_id = ${organizationId} AND chain = ${chain}
       RETURNING organization_id, seq, prev_hash, head_hash)
    INSERT INTO ${sql.table(table)} (organization_id, seq, ${sql.join(names.map((n) => sql.ref(n)))}, prev_hash, hash)
    SELECT organization_id, seq, ${sql.join(names.map((n) => columns[n]))}, prev_hash, head_hash
      FROM head`.execute(trx);
  return Number(result.numAffectedRows ?? 0n);
}

function insertAudit(trx: Transaction<DB>, e: AuditEventContent): Promise<number> {
  return appendToChain(trx, "audit", e.organizationId, auditContentDigest(e), {
    occurred_at: e.occurredAt,
    actor_type: e.actorType,
    actor_id: e.actorId,
    action: e.action,
    target_type: e.targetType,
    target_id: e.targetId,
    result: e.result,
    error_code: e.errorCode,
    ip: e.ip,
    user_agent: e.userAgent,
    request_id: e.requestId,
    details: sql`${JSON.stringify(e.details)}::jsonb`,
  });
}

function insertDevice(trx: Transaction<DB>, e: DeviceEventContent): Promise<number> {
  return appendToChain(trx, "device", e.organizationId, deviceContentDigest(e), {
    occurred_at: e.occurredAt,
    device_id: e.deviceId,
    actor_type: e.actorType,
    actor_id: e.actorId,
    event_type: e.eventType,
    result: e.result,
    error_code: e.errorCode,
    request_id: e.requestId,
    details: sql`${JSON.stringify(e.details)}::jsonb`,
  });
}

/** The rows of a batch, chained: their sequence numbers and hashes as the statement takes them. */
interface ChainedBatch {
  organizationId: string;
  chain: "audit" | "device";
  startSeq: number;
  seqs: string[];
  prevHashes: string[];
  hashes: string[];
}

/**
 * Locks and reads a chain's head, then chains `digests` onto it with the same function the
 * verifier uses. Null when the organisation has no such chain.
 */
async function chainBatch(
  trx: Transaction<DB>,
  organizationId: string,
  chain: "audit" | "device",
  digests: readonly Buffer[],
): Promise<ChainedBatch | null> {
  const head = await sql<{ seq: string | number; head_hash: Uint8Array }>`
    SELECT seq, head_hash FROM audit_chain_heads
     WHERE organization_id = ${organizationId} AND chain = ${chain}
       FOR UPDATE`.execute(trx);
  const row = head.rows[0];
  if (row === undefined) return null;
  const batch: ChainedBatch = {
    organizationId,
    chain,
    startSeq: Number(row.seq),
    seqs: [],
    prevHashes: [],
    hashes: [],
  };
  let prev: Buffer = Buffer.from(row.head_hash);
  for (const [i, digest] of digests.entries()) {
    const seq = batch.startSeq + i + 1;
    const hash = chainHash(prev, seq, digest);
    batch.seqs.push(String(seq));
    batch.prevHashes.push(prev.toString("hex"));
    batch.hashes.push(hash.toString("hex"));
    prev = hash;
  }
  return batch;
}

/** Moves the head to the batch's last row, only if no one moved it since it was read (it is locked). */
function advanceHead(batch: ChainedBatch) {
  const last = batch.seqs.length - 1;
  return sql`
    UPDATE audit_chain_heads
       SET seq = ${batch.seqs[last]}::bigint, prev_hash = decode(${batch.prevHashes[last]}, 'hex'),
           head_hash = decode(${batch.hashes[last]}, 'hex')
     WHERE organization_id = ${batch.organizationId} AND chain = ${batch.chain}
       AND seq = ${String(batch.startSeq)}::bigint
     RETURNING organization_id`;
}

/**
 * Appends several rows to one chain in two statements: lock and read the head, then insert every
 * row and advance the head. The insert's text is the same for any number of rows (arrays, not a
 * VALUES list), so PostgreSQL keeps one prepared statement for it.
 */
async function appendBatch(trx: Transaction<DB>, group: readonly Pending[]): Promise<number> {
  const audit: AuditEventContent[] = [];
  const device: DeviceEventContent[] = [];
  for (const item of group) {
    if (item.chain === "audit") audit.push(item.content);
    else device.push(item.content);
  }
  return audit.length > 0 ? appendAuditBatch(trx, audit) : appendDeviceBatch(trx, device);
}

async function appendAuditBatch(trx: Transaction<DB>, rows: readonly AuditEventContent[]): Promise<number> {
  const organizationId = rows[0]?.organizationId ?? "";
  const batch = await chainBatch(trx, organizationId, "audit", rows.map(auditContentDigest));
  if (batch === null) return 0;
  const column = <T>(pick: (e: AuditEventContent) => T) => rows.map(pick);
  const result = await sql`
    WITH head AS (${advanceHead(batch)})
    INSERT INTO audit_events (organization_id, seq, occurred_at, actor_type, actor_id, action, target_type,
                              target_id, result, error_code, ip, user_agent, request_id, details, prev_hash, hash)
    SELECT head.organization_id, r.seq, r.occurred_at, r.actor_type, r.actor_id, r.action, r.target_type,
           r.target_id, r.result, r.error_code, r.ip, r.user_agent, r.request_id, r.details::jsonb,
           decode(r.prev_hash, 'hex'), decode(r.hash, 'hex')
      FROM head, unnest(${batch.seqs}::bigint[], ${column((e) => e.occurredAt.toISOString())}::timestamptz[],
                        ${column((e) => e.actorType)}::text[], ${column((e) => e.actorId)}::text[],
                        ${column((e) => e.action)}::text[], ${column((e) => e.targetType)}::text[],
                        ${column((e) => e.targetId)}::text[], ${column((e) => e.result)}::text[],
                        ${column((e) => e.errorCode)}::text[], ${column((e) => e.ip)}::text[],
                        ${column((e) => e.userAgent)}::text[], ${column((e) => e.requestId)}::text[],
                        ${column((e) => JSON.stringify(e.details))}::text[], ${batch.prevHashes}::text[],
                        ${batch.hashes}::text[])
           AS r(seq, occurred_at, actor_type, actor_id, action, target_type, target_id, result, error_code,
                ip, user_agent, request_id, details, prev_hash, hash)
     ORDER BY r.seq`.execute(trx);
  return Number(result.numAffectedRows ?? 0n);
}

async function appendDeviceBatch(trx: Transaction<DB>, rows: readonly DeviceEventContent[]): Promise<number> {
  const organizationId = rows[0]?.organizationId ?? "";
  const batch = await chainBatch(trx, organizationId, "device", rows.map(deviceContentDigest));
  if (batch === null) return 0;
  const column = <T>(pick: (e: DeviceEventContent) => T) => rows.map(pick);
  const result = await sql`
    WITH head AS (${advanceHead(batch)})
    INSERT INTO device_events (organization_id, seq, occurred_at, device_id, actor_type, actor_id, event_type,
                               result, error_code, request_id, details, prev_hash, hash)
    SELECT head.organization_id, r.seq, r.occurred_at, r.device_id, r.actor_type, r.actor_id, r.event_type,
           r.result, r.error_code, r.request_id, r.details::jsonb, decode(r.prev_hash, 'hex'), decode(r.hash, 'hex')
      FROM head, unnest(${batch.seqs}::bigint[], ${column((e) => e.occurredAt.toISOString())}::timestamptz[],
                        ${column((e) => e.deviceId)}::uuid[], ${column((e) => e.actorType)}::text[],
                        ${column((e) => e.actorId)}::text[], ${column((e) => e.eventType)}::text[],
                        ${column((e) => e.result)}::text[], ${column((e) => e.errorCode)}::text[],
                        ${column((e) => e.requestId)}::text[], ${column((e) => JSON.stringify(e.details))}::text[],
                        ${batch.prevHashes}::text[], ${batch.hashes}::text[])
           AS r(seq, occurred_at, device_id, actor_type, actor_id, event_type, result, error_code, request_id,
                details, prev_hash, hash)
     ORDER BY r.seq`.execute(trx);
  return Number(result.numAffectedRows ?? 0n);
}
