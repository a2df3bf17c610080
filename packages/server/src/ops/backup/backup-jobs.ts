import path from "node:path";
import type { S3ClientConfig } from "@aws-sdk/client-s3";
import type { Config } from "../../config/config.js";
import type { Database } from "../../db/database.js";
import type { JobRunner } from "../../jobs/job-runner.js";
import { BackupError } from "./backup-file.js";
import { markRemoved, recordBackupRun } from "./backup-records.js";
import { type CreatedBackup, createBackup, listBackups } from "./backup-service.js";
import { backupPassphrase } from "./passphrase.js";
import { type RestoreTestResult, runRestoreTest } from "./restore-test.js";
import { backupsToRemove, GFS_DEFAULT, type RetentionPolicy, removeBackups } from "./rotation.js";
import { listS3Backups, openS3Location, removeS3Backups, type S3Location, uploadBackup } from "./s3-copy.js";

export const BACKUP_JOB = "ops.backup";
export const RESTORE_TEST_JOB = "ops.restore_test";
const HOUR_MS = 3_600_000;

export interface BackupJobEvents {
  /** A scheduled backup or restore test failed: the alerting hook. */
  onFailure(kind: "backup" | "restore_test", message: string): void;
  info(message: string): void;
}

export interface S3CopyOutcome {
  location: S3Location | null;
  /** The s3:// address of the uploaded backup, or null. */
  copy: string | null;
  /** Why the upload failed (the secret never in it), or null. */
  error: string | null;
}

/** Uploads a locally verified backup to the configured bucket, if there is one; never throws. */
export async function copyToS3(
  config: Config,
  file: string,
  s3Options: Pick<S3ClientConfig, "logger"> = {},
): Promise<S3CopyOutcome> {
  if (!config.backupS3) return { location: null, copy: null, error: null };
  let location: S3Location | null = null;
  try {
    location = await openS3Location(config.backupS3, s3Options);
    return { location, copy: await uploadBackup(location, file), error: null };
  } catch (error) {
    return {
      location,
      copy: null,
      error: `the backup verified and is kept in ${path.dirname(file)}, but its S3 copy failed: ${(error as Error).message}`,
    };
  }
}

export function retentionPolicy(config: Config): RetentionPolicy {
  return config.backupRetention === "gfs" ? GFS_DEFAULT : { kind: "days", days: config.backupKeepDays };
}

/**
 * One backup, as the schedule (or the upgrade guard) takes it: created, verified, copied, recorded;
 * uploaded to the S3 bucket when one is configured; then rotation in every place, which removes old backups only now that a newer one verified.
 */
export async function takeBackup(
  db: Database,
  config: Config,
  trigger: "scheduled" | "pre_upgrade" | "manual",
  now = new Date(),
  s3Options: Pick<S3ClientConfig, "logger"> = {},
): Promise<CreatedBackup> {
  const startedAt = new Date();
  let made: CreatedBackup;
  try {
    made = await createBackup(db, {
      dir: config.backupDir,
      copyDir: config.backupCopyDir,
      passphrase: await backupPassphrase(config),
      databaseUrl: config.databaseUrl,
      now,
    });
  } catch (error) {
    await recordBackupRun(db, {
      trigger,
      startedAt,
      durationMs: Date.now() - startedAt.getTime(),
      file: null,
      verified: false,
      error: (error as Error).message,
    });
    throw error;
  }
  // A failed upload fails the run (and so raises the backup_failed alert) but keeps the local
  // backup, which verified: it is recorded with its file and the error.
  const s3 = await copyToS3(config, made.file, s3Options);
  if (s3.copy) made.copies.push(s3.copy);
  await recordBackupRun(db, {
    trigger,
    startedAt,
    durationMs: made.durationMs,
    file: path.basename(made.file),
    copies: made.copies,
    bytes: made.manifest.bytes,
    verified: true,
    error: s3.error,
    details: {
      engine: made.manifest.engine,
      schemaVersion: made.manifest.schemaVersion,
      ...(s3.error ? { s3: "failed" } : {}),
    },
  });
  const policy = retentionPolicy(config);
  for (const dir of [config.backupDir, config.backupCopyDir]) {
    if (!dir) continue;
    const removed = await removeBackups(backupsToRemove(await listBackups(dir), policy, now, true));
    if (dir === config.backupDir)
      await markRemoved(
        db,
        removed.map((f) => path.basename(f)),
      );
  }
  if (s3.error) throw new BackupError("backup.s3_failed", s3.error);
  // The same rule in the bucket: only now that the newest backup is there too.
  if (s3.location)
    await removeS3Backups(s3.location, backupsToRemove(await listS3Backups(s3.location), policy, now, true));
  return made;
}

/**
 * Registers the daily backup and the weekly restore test. Both need the backup passphrase; without
 * one the schedule stays off and the start says so (and /metrics shows no backup).
 */
export function registerBackupJobs(
  db: Database,
  jobs: JobRunner,
  config: Config,
  events: BackupJobEvents,
): void {
  jobs.register(BACKUP_JOB, async () => {
    try {
      const made = await takeBackup(db, config, "scheduled");
      events.info(`backup ${made.file} written and verified in ${made.durationMs} ms`);
    } catch (error) {
      events.onFailure("backup", (error as Error).message);
      throw error;
    }
  });
  jobs.register(RESTORE_TEST_JOB, async () => {
    // A new installation has nothing to test yet; the first backup comes with the daily job.
    if ((await listBackups(config.backupDir)).length === 0) {
      events.info("restore test skipped: no backup yet");
      return;
    }
    const result: RestoreTestResult = await runRestoreTest(db, config);
    if (!result.ok) {
      events.onFailure(
        "restore_test",
        result.error ?? `the restored database differs: ${result.problems.join("; ")}`,
      );
    } else events.info(`restore test of ${result.file} passed in ${result.durationMs} ms`);
  });
  const configured = config.backupPassphrase !== null || config.backupPassphraseFile !== null;
  if (!configured) {
    events.info(
      "scheduled backups are off: set PATCHPILOT_BACKUP_PASSPHRASE or PATCHPILOT_BACKUP_PASSPHRASE_FILE to turn them on",
    );
    return;
  }
  if (config.backupIntervalHours > 0)
    jobs.schedule({ kind: BACKUP_JOB, everyMs: config.backupIntervalHours * HOUR_MS });
  if (config.restoreTestDays > 0)
    jobs.schedule({ kind: RESTORE_TEST_JOB, everyMs: config.restoreTestDays * 24 * HOUR_MS });
}
