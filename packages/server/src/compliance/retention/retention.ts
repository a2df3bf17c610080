import { auditRetentionDays, isPlan } from "@patchpilot/domain";
import { sql, type Transaction } from "kysely";
import { type ChainName, PLATFORM_ORGANIZATION_ID } from "../../audit/chain.js";
import type { Database } from "../../db/database.js";
import type { DB } from "../../db/schema.js";
import { SYSTEM_WORK } from "../../db/unit-of-work.js";

export const RETENTION_JOB = "compliance.retention";
const DAY_MS = 86_400_000;
/** How long the platform chain (events of no organisation) is kept unless configured. */
export const DEFAULT_PLATFORM_RETENTION_DAYS = 365;

export interface RetentionOptions {
  /** Days the platform chain keeps (PATCHPILOT_PLATFORM_AUDIT_RETENTION_DAYS), at least 30. */
  platformRetentionDays?: number;
}

export interface PurgeResult {
  organizationId: string;
  chain: ChainName;
  retentionDays: number;
  cutoff: string;
  removedRows: number;
  /** The new anchor: the last removed row. */
  throughSeq: number;
}

const TABLE = { audit: "audit_events", device: "device_events" } as const;

/**
 * Removes, from every organisation's two chains, the rows older than its plan's retention, and
 * from the platform chain (events of no organisation) those older than the platform retention,
 * and records each removal as an audit event on the purged chain's organisation in the same
 * transaction. Only a prefix of a chain is ever removed (the rows before the first row that is
 * still within retention), so the chain stays one unbroken run from its anchor (the last removed
 * row's seq and hash) to its head. The deletes run as the `patchpilot_retention` role, the only
 * role the audit tables let delete.
 */
export async function purgeExpiredAuditRows(
  db: Database,
  now: Date = new Date(),
  options: RetentionOptions = {},
): Promise<PurgeResult[]> {
  const organizations = await db.systemReader
    .selectFrom("organizations")
    .select(["id", "plan", "audit_retention_days"])
    .orderBy("id")
    .execute();
  const results: PurgeResult[] = [];
  for (const org of organizations) {
    if (org.id === PLATFORM_ORGANIZATION_ID || !isPlan(org.plan)) continue;
    results.push(
      ...(await purgeOrganization(db, org.id, auditRetentionDays(org.plan, org.audit_retention_days), now)),
    );
  }
  const platformDays = options.platformRetentionDays ?? DEFAULT_PLATFORM_RETENTION_DAYS;
  results.push(...(await purgeOrganization(db, PLATFORM_ORGANIZATION_ID, platformDays, now)));
  return results;
}

/** One organisation's (or the platform's) two chains, in one transaction: a failure in one leaves the others purged. */
async function purgeOrganization(
  db: Database,
  organizationId: string,
  retentionDays: number,
  now: Date,
): Promise<PurgeResult[]> {
  const cutoff = new Date(now.getTime() - retentionDays * DAY_MS);
  return db.system(SYSTEM_WORK, async (tx) => {
    const done: PurgeResult[] = [];
    await sql`SELECT set_config('role', 'patchpilot_retention', true)`.execute(tx.db);
    for (const chain of ["audit", "device"] as const) {
      const removed = await purgeChain(tx.db, organizationId, chain, cutoff);
      if (removed)
        done.push({
          organizationId,
          chain,
          retentionDays,
          cutoff: cutoff.toISOString(),
          ...removed,
        });
    }
    // The audit rows of the purge are appended as the system role, like any other.
    await sql`SELECT set_config('role', 'patchpilot_system', true)`.execute(tx.db);
    for (const r of done) {
      tx.audit(organizationId, {
        action: "audit.retention_purged",
        target: { type: "audit_chain", id: r.chain },
        details: {
          chain: r.chain,
          retentionDays,
          cutoff: r.cutoff,
          removedRows: r.removedRows,
          throughSeq: r.throughSeq,
        },
      });
    }
    return done;
  });
}

async function purgeChain(
  trx: Transaction<DB>,
  organizationId: string,
  chain: ChainName,
  cutoff: Date,
): Promise<{ removedRows: number; throughSeq: number } | null> {
  const table = sql.table(TABLE[chain]);
  // The prefix to remove ends just before the first row still within retention (or at the
  // newest row when all are older). A row older than the cutoff written after a newer one
  // (clocks of several servers) is kept: the chain is cut only at one place.
  const bounds = await sql<{ first_kept: number | null; last_row: number | null; anchor: number | null }>`
    SELECT (SELECT min(seq) FROM ${table} WHERE organization_id = ${organizationId} AND occurred_at >= ${cutoff}) AS first_kept,
           (SELECT max(seq) FROM ${table} WHERE organization_id = ${organizationId}) AS last_row,
           (SELECT seq FROM audit_chain_anchors WHERE organization_id = ${organizationId} AND chain = ${chain}) AS anchor`.execute(
    trx,
  );
  const b = bounds.rows[0];
  if (!b || b.last_row === null) return null;
  const through = b.first_kept === null ? Number(b.last_row) : Number(b.first_kept) - 1;
  const anchor = Number(b.anchor ?? 0);
  if (through <= anchor) return null;
  const last = await sql<{ hash: Buffer }>`
    SELECT hash FROM ${table} WHERE organization_id = ${organizationId} AND seq = ${through}`.execute(trx);
  const hash = last.rows[0]?.hash;
  if (!hash) throw new Error(`row ${through} of ${organizationId}'s ${chain} chain is missing`);
  const deleted = await sql`
    DELETE FROM ${table} WHERE organization_id = ${organizationId} AND seq > ${anchor} AND seq <= ${through}`.execute(
    trx,
  );
  await sql`
    INSERT INTO audit_chain_anchors (organization_id, chain, seq, hash, purged_at)
    VALUES (${organizationId}, ${chain}, ${through}, ${hash}, now())
    ON CONFLICT (organization_id, chain) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, purged_at = excluded.purged_at`.execute(
    trx,
  );
  return { removedRows: Number(deleted.numAffectedRows ?? 0n), throughSeq: through };
}
