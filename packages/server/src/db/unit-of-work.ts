import { sql, type Transaction } from "kysely";
import {
  type AuditEventContent,
  auditContentDigest,
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

  /** Appends every queued row to its chain: one statement per row, holding the head's lock. */
  async flush(trx: Transaction<DB>): Promise<void> {
    // Lock heads in a fixed order so two transactions touching several chains cannot deadlock.
    const ordered = [...this.pending].sort((a, b) =>
      `${a.content.organizationId}:${a.chain}`.localeCompare(`${b.content.organizationId}:${b.chain}`),
    );
    for (const item of ordered) {
      const inserted =
        item.chain === "audit" ? await insertAudit(trx, item.content) : await insertDevice(trx, item.content);
      if (inserted !== 1)
        throw new Error(`no ${item.chain} chain for organisation ${item.content.organizationId}`);
    }
    this.pending.length = 0;
  }
}

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
