import { createHash } from "node:crypto";
import { sql } from "kysely";
import type { Database } from "../db/database.js";

export interface Limit {
  max: number;
  windowSeconds: number;
}

/** Sign-in throttling. Counters live in the database so every server process shares them. */
export const SIGN_IN_LIMITS = {
  /** Failed attempts per account (by normalised email, known or not). */
  account: { max: 10, windowSeconds: 15 * 60 },
  /** Attempts per client address: the socket peer, or the forwarded client of a trusted proxy. */
  ip: { max: 100, windowSeconds: 15 * 60 },
} as const satisfies Record<string, Limit>;

export function accountKey(email: string): string {
  // Keyed by a hash so the table holds no addresses, and unknown addresses look like known ones.
  return `sign-in:account:${createHash("sha256").update(email.trim().toLowerCase()).digest("hex")}`;
}

export function ipKey(ip: string): string {
  return `sign-in:ip:${ip}`;
}

/** Seconds until the key may be used again, or 0 when it is under its limit. */
export async function retryAfter(db: Database, key: string, limit: Limit): Promise<number> {
  const row = await db.systemReader
    .selectFrom("rate_limit_buckets")
    .select([
      "hits",
      sql<number>`extract(epoch from (window_started_at + make_interval(secs => ${limit.windowSeconds}) - now()))`.as(
        "remaining",
      ),
    ])
    .where("key", "=", key)
    .executeTakeFirst();
  if (!row || row.remaining <= 0 || row.hits < limit.max) return 0;
  return Math.ceil(row.remaining);
}

/** Counts one hit against the key, starting a new window when the last one has passed. */
export async function hit(db: Database, key: string, limit: Limit): Promise<void> {
  await db.system(
    { actor: { type: "system", id: null }, requestId: null, ip: null, userAgent: null },
    async (tx) => {
      await tx.db
        .insertInto("rate_limit_buckets")
        .values({ key, window_started_at: sql<Date>`now()`, hits: 1 })
        .onConflict((oc) =>
          oc.column("key").doUpdateSet({
            hits: sql<number>`CASE WHEN rate_limit_buckets.window_started_at
              < now() - make_interval(secs => ${limit.windowSeconds}) THEN 1 ELSE rate_limit_buckets.hits + 1 END`,
            window_started_at: sql<Date>`CASE WHEN rate_limit_buckets.window_started_at
              < now() - make_interval(secs => ${limit.windowSeconds}) THEN now() ELSE rate_limit_buckets.window_started_at END`,
          }),
        )
        .execute();
    },
    { unaudited: "throttling counters; the attempt itself is audited by the sign-in" },
  );
}

export async function clear(db: Database, key: string): Promise<void> {
  await db.system(
    { actor: { type: "system", id: null }, requestId: null, ip: null, userAgent: null },
    async (tx) => {
      await tx.db.deleteFrom("rate_limit_buckets").where("key", "=", key).execute();
    },
    { unaudited: "throttling counters; the sign-in that cleared them is audited" },
  );
}

/**
 * Refusals of credentials nobody holds (unknown API or enrolment tokens) are recorded in the
 * platform chain, which no organisation's retention trims: at most one row per kind and client
 * address a minute, so a flood from one address cannot grow it without bound.
 */
export const PLATFORM_REFUSAL_LIMIT: Limit = { max: 1, windowSeconds: 60 };

/** Whether this refusal may be written to the platform chain (the first from its address this minute). */
export async function mayRecordPlatformRefusal(
  db: Database,
  kind: string,
  ip: string | null,
): Promise<boolean> {
  const key = `platform-refusal:${kind}:${ip ?? "unknown"}`;
  const limit = PLATFORM_REFUSAL_LIMIT;
  // One statement counts and answers, so concurrent refusals from one address cannot both pass.
  return db.system(
    { actor: { type: "system", id: null }, requestId: null, ip: null, userAgent: null },
    async (tx) => {
      const row = await tx.db
        .insertInto("rate_limit_buckets")
        .values({ key, window_started_at: sql<Date>`now()`, hits: 1 })
        .onConflict((oc) =>
          oc.column("key").doUpdateSet({
            hits: sql<number>`CASE WHEN rate_limit_buckets.window_started_at
              < now() - make_interval(secs => ${limit.windowSeconds}) THEN 1 ELSE rate_limit_buckets.hits + 1 END`,
            window_started_at: sql<Date>`CASE WHEN rate_limit_buckets.window_started_at
              < now() - make_interval(secs => ${limit.windowSeconds}) THEN now() ELSE rate_limit_buckets.window_started_at END`,
          }),
        )
        .returning("hits")
        .executeTakeFirstOrThrow();
      return row.hits <= limit.max;
    },
    { unaudited: "throttling counters for the platform chain's refusal rows" },
  );
}
