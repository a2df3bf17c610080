import { sql } from "kysely";
import type { Database } from "../../db/database.js";
import type { SecretBox } from "../../secrets/secret-box.js";
import { formatCefSyslog } from "./cef-format.js";
import { type ForwardedEvent, formatRfc5424 } from "./syslog-format.js";
import { sendBatch } from "./syslog-transport.js";

const BATCH = 1000;
const LEASE_SECONDS = 120;
const POLL_MS = 1000;

/** Seconds before the next attempt after `failures` failed ones: 2 s doubling, at most 5 min. */
export function siemBackoffSeconds(failures: number): number {
  return Math.min(300, 2 ** Math.min(failures, 9));
}

export interface SiemLog {
  warn(message: string, details?: Record<string, unknown>): void;
}

/**
 * Delivers each forwarding organisation's outbox to its SIEM, oldest first. An organisation's
 * destination row is leased while a batch is on the wire (no transaction is held over the
 * network), so two server processes never deliver one organisation's events at once and the
 * order is the chain's order. A failed batch is retried with backoff, from the same event; a
 * delivered batch is removed from the outbox. A crash between sending and removing sends that
 * batch again: the receiver can drop the repeat by the `seq` in the structured data.
 */
export class SiemForwarder {
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;

  constructor(
    private readonly db: Database,
    private readonly secrets: SecretBox,
    private readonly log: SiemLog,
  ) {}

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
    this.#running = this.deliverDue()
      .then(() => {})
      .catch((error: unknown) => this.log.warn("SIEM delivery failed", { error: String(error) }))
      .finally(() => {
        this.#running = null;
      });
  }

  /** One pass over every organisation with something due; returns how many events were delivered. */
  async deliverDue(): Promise<number> {
    const due = await this.db.systemReader
      .selectFrom("siem_configs")
      .select("organization_id")
      .where("enabled", "=", true)
      .where("next_attempt_at", "<=", new Date())
      .where((eb) =>
        eb.exists(
          eb
            .selectFrom("siem_outbox")
            .select("seq")
            .whereRef("siem_outbox.organization_id", "=", "siem_configs.organization_id"),
        ),
      )
      .execute();
    let delivered = 0;
    for (const { organization_id } of due) {
      for (;;) {
        const n = await this.#deliverBatch(organization_id);
        delivered += n;
        if (n < BATCH) break;
      }
    }
    return delivered;
  }

  async #deliverBatch(organizationId: string): Promise<number> {
    const leased = await this.db.system(
      { actor: { type: "system", id: "siem" }, requestId: null, ip: null, userAgent: null },
      async (tx) =>
        (
          await sql<{
            host: string;
            port: number;
            transport: "udp" | "tcp" | "tls";
            format: "rfc5424" | "cef";
            facility: number;
            sealed_ca_pem: string | null;
            failures: number;
          }>`
          UPDATE siem_configs SET leased_until = now() + make_interval(secs => ${LEASE_SECONDS})
           WHERE organization_id = ${organizationId} AND enabled AND next_attempt_at <= now()
             AND (leased_until IS NULL OR leased_until < now())
          RETURNING host, port, transport, format, facility, sealed_ca_pem, failures`.execute(tx.db)
        ).rows[0],
      { unaudited: "leasing a SIEM destination for delivery is bookkeeping" },
    );
    if (!leased) return 0;
    let delivered = 0;
    let lastSeq = 0;
    try {
      const rows = await sql<ForwardedEvent & { seq: number }>`
        SELECT e.organization_id AS "organizationId", e.seq, e.occurred_at AS "occurredAt", e.actor_type AS "actorType",
               e.actor_id AS "actorId", e.action, e.target_type AS "targetType", e.target_id AS "targetId",
               e.result, e.error_code AS "errorCode", e.details
          FROM siem_outbox o JOIN audit_events e ON e.organization_id = o.organization_id AND e.seq = o.seq
         WHERE o.organization_id = ${organizationId}
         ORDER BY o.seq LIMIT ${BATCH}`.execute(this.db.systemReader);
      const events = rows.rows.map((r) => ({ ...r, occurredAt: new Date(r.occurredAt) }));
      const caPem = leased.sealed_ca_pem
        ? this.secrets.open(leased.sealed_ca_pem, `siem-ca:${organizationId}`)
        : null;
      const format = leased.format === "cef" ? formatCefSyslog : formatRfc5424;
      await sendBatch(
        { host: leased.host, port: leased.port, transport: leased.transport, caPem },
        events.map((e) => format(e, leased.facility)),
      );
      delivered = events.length;
      lastSeq = events.at(-1)?.seq ?? 0;
      await this.#settle(organizationId, lastSeq, null, leased.failures);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      // The alert: operators see every failed attempt in the log, and the destination's state.
      this.log.warn("SIEM destination refused delivery; the events stay queued and are retried", {
        organizationId,
        host: leased.host,
        port: leased.port,
        failures: leased.failures + 1,
        error: message,
      });
      await this.#settle(organizationId, 0, message, leased.failures);
    }
    return delivered;
  }

  async #settle(
    organizationId: string,
    throughSeq: number,
    error: string | null,
    failures: number,
  ): Promise<void> {
    await this.db.system(
      { actor: { type: "system", id: "siem" }, requestId: null, ip: null, userAgent: null },
      async (tx) => {
        if (error === null) {
          if (throughSeq > 0) {
            await sql`DELETE FROM siem_outbox WHERE organization_id = ${organizationId} AND seq <= ${throughSeq}`.execute(
              tx.db,
            );
          }
          await sql`
            UPDATE siem_configs SET leased_until = NULL, failures = 0, last_error = NULL, next_attempt_at = now(),
                   last_delivered_seq = greatest(last_delivered_seq, ${throughSeq})
             WHERE organization_id = ${organizationId}`.execute(tx.db);
        } else {
          await sql`
            UPDATE siem_configs SET leased_until = NULL, failures = failures + 1, last_error = ${error.slice(0, 500)},
                   next_attempt_at = now() + make_interval(secs => ${siemBackoffSeconds(failures + 1)})
             WHERE organization_id = ${organizationId}`.execute(tx.db);
        }
      },
      { unaudited: "delivery state of the SIEM outbox; the events themselves are the audit rows" },
    );
  }
}
