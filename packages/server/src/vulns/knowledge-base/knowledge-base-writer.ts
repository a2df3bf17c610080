import { PLATFORM_ORGANIZATION_ID } from "../../audit/chain.js";
import type { Database } from "../../db/database.js";
import { type AuditContext, SYSTEM_WORK } from "../../db/unit-of-work.js";
import { enqueueJob } from "../../jobs/job-queue.js";
import type { EpssScore, KevEntry, NormalizedAdvisory, SkippedRecord } from "../feeds/model.js";
import { type PackageKey, packageKeyString, storeAdvisories } from "./store-advisories.js";
import { bumpGeneration, storeEpss, storeKev } from "./store-scores.js";

const BATCH = 1000;
export const REMATCH_JOB = "vulns.rematch";

/** What a feed run changed, for the re-match job it queues. */
export interface RematchPayload {
  /** The knowledge base generation the feed run made: the one before it plus these changes. */
  generation?: number;
  /** The packages whose advisories changed, or all: true when there are too many to name. */
  keys?: PackageKey[];
  all?: boolean;
  /** Vulnerabilities whose scores changed (KEV, CVSS), or everyRisk: true for all (EPSS). */
  vulnerabilities?: string[];
  everyRisk?: boolean;
  /**
   * What the changed advisories were and are about, with named keys: only these vulnerabilities'
   * matches of the named packages can have moved, so only theirs are compared. Absent (a job
   * queued before this field, or too many to name): every match of the named packages is.
   */
  advisoryVulnerabilities?: string[];
}
/** Past this many changed packages a full re-match is cheaper than naming them all. */
const FULL_REMATCH_OVER = 20_000;

export interface FeedImportSummary {
  feed: string;
  stored: number;
  unchanged: number;
  withdrawn: number;
  skipped: number;
  kev: number;
  epss: number;
  changedPackages: number;
  /** The first skipped records, with their reasons (all are counted). */
  skippedSamples: SkippedRecord[];
}

/**
 * Writes one feed run into the knowledge base: advisories in batches of a thousand (each batch one
 * transaction, so a huge import holds no long lock), KEV and EPSS scores, then — once — the feed's
 * state, an audit event, the generation bump that tells every process to reload its index, and a
 * re-match job for the packages whose advisories changed.
 */
export class KnowledgeBaseWriter {
  readonly #pending: NormalizedAdvisory[] = [];
  readonly #keys = new Map<string, PackageKey>();
  readonly #vulnerabilities = new Set<string>();
  readonly #advisoryVulnerabilities = new Set<string>();
  /** EPSS moves nearly every score each day: the risk of every standing finding is recomputed. */
  #everyRisk = false;
  #inflight: Promise<void> = Promise.resolve();
  #failure: unknown = null;
  readonly summary: FeedImportSummary;

  constructor(
    private readonly db: Database,
    feed: string,
    private readonly context: AuditContext = SYSTEM_WORK,
  ) {
    this.summary = {
      feed,
      stored: 0,
      unchanged: 0,
      withdrawn: 0,
      skipped: 0,
      kev: 0,
      epss: 0,
      changedPackages: 0,
      skippedSamples: [],
    };
  }

  skip(records: readonly SkippedRecord[]): void {
    this.summary.skipped += records.length;
    for (const r of records) if (this.summary.skippedSamples.length < 20) this.summary.skippedSamples.push(r);
  }

  async advisories(records: readonly NormalizedAdvisory[]): Promise<void> {
    for (const r of records) {
      this.#pending.push(r);
      if (this.#pending.length >= BATCH) await this.#flush();
    }
  }

  async kev(entries: readonly KevEntry[]): Promise<void> {
    await this.#flush(true);
    const changed = await this.db.system(SYSTEM_WORK, (tx) => storeKev(tx, entries), {
      unaudited: "public knowledge-base data; the feed run is audited as a whole",
    });
    this.summary.kev += entries.length;
    for (const id of changed) this.#vulnerabilities.add(id);
  }

  async epss(scores: readonly EpssScore[]): Promise<void> {
    await this.#flush(true);
    const changed = await this.db.system(SYSTEM_WORK, (tx) => storeEpss(tx, scores), {
      unaudited: "public knowledge-base data; the feed run is audited as a whole",
    });
    this.summary.epss += changed;
    if (changed > 0) this.#everyRisk = true;
  }

  /**
   * Writes what is left, records the run (with the sync cursor to resume from; undefined keeps the
   * feed's cursor, as an offline import does), and — if anything changed — moves the knowledge
   * base's generation on and queues the re-match.
   */
  async finish(
    cursor: string | null | undefined,
    details: Record<string, unknown> = {},
  ): Promise<FeedImportSummary> {
    await this.#flush(true);
    const keys = [...this.#keys.values()];
    this.summary.changedPackages = keys.length;
    const s = this.summary;
    const changed = keys.length > 0 || this.#vulnerabilities.size > 0 || this.#everyRisk || s.withdrawn > 0;
    await this.db.system(this.context, async (tx) => {
      await recordFeedSuccess(tx.db, s, cursor, details);
      if (changed) {
        const generation = await bumpGeneration(tx);
        const payload: RematchPayload = {
          generation,
          ...(keys.length > FULL_REMATCH_OVER ? { all: true } : { keys }),
          ...(keys.length <= FULL_REMATCH_OVER && this.#advisoryVulnerabilities.size <= FULL_REMATCH_OVER
            ? { advisoryVulnerabilities: [...this.#advisoryVulnerabilities] }
            : {}),
          ...(this.#everyRisk || this.#vulnerabilities.size > FULL_REMATCH_OVER
            ? { everyRisk: true }
            : { vulnerabilities: [...this.#vulnerabilities] }),
        };
        await enqueueJob(tx.db, { kind: REMATCH_JOB, payload: { ...payload } });
      }
      tx.audit(PLATFORM_ORGANIZATION_ID, {
        action: "feeds.imported",
        target: { type: "feed", id: s.feed },
        details: {
          stored: s.stored,
          unchanged: s.unchanged,
          withdrawn: s.withdrawn,
          skipped: s.skipped,
          kev: s.kev,
          epss: s.epss,
          changedPackages: s.changedPackages,
        },
      });
    });
    return s;
  }

  /**
   * Hands the pending advisories to the database and returns once the batch before them is
   * written: parsing the next file overlaps with writing this batch. `wait` waits for this one too.
   * A failed write is thrown from the next call (and from `finish`).
   */
  async #flush(wait = false): Promise<void> {
    if (this.#pending.length > 0) {
      const batch = this.#pending.splice(0, this.#pending.length);
      await this.#inflight;
      this.#inflight = this.#write(batch).catch((error: unknown) => {
        this.#failure ??= error;
      });
    }
    if (wait) await this.#inflight;
    if (this.#failure !== null) throw this.#failure;
  }

  async #write(batch: readonly NormalizedAdvisory[]): Promise<void> {
    // One source per statement batch: a mixed batch is split by source.
    const bySource = new Map<string, NormalizedAdvisory[]>();
    for (const a of batch) {
      const list = bySource.get(a.source);
      if (list) list.push(a);
      else bySource.set(a.source, [a]);
    }
    for (const list of bySource.values()) {
      const outcome = await this.db.system(SYSTEM_WORK, (tx) => storeAdvisories(tx, list), {
        unaudited: "public knowledge-base data; the feed run is audited as a whole",
      });
      this.summary.stored += outcome.stored;
      this.summary.unchanged += outcome.unchanged;
      this.summary.withdrawn += outcome.withdrawn;
      for (const k of outcome.changedKeys) this.#keys.set(packageKeyString(k), k);
      for (const v of outcome.changedVulnerabilities) this.#vulnerabilities.add(v);
      for (const v of outcome.affectedVulnerabilities) this.#advisoryVulnerabilities.add(v);
    }
  }
}

async function recordFeedSuccess(
  db: Parameters<typeof enqueueJob>[0],
  s: FeedImportSummary,
  cursor: string | null | undefined,
  details: Record<string, unknown>,
): Promise<void> {
  await db
    .insertInto("feed_state")
    .values({
      feed: s.feed,
      last_attempt_at: new Date(),
      last_success_at: new Date(),
      last_error: null,
      records: s.stored + s.unchanged + s.kev + s.epss,
      skipped: s.skipped,
      cursor: cursor ?? null,
      details: JSON.stringify({ ...details, skippedSamples: s.skippedSamples.slice(0, 5) }),
    })
    .onConflict((oc) =>
      oc.column("feed").doUpdateSet((eb) => ({
        last_attempt_at: eb.ref("excluded.last_attempt_at"),
        last_success_at: eb.ref("excluded.last_success_at"),
        last_error: null,
        records: eb.ref("excluded.records"),
        skipped: eb.ref("excluded.skipped"),
        ...(cursor === undefined ? {} : { cursor: eb.ref("excluded.cursor") }),
        details: eb.ref("excluded.details"),
      })),
    )
    .execute();
}

/** A feed run that failed: the error is kept with the feed, whatever the run had stored stays. */
export async function recordFeedFailure(db: Database, feed: string, error: unknown): Promise<void> {
  const message = (error instanceof Error ? error.message : String(error)).slice(0, 2000);
  await db.system(SYSTEM_WORK, async (tx) => {
    await tx.db
      .insertInto("feed_state")
      .values({ feed, last_attempt_at: new Date(), last_error: message })
      .onConflict((oc) => oc.column("feed").doUpdateSet({ last_attempt_at: new Date(), last_error: message }))
      .execute();
    tx.audit(PLATFORM_ORGANIZATION_ID, {
      action: "feeds.failed",
      target: { type: "feed", id: feed },
      result: "failure",
      errorCode: "feeds.failed",
      details: { error: message },
    });
  });
}
