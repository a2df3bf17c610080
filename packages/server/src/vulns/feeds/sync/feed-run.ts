/**
 * What every source's sync shares: the settings it reads, the context a run gets, what a run
 * returns, and the cursors kept in `feed_state.cursor` between runs.
 */
import type { Config } from "../../../config/config.js";
import type { Database } from "../../../db/database.js";
import type { FeedImportSummary, KnowledgeBaseWriter } from "../../knowledge-base/knowledge-base-writer.js";
import { type FetchOptions, fetchFeed } from "./feed-fetch.js";

/** The sources `feeds sync --only` names. */
export const SOURCE_KEYS = ["kev", "epss", "nvd", "osv", "debian", "alpine", "msrc"] as const;
export type SourceKey = (typeof SOURCE_KEYS)[number];

/** The part of the configuration feed sync reads (the whole Config fits). */
export type FeedSyncSettings = Pick<Config, "nvdApiKey" | "osvEcosystems" | "alpineReleases" | "feedUrls">;

/** Knobs with production defaults; tests make the waits short. */
export interface SyncTuning {
  attempts: number;
  /** First wait before another attempt when the source does not say how long; doubled each time. */
  backoffMs: number;
  /** The longest wait between attempts, whatever Retry-After asks. */
  maxWaitMs: number;
  /** Per request, body included (OSV's all.zip gets `downloadTimeoutMs`). */
  timeoutMs: number;
  downloadTimeoutMs: number;
  /** NVD's rolling rate-limit window: 5 requests in it without an API key, 50 with one. */
  nvdWindowMs: number;
  /** Past this many changed OSV records since the last run, the ecosystem's all.zip is cheaper. */
  osvMaxChangedRecords: number;
  now: () => Date;
}

export const DEFAULT_TUNING: SyncTuning = {
  attempts: 4,
  backoffMs: 2000,
  maxWaitMs: 120_000,
  timeoutMs: 300_000,
  downloadTimeoutMs: 1_800_000,
  nvdWindowMs: 30_000,
  osvMaxChangedRecords: 5000,
  now: () => new Date(),
};

export interface FeedRunContext {
  db: Database;
  settings: FeedSyncSettings;
  tuning: SyncTuning;
  /** The cursor the feed's last successful run stored, or null before the first one. */
  cursor: string | null;
  log(message: string): void;
  /** A writer for this feed's run (each `finish` records a successful run with its cursor). */
  writer(): KnowledgeBaseWriter;
  /** Fetch options with the run's attempts, backoff and timeout. */
  fetchOptions(extra?: FetchOptions): FetchOptions;
}

export interface FeedRunOutcome {
  summary: FeedImportSummary;
  /** False when the source had nothing new (304, same EPSS date, no modified records). */
  changed: boolean;
}

/** One feed_state row's worth of work: a source, or one OSV ecosystem. */
export interface FeedRun {
  source: SourceKey;
  /** The feed_state row it keeps (`nvd`, `osv:Debian`). */
  feed: string;
  run(ctx: FeedRunContext): Promise<FeedRunOutcome>;
}

/** ETag and Last-Modified of the copy last imported, for a conditional GET. */
export interface Validators {
  etag: string | null;
  lastModified: string | null;
}

/** A cursor written as JSON; anything unreadable counts as no cursor (the next run is a full one). */
export function readJsonCursor(cursor: string | null): Record<string, unknown> {
  if (cursor === null) return {};
  try {
    const value: unknown = JSON.parse(cursor);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? { ...value } : {};
  } catch {
    return {};
  }
}

export function validatorsOf(value: unknown): Validators {
  const object = typeof value === "object" && value !== null ? value : {};
  const text = (key: string) => {
    const field: unknown = Object.hasOwn(object, key) ? Reflect.get(object, key) : null;
    return typeof field === "string" && field !== "" ? field : null;
  };
  return { etag: text("etag"), lastModified: text("lastModified") };
}

/** An ISO-8601 time from a cursor, or null. */
export function timeOf(value: unknown): Date | null {
  if (typeof value !== "string") return null;
  const time = Date.parse(value);
  return Number.isNaN(time) ? null : new Date(time);
}

/**
 * A conditional GET with the validators a JSON cursor holds: null body when the source answers
 * 304, and the validators to keep for next time.
 */
export async function fetchIfChanged(
  ctx: FeedRunContext,
  url: string,
  previous: Validators,
  extra: FetchOptions = {},
): Promise<{ body: Buffer | null; validators: Validators }> {
  const fetched = await fetchFeed(
    url,
    ctx.fetchOptions({ ...extra, etag: previous.etag, lastModified: previous.lastModified }),
  );
  return { body: fetched.body, validators: { etag: fetched.etag, lastModified: fetched.lastModified } };
}
