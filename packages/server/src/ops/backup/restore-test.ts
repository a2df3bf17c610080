import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import type { Config } from "../../config/config.js";
import type { Database } from "../../db/database.js";
import { openDatabase } from "../../db/open.js";
import { recordRestoreTest } from "./backup-records.js";
import { checkRestored, listBackups, restoreBackup } from "./backup-service.js";
import { backupPassphrase } from "./passphrase.js";

export interface RestoreTestResult {
  file: string | null;
  ok: boolean;
  durationMs: number;
  problems: string[];
  error: string | null;
}

/** A scratch database beside the configured one, dropped again after the test. */
async function scratchPostgres(url: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `pp_restore_test_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const scratch = new URL(url);
  scratch.pathname = `/${name}`;
  return {
    url: scratch.toString(),
    drop: async () => {
      const cleanup = new pg.Client({ connectionString: url });
      await cleanup.connect();
      try {
        await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await cleanup.end();
      }
    },
  };
}

/**
 * Restores the newest backup into an isolated, throw-away database (a temporary PGlite directory
 * or a scratch PostgreSQL database), compares row counts and audit chains with its manifest, and
 * records the result and its duration: the measured RTO. "A backup never tested is not a backup."
 */
export async function runRestoreTest(
  db: Database,
  config: Config,
  options: { dir?: string } = {},
): Promise<RestoreTestResult> {
  const started = new Date();
  const newest = (await listBackups(options.dir ?? config.backupDir))[0] ?? null;
  let result: RestoreTestResult;
  if (!newest) {
    result = { file: null, ok: false, durationMs: 0, problems: [], error: "there is no backup to test" };
  } else {
    try {
      const passphrase = await backupPassphrase(config);
      const problems = await restoreAndCheck(newest.file, passphrase, config.databaseUrl);
      result = {
        file: newest.file,
        ok: problems.length === 0,
        durationMs: Date.now() - started.getTime(),
        problems,
        error: null,
      };
    } catch (error) {
      result = {
        file: newest.file,
        ok: false,
        durationMs: Date.now() - started.getTime(),
        problems: [],
        error: (error as Error).message,
      };
    }
  }
  await recordRestoreTest(db, {
    file: result.file ? path.basename(result.file) : "(none)",
    ok: result.ok,
    startedAt: started,
    durationMs: result.durationMs,
    backupBytes: newest?.bytes ?? null,
    problems: result.problems,
    error: result.error,
  });
  return result;
}

async function restoreAndCheck(
  file: string,
  passphrase: string,
  databaseUrl: string | null,
): Promise<string[]> {
  if (databaseUrl) {
    const scratch = await scratchPostgres(databaseUrl);
    try {
      const manifest = await restoreBackup(file, passphrase, { kind: "postgres", url: scratch.url });
      const restored = await openDatabase({
        databaseUrl: scratch.url,
        pgliteDir: null,
        migrate: false,
        poolSize: 2,
      });
      try {
        return (await checkRestored(restored, manifest)).problems;
      } finally {
        await restored.close();
      }
    } finally {
      await scratch.drop();
    }
  }
  const dir = await mkdtemp(path.join(tmpdir(), "pp-restore-test-"));
  try {
    const target = path.join(dir, "pgdata");
    const manifest = await restoreBackup(file, passphrase, { kind: "pglite", dir: target });
    const restored = await openDatabase({ databaseUrl: null, pgliteDir: target, migrate: false });
    try {
      return (await checkRestored(restored, manifest)).problems;
    } finally {
      await restored.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
