import { sql } from "kysely";
import type { Database } from "../../db/database.js";

export interface FeedStatus {
  feed: string;
  lastSuccessAt: string | null;
  lastAttemptAt: string | null;
  lastError: string | null;
  records: number;
  skipped: number;
  /** No successful sync for more than 48 hours, or never: findings may miss recent advisories. */
  stale: boolean;
}

export const STALE_AFTER_HOURS = 48;

/** The knowledge base's feeds and their health: global data, the same for everyone. */
export async function feedStatus(db: Database): Promise<FeedStatus[]> {
  const rows = await db.systemReader
    .selectFrom("feed_state")
    .select([
      "feed",
      "last_success_at",
      "last_attempt_at",
      "last_error",
      "records",
      "skipped",
      sql<boolean>`last_success_at IS NULL OR last_success_at < now() - make_interval(hours => ${STALE_AFTER_HOURS})`.as(
        "stale",
      ),
    ])
    .orderBy("feed")
    .execute();
  return rows.map((r) => ({
    feed: r.feed,
    lastSuccessAt: r.last_success_at?.toISOString() ?? null,
    lastAttemptAt: r.last_attempt_at?.toISOString() ?? null,
    lastError: r.last_error,
    records: r.records,
    skipped: r.skipped,
    stale: r.stale,
  }));
}
