import type { Config } from "../config/config.js";
import type { Database } from "../db/database.js";
import type { JobRunner } from "../jobs/job-runner.js";
import { registerBackupJobs } from "./backup/backup-jobs.js";

export interface OpsLog {
  info(message: string): void;
  error(error: unknown, message: string): void;
}

/** The platform's own operations: scheduled backups and restore tests. */
export function createOpsCapability(db: Database, jobs: JobRunner, config: Config, log: OpsLog) {
  registerBackupJobs(db, jobs, config, {
    info: (message) => log.info(message),
    onFailure: (kind, message) =>
      log.error(
        new Error(message),
        kind === "backup" ? "the scheduled backup failed" : "the restore test failed",
      ),
  });
  return {};
}
