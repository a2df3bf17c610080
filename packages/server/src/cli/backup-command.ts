import { mkdir, mkdtemp, rm } from "node:fs/promises";
import path from "node:path";
import { Command } from "commander";
import { loadConfig } from "../config/config.js";
import { openDatabase } from "../db/open.js";
import { BackupError } from "../ops/backup/backup-file.js";
import { copyToS3 } from "../ops/backup/backup-jobs.js";
import { recordBackupRun } from "../ops/backup/backup-records.js";
import {
  checkRestored,
  createBackup,
  listBackups,
  restoreBackup,
  verifyBackup,
} from "../ops/backup/backup-service.js";
import { backupPassphrase } from "../ops/backup/passphrase.js";
import { runRestoreTest } from "../ops/backup/restore-test.js";
import { downloadBackup, openS3Location, parseS3Url } from "../ops/backup/s3-copy.js";
import { withDatabase } from "./with-database.js";

function megabytes(bytes: number): string {
  return `${(bytes / 1_048_576).toFixed(1)} MB`;
}

/**
 * Runs `use` on a local backup file: the file itself, or for s3://bucket/key a download into a
 * private temporary directory beside the backups, removed afterwards. The download is not trusted:
 * the restore checks its HMAC before it writes anything.
 */
async function withLocalBackup<T>(
  config: ReturnType<typeof loadConfig>,
  file: string,
  use: (local: string) => Promise<T>,
): Promise<T> {
  if (!file.startsWith("s3://")) return use(path.resolve(file));
  const address = parseS3Url(file);
  if (!address) throw new BackupError("backup.s3_failed", `${file} is not an s3://bucket/key address`);
  if (!config.backupS3 || config.backupS3.bucket !== address.bucket) {
    throw new BackupError(
      "backup.s3_failed",
      `${file} is not in the configured bucket: set PATCHPILOT_BACKUP_S3_BUCKET=${address.bucket} and its credentials`,
    );
  }
  const location = await openS3Location(config.backupS3);
  await mkdir(config.backupDir, { recursive: true, mode: 0o700 });
  const dir = await mkdtemp(path.join(config.backupDir, ".download-"));
  try {
    return await use(await downloadBackup(location, address.key, dir));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function backupCommand(): Command {
  const backup = new Command("backup").description(
    "encrypted backups (openssl enc format, AES-256-CBC, PBKDF2-SHA256 200,000 iterations) with an HMAC manifest",
  );
  backup.addHelpText(
    "after",
    "\nThe passphrase comes from PATCHPILOT_BACKUP_PASSPHRASE or PATCHPILOT_BACKUP_PASSPHRASE_FILE.\n" +
      "Decrypt without PatchPilot: openssl enc -d -aes-256-cbc -pbkdf2 -iter 200000 -md sha256 -in FILE -pass file:KEYFILE",
  );

  backup
    .command("create")
    .description("dump the whole database now, encrypt it, verify it and copy it to the second place")
    .option("--dir <path>", "where to write it (default PATCHPILOT_BACKUP_DIR)")
    .action(async (opts: { dir?: string }) => {
      await withDatabase(async (db, config) => {
        const passphrase = await backupPassphrase(config);
        const startedAt = new Date();
        try {
          const made = await createBackup(db, {
            dir: opts.dir ? path.resolve(opts.dir) : config.backupDir,
            copyDir: config.backupCopyDir,
            passphrase,
            databaseUrl: config.databaseUrl,
          });
          const s3 = await copyToS3(config, made.file);
          if (s3.copy) made.copies.push(s3.copy);
          await recordBackupRun(db, {
            trigger: "manual",
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
          const rows = Object.values(made.manifest.rowCounts).reduce((a, b) => a + b, 0);
          process.stdout.write(
            `backup ${made.file} (${megabytes(made.manifest.bytes)}, ${rows} rows, verified) in ${made.durationMs} ms\n`,
          );
          for (const copy of made.copies) process.stdout.write(`copy   ${copy} (verified)\n`);
          if (s3.error) {
            process.stderr.write(`${s3.error}\n`);
            process.exitCode = 1;
          }
        } catch (error) {
          await recordBackupRun(db, {
            trigger: "manual",
            startedAt,
            durationMs: Date.now() - startedAt.getTime(),
            file: null,
            verified: false,
            error: (error as Error).message,
          }).catch(() => {});
          throw error;
        }
      });
    });

  backup
    .command("list")
    .description("the backups in the backup directory, newest first")
    .option("--dir <path>", "another directory (default PATCHPILOT_BACKUP_DIR)")
    .action(async (opts: { dir?: string }) => {
      const config = loadConfig();
      const backups = await listBackups(opts.dir ? path.resolve(opts.dir) : config.backupDir);
      if (backups.length === 0) process.stdout.write("no backups\n");
      for (const b of backups) {
        process.stdout.write(
          `${b.createdAt}  ${megabytes(b.bytes).padStart(10)}  ${b.engine.padEnd(8)}  ${b.schemaVersion ?? "-"}  ${b.file}\n`,
        );
      }
    });

  backup
    .command("verify")
    .description("check a backup's HMAC and decrypt it fully, without restoring (exit 1 if it fails)")
    .argument(
      "<file>",
      "the .ppbak file (its manifest beside it), or s3://bucket/key in the configured bucket",
    )
    .action(async (file: string) => {
      const config = loadConfig();
      const passphrase = await backupPassphrase(config);
      const manifest = await withLocalBackup(config, file, (local) => verifyBackup(local, passphrase));
      process.stdout.write(
        `ok  ${file}: ${manifest.bytes} bytes, made ${manifest.createdAt} by ${manifest.sourceVersion}\n`,
      );
    });

  backup
    .command("restore")
    .description("restore a backup into the configured, empty database (stop the server first)")
    .argument(
      "<file>",
      "the .ppbak file (its manifest beside it), or s3://bucket/key in the configured bucket",
    )
    .option("--force", "replace a database that is not empty (an embedded one is moved aside, not deleted)")
    .action(async (file: string, opts: { force?: boolean }) => {
      const config = loadConfig();
      const passphrase = await backupPassphrase(config);
      const target = config.databaseUrl
        ? { kind: "postgres" as const, url: config.databaseUrl }
        : { kind: "pglite" as const, dir: path.join(config.dataDir, "pgdata") };
      const manifest = await withLocalBackup(config, file, (local) =>
        restoreBackup(local, passphrase, target, { force: opts.force === true }),
      );
      const db = await openDatabase({
        databaseUrl: config.databaseUrl,
        pgliteDir: path.join(config.dataDir, "pgdata"),
        migrate: false,
      });
      try {
        const check = await checkRestored(db, manifest);
        for (const problem of check.problems) process.stdout.write(`MISMATCH  ${problem}\n`);
        if (!check.ok) {
          process.exitCode = 1;
          return;
        }
        process.stdout.write(
          `restored ${file} (made ${manifest.createdAt}): row counts and ${check.chainsChecked} audit chains match its manifest\n`,
        );
      } finally {
        await db.close();
      }
    });

  backup
    .command("test")
    .description("restore the newest backup into a throw-away database and compare it with its manifest")
    .action(async () => {
      await withDatabase(async (db, config) => {
        const result = await runRestoreTest(db, config);
        process.stdout.write(
          `${result.ok ? "ok" : "FAILED"}  ${result.file ?? "(no backup)"} in ${result.durationMs} ms${result.error ? `: ${result.error}` : ""}\n`,
        );
        for (const p of result.problems) process.stdout.write(`  ${p}\n`);
        if (!result.ok) process.exitCode = 1;
      });
    });
  return backup;
}
