import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditContentDigest, chainHash, GENESIS_HASH } from "../../audit/chain.js";
import { verifyChain } from "../../audit/verify.js";
import { addTestMember, call, createTestOrg, startTestApp, type TestApp } from "../../testing/app.js";
import { SYSTEM_CONTEXT } from "../../testing/database.js";
import { parsePublicKeyPem } from "../evidence/evidence-key.js";
import { verifyCheckpointAgainstChain } from "./checkpoints.js";

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ backgroundWork: false });
});
afterAll(() => t.close());

async function history(orgId: string, n: number) {
  for (let i = 0; i < n; i++) {
    await t.db.withOrganization(orgId, SYSTEM_CONTEXT, async (tx) => {
      tx.audit({ action: "test.written", details: { i } });
    });
  }
}

/**
 * What someone with database superuser rights could do: change an old row and recompute every
 * hash after it and the chain head, so the chain alone verifies again.
 */
async function rewriteHistory(orgId: string, seq: number) {
  await t.db.owner.exec("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only");
  await t.db.owner.query(
    `UPDATE audit_events SET details = '{"i":"forged"}' WHERE organization_id = $1 AND seq = $2`,
    [orgId, seq],
  );
  const rows = await t.db.owner.query<Record<string, unknown> & { seq: number }>(
    "SELECT * FROM audit_events WHERE organization_id = $1 ORDER BY seq",
    [orgId],
  );
  let prev: Buffer = GENESIS_HASH;
  for (const r of rows) {
    const digest = auditContentDigest({
      organizationId: orgId,
      occurredAt: r.occurred_at as Date,
      actorType: r.actor_type as string,
      actorId: r.actor_id as string | null,
      action: r.action as string,
      targetType: r.target_type as string | null,
      targetId: r.target_id as string | null,
      result: r.result as "success" | "failure",
      errorCode: r.error_code as string | null,
      ip: r.ip as string | null,
      userAgent: r.user_agent as string | null,
      requestId: r.request_id as string | null,
      details: r.details as Record<string, unknown>,
    });
    const hash = chainHash(prev, r.seq, digest);
    await t.db.owner.query(
      "UPDATE audit_events SET prev_hash = $1, hash = $2 WHERE organization_id = $3 AND seq = $4",
      [prev, hash, orgId, r.seq],
    );
    prev = hash;
  }
  await t.db.owner.query(
    "UPDATE audit_chain_heads SET head_hash = $1 WHERE organization_id = $2 AND chain = 'audit'",
    [prev, orgId],
  );
  await t.db.owner.exec("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only");
}

describe("signed checkpoints", () => {
  it("signs the chain heads on demand and proves later history extends them, even against a superuser's rewrite", async () => {
    const org = await createTestOrg(t.db);
    const auditor = await addTestMember(t.db, org.organizationId, "auditor");
    await history(org.organizationId, 4);
    const base = `/api/v1/orgs/${org.organizationId}/audit-checkpoints`;
    expect((await call(t.app, { method: "POST", url: base, as: auditor })).statusCode).toBe(403);
    const signed = await call(t.app, { method: "POST", url: base, as: org.owner });
    expect(signed.statusCode).toBe(201);
    const checkpoints = signed.json().checkpoints as {
      chain: string;
      seq: number;
      statement: string;
      signature: string;
    }[];
    expect(checkpoints.map((c) => [c.chain, c.seq])).toEqual([
      ["audit", 8],
      ["device", 0],
    ]);
    const listed = await call(t.app, { method: "GET", url: base, as: auditor });
    expect(listed.json().checkpoints).toEqual(checkpoints);

    const keyResponse = await call(t.app, { method: "GET", url: "/api/v1/evidence/public-key", as: auditor });
    expect(keyResponse.statusCode).toBe(200);
    expect(keyResponse.json()).toMatchObject({
      algorithm: "Ed25519",
      keyId: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
    expect((await call(t.app, { method: "GET", url: "/api/v1/evidence/public-key" })).statusCode).toBe(401);
    const publicKey = parsePublicKeyPem(keyResponse.json().publicKeyPem);

    await history(org.organizationId, 3);
    for (const c of checkpoints) {
      const check = await verifyCheckpointAgainstChain(t.db.systemReader, c, publicKey);
      expect(check, c.chain).toMatchObject({ valid: true });
    }
    // A forged statement or signature is refused.
    const first = checkpoints[0] as (typeof checkpoints)[number];
    const forged = { ...first, statement: first.statement.replace('"seq":8', '"seq":7') };
    expect((await verifyCheckpointAgainstChain(t.db.systemReader, forged, publicKey)).reason).toMatch(
      /signature/,
    );

    // Rewriting row 3 and recomputing the whole chain fools the chain check, not the checkpoint.
    await rewriteHistory(org.organizationId, 3);
    expect((await verifyChain(t.db.systemReader, org.organizationId, "audit")).valid).toBe(true);
    const check = await verifyCheckpointAgainstChain(t.db.systemReader, first, publicKey);
    expect(check).toMatchObject({ valid: false, reason: expect.stringMatching(/rewritten/) });
  });

  it("signs every organisation's chains in the daily job, and audits each signing", async () => {
    const org = await createTestOrg(t.db);
    const { signAllCheckpoints } = await import("./checkpoints.js");
    const count = await signAllCheckpoints(t.db, await t.app.compliance.evidenceKeys.current());
    expect(count).toBeGreaterThanOrEqual(1);
    const rows = await t.db.owner.query<{ action: string }>(
      "SELECT action FROM audit_events WHERE organization_id = $1 AND action = 'audit.checkpoint_signed'",
      [org.organizationId],
    );
    expect(rows).toHaveLength(1);
  });
});
