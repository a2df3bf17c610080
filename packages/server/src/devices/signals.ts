import { sql, type Transaction } from "kysely";
import type { Database } from "../db/database.js";
import type { DB } from "../db/schema.js";

export type SignalKind = "credentials_changed" | "jobs_queued" | "inventory_requested";

export interface Signal {
  seq?: number;
  deviceId: string;
  kind: SignalKind;
}

type LocalListener = (signal: Omit<Signal, "seq">) => void;
const local = new Set<LocalListener>();

/**
 * Signals raised in this process, delivered to its own listeners as soon as the transaction
 * commits, without waiting for the next poll (which delivers them again, harmlessly).
 */
export function listenLocally(listener: LocalListener): () => void {
  local.add(listener);
  return () => local.delete(listener);
}

/** Records, in the caller's transaction, that every server process must learn of a change. */
export async function emitSignal(
  tx: { db: Transaction<DB>; afterCommit(effect: () => void): void },
  deviceId: string,
  kind: SignalKind,
): Promise<void> {
  await tx.db.insertInto("agent_signals").values({ device_id: deviceId, kind }).execute();
  tx.afterCommit(() => notifyLocally([{ deviceId, kind }]));
}

/** Hands committed signals to this process's listeners at once. */
export function notifyLocally(signals: readonly Omit<Signal, "seq">[]): void {
  for (const signal of signals) for (const listener of local) listener(signal);
}

export const SIGNAL_POLL_MS = 250;
// Signals are read again for this long, so a transaction that committed a little after a later
// one is not missed; applying a signal twice does no harm.
const LOOKBACK_MS = 10_000;
const RETENTION_MINUTES = 10;
const PRUNE_EVERY_MS = 60_000;

/**
 * Polls the signal table a few times a second and hands each new signal to `apply`. Polling,
 * rather than LISTEN/NOTIFY, works the same on PGlite and PostgreSQL and needs no dedicated
 * connection; a revocation reaches every process within a poll interval and a query.
 */
export class SignalPoller {
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  readonly #seen = new Map<number, number>();
  #lastPrune = 0;

  constructor(
    private readonly db: Database,
    private readonly apply: (signal: Signal) => void,
    private readonly onError: (error: unknown) => void,
  ) {}

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      if (!this.#running) this.#running = this.poll().finally(() => (this.#running = null));
    }, SIGNAL_POLL_MS);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#running;
  }

  /** One poll: what was signalled since the last one (with the look-back), each applied once. */
  async poll(): Promise<void> {
    try {
      // The database's clock, so a server whose clock differs from it misses nothing.
      const rows = await this.db.systemReader
        .selectFrom("agent_signals")
        .select(["seq", "device_id", "kind"])
        .where("created_at", ">=", sql<Date>`now() - make_interval(secs => ${LOOKBACK_MS / 1000})`)
        .orderBy("seq")
        .execute();
      const now = Date.now();
      for (const row of rows) {
        if (this.#seen.has(row.seq)) continue;
        this.#seen.set(row.seq, now);
        this.apply({ seq: row.seq, deviceId: row.device_id, kind: row.kind });
      }
      for (const [seq, at] of this.#seen) if (now - at > 2 * LOOKBACK_MS) this.#seen.delete(seq);
      if (now - this.#lastPrune > PRUNE_EVERY_MS) {
        this.#lastPrune = now;
        await this.#prune();
      }
    } catch (error) {
      this.onError(error);
    }
  }

  async #prune(): Promise<void> {
    await this.db.system(
      { actor: { type: "system", id: null }, requestId: null, ip: null, userAgent: null },
      async (tx) => {
        await tx.db
          .deleteFrom("agent_signals")
          .where("created_at", "<", sql<Date>`now() - make_interval(mins => ${RETENTION_MINUTES})`)
          .execute();
      },
      { unaudited: "signals are delivery notices; what they announce is audited where it happened" },
    );
  }
}
