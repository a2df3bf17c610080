import type { Config } from "../config/config.js";
import type { Database } from "../db/database.js";
import { autovacuumRuns, runUpkeep, UPKEEP_EVERY_MS, UPKEEP_JOB } from "../db/upkeep.js";
import type { RouteDefinition } from "../http/route.js";
import type { JobRunner } from "../jobs/job-runner.js";
import type { SecretBox } from "../secrets/secret-box.js";
import { type AlertsCapability, createAlertsCapability } from "./alerts/capability.js";
import { registerBackupJobs } from "./backup/backup-jobs.js";
import { metricsRoutes, ServerMetrics } from "./metrics/metrics.js";
import { registerStatusProbe, statusRoutes } from "./status/status.js";

export interface OpsLog {
  info(message: string): void;
  error(error: unknown, message: string): void;
  warn?(message: string, details?: Record<string, unknown>): void;
}

/**
 * The platform's own operations: scheduled backups and restore tests, /metrics, the status page,
 * alerts, and the database's upkeep where autovacuum does not run.
 */
export interface OpsCapability {
  routes: RouteDefinition[];
  metrics: ServerMetrics;
  alerts: AlertsCapability;
}

export function createOpsCapability(
  db: Database,
  jobs: JobRunner,
  config: Config,
  log: OpsLog,
  secrets: SecretBox,
): OpsCapability {
  registerBackupJobs(db, jobs, config, {
    info: (message) => log.info(message),
    onFailure: (kind, message) =>
      log.error(
        new Error(message),
        kind === "backup" ? "the scheduled backup failed" : "the restore test failed",
      ),
  });
  registerStatusProbe(db, jobs, config);
  const warn = (message: string, details?: Record<string, unknown>) =>
    log.warn ? log.warn(message, details) : log.info(message);
  let warned = false;
  jobs.register(UPKEEP_JOB, async () => {
    if (db.kind === "postgres") {
      if (await autovacuumRuns(db.owner)) return;
      if (!warned) {
        warned = true;
        warn(
          "autovacuum is off on this PostgreSQL server: PatchPilot vacuums and analyses its own tables every 10 minutes instead",
        );
      }
    }
    const report = await runUpkeep(db.owner);
    if (report.tables.length > 0 || report.froze)
      log.info(
        `database upkeep: ${report.tables.length} tables vacuumed and measured${report.froze ? ", all frozen" : ""} in ${report.durationMs} ms`,
      );
  });
  jobs.schedule({ kind: UPKEEP_JOB, everyMs: UPKEEP_EVERY_MS });
  const metrics = new ServerMetrics(db, config);
  const alerts = createAlertsCapability(db, jobs, secrets, config, {
    warn,
  });
  return {
    routes: [...metricsRoutes(metrics, config), ...statusRoutes(db), ...alerts.routes],
    metrics,
    alerts,
  };
}
