import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { PLATFORM_ORGANIZATION_ID } from "../audit/chain.js";
import type { Database } from "../db/database.js";
import { openDatabase } from "../db/open.js";
import { SecretBox } from "../secrets/secret-box.js";
import { createTestOrg } from "../testing/app.js";
import { runCli } from "../testing/cli.js";
import { createTestDatabase, SYSTEM_CONTEXT, type TestDatabase } from "../testing/database.js";
import { signCheckpoints } from "./checkpoints/checkpoints.js";
import { EvidenceKeyStore } from "./evidence/evidence-key.js";
import { purgeExpiredAuditRows } from "./retention/retention.js";

// The CLI runs in its own process on the test's database: a scratch PostgreSQL database when
// DATABASE_URL is set, otherwise an embedded one in a temporary data directory.
let dataDir: string;
let env: Record<string, string>;
let pgDb: TestDatabase | null = null;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), "pp-compliance-cli-"));
  env = { PATCHPILOT_DATA_DIR: dataDir };
  if (process.env.DATABASE_URL) {
    pgDb = await createTestDatabase();
    env.DATABASE_URL = pgDb.url ?? "";
  }
});
afterAll(async () => {
  await pgDb?.drop();
  await rm(dataDir, { recursive: true, force: true });
});

async function open(): Promise<Database> {
  return openDatabase({ databaseUrl: env.DATABASE_URL ?? null, pgliteDir: path.join(dataDir, "pgdata") });
}

describe("patchpilot audit verify after retention", { timeout: 300_000 }, () => {
  // First, while the platform chain holds only what this test writes: retention cuts a chain only
  // at its start, so older rows written after newer ones would be kept.
  it("passes on the platform chain after retention removed its old rows, and fails when a kept one is changed", async () => {
    const platform = PLATFORM_ORGANIZATION_ID;
    let db = await open();
    const now = Date.now();
    try {
      vi.useFakeTimers({ toFake: ["Date"] });
      vi.setSystemTime(new Date(now - 400 * 86_400_000));
      await db.system(SYSTEM_CONTEXT, async (tx) => {
        for (let i = 0; i < 3; i++) tx.audit(platform, { action: "test.platform_old", details: { i } });
      });
      vi.useRealTimers();
      await db.system(SYSTEM_CONTEXT, async (tx) => {
        tx.audit(platform, { action: "test.platform_recent" });
      });
      const purged = await purgeExpiredAuditRows(db, new Date(), { platformRetentionDays: 365 });
      expect(
        purged.find((p) => p.organizationId === platform && p.chain === "audit")?.removedRows,
      ).toBeGreaterThanOrEqual(3);
    } finally {
      vi.useRealTimers();
      await db.close();
    }
    const ok = await runCli(["audit", "verify", "--org", platform], env);
    expect(ok.stdout, ok.stderr).toMatch(new RegExp(`ok      ${platform} audit: \\d+ rows`));
    expect(ok.code).toBe(0);

    db = await open();
    let seq = 0;
    try {
      const [row] = await db.owner.query<{ seq: number }>(
        "SELECT seq FROM audit_events WHERE organization_id = $1 AND action = 'test.platform_recent'",
        [platform],
      );
      seq = Number(row?.seq);
      await db.owner.exec("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only");
      await db.owner.query(
        "UPDATE audit_events SET action = 'forged' WHERE organization_id = $1 AND seq = $2",
        [platform, seq],
      );
      await db.owner.exec("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only");
    } finally {
      await db.close();
    }
    const tampered = await runCli(["audit", "verify", "--org", platform], env);
    expect(tampered.code).toBe(1);
    expect(tampered.stdout).toMatch(new RegExp(`BROKEN  ${platform} audit: first broken link at seq ${seq}`));
  });

  it("passes after a purge, proves signed checkpoints, and still fails on tampering", async () => {
    let db = await open();
    const now = Date.now();
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(new Date(now - 40 * 86_400_000));
    const org = await createTestOrg(db);
    await db.withOrganization(org.organizationId, SYSTEM_CONTEXT, async (tx) => {
      for (let i = 0; i < 3; i++) tx.audit({ action: "test.old", details: { i } });
    });
    vi.useRealTimers();
    await db.withOrganization(org.organizationId, SYSTEM_CONTEXT, async (tx) => {
      tx.audit({ action: "test.recent" });
    });
    const purged = await purgeExpiredAuditRows(db);
    expect(purged.find((p) => p.organizationId === org.organizationId)?.removedRows).toBe(5);
    // The key the server would use: sealed with the data directory's secret key, made here.
    const secretKey = Buffer.alloc(32, 9);
    await writeFile(path.join(dataDir, "secret.key"), `${secretKey.toString("base64")}\n`, { mode: 0o600 });
    const key = await new EvidenceKeyStore(db, new SecretBox(secretKey)).current();
    const checkpoints = await signCheckpoints(db, org.organizationId, SYSTEM_CONTEXT, key);
    await db.close();
    await writeFile(path.join(dataDir, "checkpoints.json"), JSON.stringify({ checkpoints }));
    await writeFile(path.join(dataDir, "evidence.pem"), key.publicKeyPem);

    const ok = await runCli(["audit", "verify", "--org", org.organizationId], env);
    expect(ok.stdout, ok.stderr).toMatch(new RegExp(`ok      ${org.organizationId} audit: \\d+ rows`));
    expect(ok.code).toBe(0);
    const proved = await runCli(
      [
        "audit",
        "verify-checkpoint",
        "--file",
        path.join(dataDir, "checkpoints.json"),
        "--public-key",
        path.join(dataDir, "evidence.pem"),
      ],
      env,
    );
    expect(proved.stdout, proved.stderr).toMatch(/^ok .* audit @\d+: history up to/m);
    expect(proved.code).toBe(0);

    db = await open();
    try {
      await db.owner.exec("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only");
      await db.owner.query(
        "UPDATE audit_events SET action = 'forged' WHERE organization_id = $1 AND action = 'test.recent'",
        [org.organizationId],
      );
      await db.owner.exec("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only");
    } finally {
      await db.close();
    }
    const tampered = await runCli(["audit", "verify", "--org", org.organizationId], env);
    expect(tampered.code).toBe(1);
    expect(tampered.stdout).toMatch(
      new RegExp(`BROKEN  ${org.organizationId} audit: first broken link at seq 6`),
    );
  });
});
