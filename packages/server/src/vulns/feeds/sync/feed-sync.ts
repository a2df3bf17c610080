/**
 * The online sync of the advisory feeds: every source in turn, each incremental (conditional
 * GETs, modification cursors), each recording its run in `feed_state`. A source that fails —
 * unreachable, or a file its parser refuses whole — records the failure, keeps what it had
 * stored, and does not stop the sources after it.
 */
import type { Config } from "../../../config/config.js";
import type { Database } from "../../../db/database.js";
import { type AuditContext, SYSTEM_WORK } from "../../../db/unit-of-work.js";
import type { JobHandler, Schedule } from "../../../jobs/job-runner.js";
import { KnowledgeBaseWriter, recordFeedFailure } from "../../knowledge-base/knowledge-base-writer.js";
import { alpineFeed } from "./alpine-sync.js";
import { debianFeed } from "./debian-sync.js";
import { epssFeed } from "./epss-sync.js";
import {
  DEFAULT_TUNING,
  type FeedRun,
  type FeedRunContext,
  type FeedSyncSettings,
  SOURCE_KEYS,
  type SourceKey,
  type SyncTuning,
} from "./feed-run.js";
import { kevFeed } from "./kev-sync.js";
import { msrcFeed } from "./msrc-sync.js";
import { nvdFeed } from "./nvd-sync.js";
import { osvFeeds } from "./osv-sync.js";

export type { FeedSyncSettings, SourceKey } from "./feed-run.js";
export { SOURCE_KEYS } from "./feed-run.js";

export const FEED_SYNC_JOB = "vulns.feed_sync";

export interface FeedSyncReport {
  /** The feed_state row (`nvd`, `osv:Debian`). */
  feed: string;
  source: SourceKey;
  status: "synced" | "unchanged" | "failed";
  stored: number;
  unchanged: number;
  withdrawn: number;
  skipped: number;
  /** KEV entries and EPSS scores. */
  scores: number;
  error: string | null;
  durationMs: number;
}

/** What the coordinator reports as it goes, for a progress bar. */
export interface SyncProgress {
  start(total: number): void;
  feed(name: string, done: number): void;
  end(): void;
}

export interface SyncFeedsOptions {
  /** Source keys (`nvd`, `osv`) or feed names (`osv:Debian`); all sources when absent. */
  only?: readonly string[];
  log?: (message: string) => void;
  progress?: SyncProgress;
  /** Who the audit rows name; the system by default. */
  context?: AuditContext;
  tuning?: Partial<SyncTuning>;
}

export class UnknownFeedError extends Error {
  override name = "UnknownFeedError";
}

/** Every feed the settings ask for, in the order they run (scores after the advisories they decorate). */
export function feedRuns(settings: FeedSyncSettings): FeedRun[] {
  return [
    nvdFeed(),
    ...osvFeeds(settings.osvEcosystems),
    debianFeed(),
    alpineFeed(),
    msrcFeed(),
    kevFeed(),
    epssFeed(),
  ].filter((run) => run.source !== "alpine" || settings.alpineReleases.length > 0);
}

function selectRuns(settings: FeedSyncSettings, only: readonly string[] | undefined): FeedRun[] {
  const runs = feedRuns(settings);
  if (only === undefined || only.length === 0) return runs;
  // A source switched off by its settings (no Alpine release listed) is known, just empty.
  const isSource = (name: string) => SOURCE_KEYS.some((key) => key === name);
  const unknown = only.filter((name) => !isSource(name) && !runs.some((r) => r.feed === name));
  if (unknown.length > 0) {
    throw new UnknownFeedError(
      `unknown feed ${unknown.map((n) => JSON.stringify(n)).join(", ")}: use ${SOURCE_KEYS.join(", ")} or a feed name such as osv:PyPI`,
    );
  }
  return runs.filter((r) => only.includes(r.source) || only.includes(r.feed));
}

/** Runs the sources one after another and says, per feed, what happened. */
export async function syncFeeds(
  db: Database,
  settings: FeedSyncSettings,
  options: SyncFeedsOptions = {},
): Promise<FeedSyncReport[]> {
  const runs = selectRuns(settings, options.only);
  const tuning: SyncTuning = { ...DEFAULT_TUNING, ...options.tuning };
  const secret = settings.nvdApiKey?.reveal() ?? null;
  // Defence in depth: no message stored or logged carries the API key, whatever put it there.
  const scrub = (text: string) => (secret === null ? text : text.split(secret).join("[redacted]"));
  const log = (message: string) => options.log?.(scrub(message));
  const reports: FeedSyncReport[] = [];
  options.progress?.start(runs.length);
  try {
    for (const [i, run] of runs.entries()) {
      options.progress?.feed(run.feed, i);
      reports.push(
        await syncOne(db, settings, run, { tuning, log, scrub, context: options.context ?? SYSTEM_WORK }),
      );
    }
  } finally {
    options.progress?.end();
  }
  return reports;
}

async function syncOne(
  db: Database,
  settings: FeedSyncSettings,
  run: FeedRun,
  env: {
    tuning: SyncTuning;
    log: (message: string) => void;
    scrub: (text: string) => string;
    context: AuditContext;
  },
): Promise<FeedSyncReport> {
  const started = Date.now();
  const report = (
    status: FeedSyncReport["status"],
    error: string | null,
    counts?: KnowledgeBaseWriter["summary"],
  ) => ({
    feed: run.feed,
    source: run.source,
    status,
    stored: counts?.stored ?? 0,
    unchanged: counts?.unchanged ?? 0,
    withdrawn: counts?.withdrawn ?? 0,
    skipped: counts?.skipped ?? 0,
    scores: (counts?.kev ?? 0) + (counts?.epss ?? 0),
    error,
    durationMs: Date.now() - started,
  });
  try {
    const state = await db.systemReader
      .selectFrom("feed_state")
      .select("cursor")
      .where("feed", "=", run.feed)
      .executeTakeFirst();
    const ctx: FeedRunContext = {
      db,
      settings,
      tuning: env.tuning,
      cursor: state?.cursor ?? null,
      log: env.log,
      writer: () => new KnowledgeBaseWriter(db, run.feed, env.context),
      fetchOptions: (extra = {}) => ({
        attempts: env.tuning.attempts,
        backoffMs: env.tuning.backoffMs,
        maxWaitMs: env.tuning.maxWaitMs,
        timeoutMs: env.tuning.timeoutMs,
        ...extra,
      }),
    };
    const outcome = await run.run(ctx);
    return report(outcome.changed ? "synced" : "unchanged", null, outcome.summary);
  } catch (error) {
    const message = env.scrub(error instanceof Error ? error.message : String(error));
    env.log(`${run.feed}: failed: ${message}`);
    try {
      await recordFeedFailure(db, run.feed, message);
    } catch (recordError) {
      env.log(`${run.feed}: the failure could not be recorded: ${env.scrub(String(recordError))}`);
    }
    return report("failed", message);
  }
}

/** The job the server's runner registers under FEED_SYNC_JOB; its payload may name `only` some feeds. */
export function feedSyncJobHandler(
  db: Database,
  settings: FeedSyncSettings,
  log: (message: string) => void = () => {},
): JobHandler {
  return async (payload) => {
    const only = Array.isArray(payload.only)
      ? payload.only.filter((n): n is string => typeof n === "string")
      : undefined;
    const reports = await syncFeeds(db, settings, { only, log });
    // A failed source is recorded with its feed (feed status, health) and tried again at the
    // next scheduled run; retrying the whole job would fetch every other source again.
    for (const r of reports.filter((r) => r.status === "failed"))
      log(`feed sync: ${r.feed} failed: ${r.error}`);
  };
}

/** The schedule that queues the job every PATCHPILOT_FEED_SYNC_HOURS. */
export function feedSyncSchedule(config: Pick<Config, "feedSyncHours">): Schedule {
  return { kind: FEED_SYNC_JOB, everyMs: config.feedSyncHours * 3600 * 1000 };
}
