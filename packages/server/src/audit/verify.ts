import type { Kysely, Transaction } from "kysely";
import type { DB } from "../db/schema.js";
import { auditContentDigest, type ChainName, chainHash, deviceContentDigest, GENESIS_HASH } from "./chain.js";

export interface ChainReport {
  organizationId: string;
  chain: ChainName;
  valid: boolean;
  checkedRows: number;
  headSeq: number;
  /** Where the chain starts after retention removed older rows (0: it starts at genesis). */
  anchorSeq: number;
  /** The first row that does not link, and why. */
  firstBroken: { seq: number; reason: string } | null;
}

const BATCH = 5000;

type Reader = Kysely<DB> | Transaction<DB>;

/**
 * Recomputes one organisation's chain from its rows: each row's content digest, its link to the
 * row before, and finally the head the chain records (which catches rows removed from the end).
 */
export async function verifyChain(
  db: Reader,
  organizationId: string,
  chain: ChainName,
): Promise<ChainReport> {
  const head = await db
    .selectFrom("audit_chain_heads")
    .select(["seq", "head_hash"])
    .where("organization_id", "=", organizationId)
    .where("chain", "=", chain)
    .executeTakeFirst();
  const report: ChainReport = {
    organizationId,
    chain,
    valid: true,
    checkedRows: 0,
    headSeq: head?.seq ?? 0,
    anchorSeq: 0,
    firstBroken: null,
  };
  // After a retention purge the chain starts at the anchor: the last removed row's seq and hash.
  const anchor = await db
    .selectFrom("audit_chain_anchors")
    .select(["seq", "hash"])
    .where("organization_id", "=", organizationId)
    .where("chain", "=", chain)
    .executeTakeFirst();
  if (anchor) report.anchorSeq = anchor.seq;
  const broken = (seq: number, reason: string): ChainReport => ({
    ...report,
    valid: false,
    firstBroken: { seq, reason },
  });
  let prevHash: Buffer = anchor ? Buffer.from(anchor.hash) : GENESIS_HASH;
  let expectedSeq = (anchor?.seq ?? 0) + 1;
  // The next batch is read while this one is checked; a chain found broken early abandons it, so
  // its failure must not surface as an unhandled rejection.
  const read = (afterSeq: number) => {
    const batch = readBatch(db, organizationId, chain, afterSeq);
    batch.catch(() => undefined);
    return batch;
  };
  let next = read(expectedSeq - 1);
  for (;;) {
    const rows = await next;
    const last = rows.at(-1);
    if (rows.length === BATCH && last) next = read(last.seq);
    for (const row of rows) {
      if (row.seq !== expectedSeq) return broken(expectedSeq, `row ${expectedSeq} is missing`);
      if (!Buffer.from(row.prev_hash).equals(prevHash)) {
        return broken(row.seq, "its previous-hash does not match the row before it");
      }
      const expected = chainHash(prevHash, row.seq, row.digest);
      if (!Buffer.from(row.hash).equals(expected))
        return broken(row.seq, "its content does not match its hash");
      prevHash = expected;
      expectedSeq++;
      report.checkedRows++;
    }
    if (rows.length < BATCH) break;
  }
  if (!head) return broken(0, "the chain has no head");
  if (head.seq !== expectedSeq - 1)
    return broken(expectedSeq, `the head is at ${head.seq}: rows are missing`);
  if (!Buffer.from(head.head_hash).equals(prevHash)) return broken(head.seq, "the head hash does not match");
  return report;
}

async function readBatch(db: Reader, organizationId: string, chain: ChainName, afterSeq: number) {
  if (chain === "audit") {
    const rows = await db
      .selectFrom("audit_events")
      .selectAll()
      .where("organization_id", "=", organizationId)
      .where("seq", ">", afterSeq)
      .orderBy("seq")
      .limit(BATCH)
      .execute();
    return rows.map((r) => ({
      seq: r.seq,
      prev_hash: r.prev_hash,
      hash: r.hash,
      digest: auditContentDigest({
        organizationId: r.organization_id,
        occurredAt: r.occurred_at,
        actorType: r.actor_type,
        actorId: r.actor_id,
        action: r.action,
        targetType: r.target_type,
        targetId: r.target_id,
        result: r.result,
        errorCode: r.error_code,
        ip: r.ip,
        userAgent: r.user_agent,
        requestId: r.request_id,
        details: r.details,
      }),
    }));
  }
  const rows = await db
    .selectFrom("device_events")
    .selectAll()
    .where("organization_id", "=", organizationId)
    .where("seq", ">", afterSeq)
    .orderBy("seq")
    .limit(BATCH)
    .execute();
  return rows.map((r) => ({
    seq: r.seq,
    prev_hash: r.prev_hash,
    hash: r.hash,
    digest: deviceContentDigest({
      organizationId: r.organization_id,
      occurredAt: r.occurred_at,
      deviceId: r.device_id,
      actorType: r.actor_type,
      actorId: r.actor_id,
      eventType: r.event_type,
      result: r.result,
      errorCode: r.error_code,
      requestId: r.request_id,
      details: r.details,
    }),
  }));
}

/** Every chain in the database (all organisations and the platform chain), as the system sees it. */
export async function verifyAllChains(db: Kysely<DB>, organizationId?: string): Promise<ChainReport[]> {
  let q = db
    .selectFrom("audit_chain_heads")
    .select(["organization_id", "chain"])
    .orderBy("organization_id")
    .orderBy("chain");
  if (organizationId) q = q.where("organization_id", "=", organizationId);
  const heads = await q.execute();
  const reports: ChainReport[] = [];
  for (const h of heads) reports.push(await verifyChain(db, h.organization_id, h.chain));
  return reports;
}
