import path from "node:path";
import type { Config } from "../../config/config.js";
import type { Database } from "../../db/database.js";
import { migrate, pendingMigrations } from "../../db/migrate.js";
import { copyToS3, type S3CopyOutcome } from "./backup-jobs.js";
import { recordBackupRun } from "./backup-records.js";
import { type CreatedBackup, createBackup } from "./backup-service.js";
import { backupPassphrase } from "./passphrase.js";

export interface UpgradeOptions {
  /** The explicit override: migrate without the backup. Logged, and recorded once migrated. */
  skipBackup?: boolean;
  log?: (message: string) => void;
}

export class UpgradeRefusedError extends Error {
  override name = "UpgradeRefusedError";
}

/**
 * Applies pending migrations, but on a database that already holds data only after a backup has
 * been taken and verified; if that fails, nothing is migrated. A new, empty database has nothing
 * to lose and is migrated at once.
 */
export async function migrateWithBackup(
  db: Database,
  config: Config,
  options: UpgradeOptions = {},
): Promise<string[]> {
  const log = options.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const existing = await db.owner.query<{ present: boolean }>(
    "SELECT to_regclass('public.schema_migrations') IS NOT NULL AS present",
  );
  const pending = await pendingMigrations(db.owner);
  if (pending.length === 0) return [];
  if (!existing[0]?.present) return migrate(db.owner);

  const names = pending.map((m) => m.version).join(", ");
  const startedAt = new Date();
  let made: CreatedBackup | null = null;
  let s3: S3CopyOutcome | null = null;
  if (options.skipBackup) {
    log(`WARNING: migrating (${names}) WITHOUT a backup first: --skip-backup-before-upgrade was given`);
  } else {
    log(`pending migrations ${names}: taking and verifying a backup before upgrading`);
    try {
      made = await createBackup(db, {
        dir: config.backupDir,
        copyDir: config.backupCopyDir,
        passphrase: await backupPassphrase(config),
        databaseUrl: config.databaseUrl,
      });
    } catch (error) {
      throw new UpgradeRefusedError(
        `refusing to migrate (${names}): the backup before the upgrade failed: ${(error as Error).message}. ` +
          "Fix that and start again, or start with --skip-backup-before-upgrade to migrate without a backup",
      );
    }
    // The local backup verified, which is what the upgrade needs; a failed upload is recorded
    // (and alerted) with the run but does not hold the upgrade back.
    s3 = await copyToS3(config, made.file);
    if (s3.copy) made.copies.push(s3.copy);
    if (s3.error) log(`WARNING: ${s3.error}`);
    log(`backup ${made.file} written and verified; migrating`);
  }
  const applied = await migrate(db.owner);
  // The record goes in after the migration, whose schema holds the table for it.
  await recordBackupRun(db, {
    trigger: "pre_upgrade",
    startedAt,
    durationMs: made?.durationMs ?? 0,
    file: made ? path.basename(made.file) : null,
    copies: made?.copies ?? [],
    bytes: made?.manifest.bytes ?? null,
    verified: made !== null,
    error: made ? (s3?.error ?? null) : "skipped by the operator with --skip-backup-before-upgrade",
    details: { migrations: applied, override: made === null },
  });
  return applied;
}
