import type { KeyObject } from "node:crypto";
import canonicalizeModule from "canonicalize";
import type { Kysely } from "kysely";
import type { ChainName } from "../../audit/chain.js";
import { verifyChain } from "../../audit/verify.js";
import type { Database, OrganizationTransaction } from "../../db/database.js";
import type { DB } from "../../db/schema.js";
import { type AuditContext, SYSTEM_WORK } from "../../db/unit-of-work.js";
import { type EvidenceKey, verifySignature } from "../evidence/evidence-key.js";

const canonicalize = canonicalizeModule as unknown as (input: unknown) => string | undefined;

export const CHECKPOINT_JOB = "compliance.checkpoints";
const STATEMENT_TYPE = "patchpilot.audit-checkpoint";

/** What is signed: RFC 8785 JSON, so any verifier can rebuild the exact bytes. */
export interface CheckpointStatement {
  type: typeof STATEMENT_TYPE;
  v: 1;
  organizationId: string;
  chain: ChainName;
  seq: number;
  headHash: string;
  signedAt: string;
  keyId: string;
}

/** A checkpoint as handed out (API, SIEM, evidence packs): the statement and its signature. */
export interface SignedCheckpoint {
  id: string;
  chain: ChainName;
  seq: number;
  headHash: string;
  signedAt: string;
  keyId: string;
  statement: string;
  /** Ed25519 over the statement's UTF-8 bytes, base64. */
  signature: string;
}

/** Signs the current heads of the organisation's two chains and stores them, in its transaction. */
export async function signCheckpointsIn(
  tx: OrganizationTransaction,
  key: EvidenceKey,
): Promise<SignedCheckpoint[]> {
  const heads = await tx.db
    .selectFrom("audit_chain_heads")
    .select(["chain", "seq", "head_hash"])
    .where("organization_id", "=", tx.organizationId)
    .orderBy("chain")
    .execute();
  const signedAt = new Date();
  const out: SignedCheckpoint[] = [];
  for (const head of heads) {
    const statement: CheckpointStatement = {
      type: STATEMENT_TYPE,
      v: 1,
      organizationId: tx.organizationId,
      chain: head.chain,
      seq: head.seq,
      headHash: Buffer.from(head.head_hash).toString("hex"),
      signedAt: signedAt.toISOString(),
      keyId: key.id,
    };
    const text = canonicalize(statement);
    if (text === undefined) throw new Error("checkpoint statement is not serialisable");
    const signature = key.sign(Buffer.from(text, "utf8"));
    const row = await tx.db
      .insertInto("audit_checkpoints")
      .values({
        chain: head.chain,
        seq: head.seq,
        head_hash: head.head_hash,
        signed_at: signedAt,
        key_id: key.id,
        statement: text,
        signature,
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    out.push({
      id: row.id,
      chain: head.chain,
      seq: head.seq,
      headHash: statement.headHash,
      signedAt: statement.signedAt,
      keyId: key.id,
      statement: text,
      signature: signature.toString("base64"),
    });
  }
  tx.audit({
    action: "audit.checkpoint_signed",
    details: {
      keyId: key.id,
      heads: Object.fromEntries(out.map((c) => [c.chain, { seq: c.seq, hash: c.headHash }])),
    },
  });
  return out;
}

export function signCheckpoints(
  db: Database,
  organizationId: string,
  ctx: AuditContext,
  key: EvidenceKey,
): Promise<SignedCheckpoint[]> {
  return db.withOrganization(organizationId, ctx, (tx) => signCheckpointsIn(tx, key));
}

/** The daily job: a checkpoint for every organisation. */
export async function signAllCheckpoints(db: Database, key: EvidenceKey): Promise<number> {
  const orgs = await db.systemReader.selectFrom("organizations").select("id").orderBy("id").execute();
  for (const org of orgs) await signCheckpoints(db, org.id, SYSTEM_WORK, key);
  return orgs.length;
}

export async function listCheckpoints(
  tx: OrganizationTransaction,
  range: { from?: Date; to?: Date } = {},
): Promise<SignedCheckpoint[]> {
  let q = tx.db.selectFrom("audit_checkpoints").selectAll().orderBy("signed_at").orderBy("chain");
  if (range.from) q = q.where("signed_at", ">=", range.from);
  if (range.to) q = q.where("signed_at", "<", range.to);
  const rows = await q.execute();
  return rows.map((r) => ({
    id: r.id,
    chain: r.chain,
    seq: r.seq,
    headHash: Buffer.from(r.head_hash).toString("hex"),
    signedAt: r.signed_at.toISOString(),
    keyId: r.key_id,
    statement: r.statement,
    signature: Buffer.from(r.signature).toString("base64"),
  }));
}

export interface CheckpointCheck {
  organizationId: string | null;
  chain: string | null;
  seq: number | null;
  valid: boolean;
  reason: string;
}

/**
 * Proves, with only the public key, that the chain the database holds now extends the signed
 * checkpoint: the signature holds, the row at the checkpoint's seq (or the retention anchor, if
 * the purge stopped exactly there) still has the signed hash, and the whole chain from its anchor
 * to its head links. Rewriting any row up to the checkpoint changes that row's hash (every hash
 * covers all before it), so not even a database superuser can rewrite signed history unnoticed.
 */
export async function verifyCheckpointAgainstChain(
  db: Kysely<DB>,
  checkpoint: { statement: string; signature: string },
  publicKey: KeyObject,
): Promise<CheckpointCheck> {
  const fail = (reason: string, s?: Partial<CheckpointStatement>): CheckpointCheck => ({
    organizationId: s?.organizationId ?? null,
    chain: s?.chain ?? null,
    seq: s?.seq ?? null,
    valid: false,
    reason,
  });
  if (
    !verifySignature(
      publicKey,
      Buffer.from(checkpoint.statement, "utf8"),
      Buffer.from(checkpoint.signature, "base64"),
    )
  )
    return fail("the signature does not match the statement and public key");
  let s: CheckpointStatement;
  try {
    s = JSON.parse(checkpoint.statement) as CheckpointStatement;
  } catch {
    return fail("the statement is not JSON");
  }
  if (s.type !== STATEMENT_TYPE || (s.chain !== "audit" && s.chain !== "device"))
    return fail("not a checkpoint", s);
  const table = s.chain === "audit" ? "audit_events" : "device_events";
  const row = await db
    .selectFrom(table)
    .select("hash")
    .where("organization_id", "=", s.organizationId)
    .where("seq", "=", s.seq)
    .executeTakeFirst();
  const anchor = await db
    .selectFrom("audit_chain_anchors")
    .select(["seq", "hash"])
    .where("organization_id", "=", s.organizationId)
    .where("chain", "=", s.chain)
    .executeTakeFirst();
  let signedHash: Buffer | null = null;
  if (row) signedHash = Buffer.from(row.hash);
  else if (s.seq === 0) signedHash = Buffer.alloc(32);
  else if (anchor && anchor.seq === s.seq) signedHash = Buffer.from(anchor.hash);
  else if (anchor && anchor.seq > s.seq)
    return fail(`row ${s.seq} was removed by retention (the chain now starts after ${anchor.seq})`, s);
  else return fail(`row ${s.seq} is missing`, s);
  if (!signedHash.equals(Buffer.from(s.headHash, "hex")))
    return fail(`row ${s.seq} no longer has the signed hash: history up to it was rewritten`, s);
  const report = await verifyChain(db, s.organizationId, s.chain);
  if (!report.valid)
    return fail(`the chain is broken at ${report.firstBroken?.seq}: ${report.firstBroken?.reason}`, s);
  if (report.headSeq < s.seq) return fail(`the chain's head (${report.headSeq}) is before the checkpoint`, s);
  return {
    organizationId: s.organizationId,
    chain: s.chain,
    seq: s.seq,
    valid: true,
    reason: `history up to ${s.seq} is as signed; ${report.headSeq - s.seq} rows since link to it`,
  };
}
