import { sql } from "kysely";
import { PLATFORM_ORGANIZATION_ID } from "../audit/chain.js";
import type { Config } from "../config/config.js";
import type { Database } from "../db/database.js";
import type { JobRunner } from "../jobs/job-runner.js";
import { FEED_SYNC_JOB, feedSyncJobHandler, feedSyncSchedule } from "./feeds/sync/feed-sync.js";
import { recordDailyStats } from "./findings/daily-stats.js";
import { feedStatus } from "./findings/feed-status.js";
import { expireSuppressions } from "./findings/suppression-expiry.js";
import { REMATCH_JOB, type RematchPayload } from "./knowledge-base/knowledge-base-writer.js";
import type { AdvisoryIndex } from "./matching/advisory-index.js";
import { runRematchJob } from "./matching/rematch-job.js";

export const HOURLY_JOB = "vulns.hourly";
export const DAILY_STATS_JOB = "vulns.daily_stats";
const HOUR_MS = 3600_000;

export interface VulnsLog {
  info(message: string, details?: Record<string, unknown>): void;
  warn(message: string, details?: Record<string, unknown>): void;
}

/** The day before `now`, UTC, as YYYY-MM-DD. */
export function previousDay(now: Date): string {
  return new Date(now.getTime() - 86_400_000).toISOString().slice(0, 10);
}

/**
 * The background work of vulnerability intelligence, run by the job runner in whichever server
 * process leases it: re-matching after feed changes, the scheduled feed sync (when it is on),
 * hourly expiry of accepted risks with a warning for stale feeds, and each day's figures for the
 * trend. Schedules are keyed by period, so several processes queue each run once.
 */
export function registerVulnsJobs(
  jobs: JobRunner,
  db: Database,
  index: AdvisoryIndex,
  config: Pick<
    Config,
    "feedSync" | "feedSyncHours" | "nvdApiKey" | "osvEcosystems" | "alpineReleases" | "feedUrls"
  >,
  log: VulnsLog,
): void {
  jobs.register(REMATCH_JOB, async (payload) => {
    const outcome = await runRematchJob(db, index, payload as RematchPayload);
    log.info("advisory changes matched", { ...outcome });
  });
  jobs.register(HOURLY_JOB, async () => {
    const expired = await expireSuppressions(db);
    if (expired.suppressions > 0) log.info("accepted risks expired", { ...expired });
    const stale = (await feedStatus(db)).filter((f) => f.stale || f.lastError !== null);
    for (const f of stale) {
      log.warn("advisory feed is stale or failing: findings may miss recent advisories", {
        feed: f.feed,
        lastSuccessAt: f.lastSuccessAt,
        lastError: f.lastError,
      });
    }
  });
  jobs.schedule({ kind: HOURLY_JOB, everyMs: HOUR_MS });
  jobs.register(DAILY_STATS_JOB, async () => {
    const day = previousDay(new Date());
    // An organisation made after the day ended has no figures for it.
    const organizations = await sql<{ id: string }>`
      SELECT id FROM organizations
       WHERE id <> ${PLATFORM_ORGANIZATION_ID}
         AND created_at < (${day}::date + 1)::timestamp AT TIME ZONE 'UTC'`.execute(db.systemReader);
    for (const { id } of organizations.rows) await recordDailyStats(db, id, day);
  });
  jobs.schedule({ kind: DAILY_STATS_JOB, everyMs: 24 * HOUR_MS });
  if (config.feedSync) {
    jobs.register(
      FEED_SYNC_JOB,
      feedSyncJobHandler(db, config, (message) => log.info(message)),
    );
    jobs.schedule(feedSyncSchedule(config));
  }
}
