import { PGlite, types } from "@electric-sql/pglite";
import type { PostgresPool, PostgresPoolClient, PostgresQueryResult } from "kysely";

/**
 * PGlite is one in-process connection. This adapter gives it the shape of a `pg` pool so the
 * same Kysely dialect, transactions and SQL serve both databases: `connect()` waits for the
 * connection to be free and holds it until `release()`, so a transaction is never interleaved
 * with another caller's statements.
 */
export class PGlitePool implements PostgresPool {
  #tail: Promise<void> = Promise.resolve();
  #holders = 0;

  /** Whether nobody holds or waits for the connection. */
  get idle(): boolean {
    return this.#holders === 0;
  }

  /** Callers waiting for the connection (beyond the one holding it). */
  get waiting(): number {
    return Math.max(0, this.#holders - 1);
  }

  constructor(readonly pglite: PGlite) {}

  /** Runs `work` with the connection to itself; used for migrations and owner-level checks. */
  async exclusive<T>(work: (pglite: PGlite) => Promise<T>): Promise<T> {
    const release = await this.#acquire();
    try {
      return await work(this.pglite);
    } finally {
      release();
    }
  }

  async connect(): Promise<PostgresPoolClient> {
    const release = await this.#acquire();
    const pglite = this.pglite;
    let released = false;
    const client = {
      async query<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>> {
        const result = await pglite.query<R>(sql, [...parameters]);
        return {
          command: (result as { command?: string }).command as PostgresQueryResult<R>["command"],
          rowCount: (result as { rowCount?: number }).rowCount ?? result.affectedRows ?? 0,
          rows: result.rows,
        };
      },
      release() {
        if (!released) {
          released = true;
          release();
        }
      },
    };
    return client as PostgresPoolClient;
  }

  async end(): Promise<void> {
    await this.exclusive(async () => {});
    if (!this.pglite.closed) await this.pglite.close();
  }

  #acquire(): Promise<() => void> {
    let release!: () => void;
    this.#holders++;
    const free = new Promise<void>((resolve) => {
      release = () => {
        this.#holders--;
        resolve();
      };
    });
    const previous = this.#tail;
    this.#tail = previous.then(() => free);
    return previous.then(() => release);
  }
}

/** Type parsing that matches the `pg` pool's, so rows look the same on both databases. */
export const PGLITE_PARSERS = {
  [types.BYTEA]: (value: string) => Buffer.from(value.slice(2), "hex"),
  [types.INT8]: (value: string) => Number(value),
};

export async function openPGlite(dataDir: string | null): Promise<PGlite> {
  return PGlite.create(dataDir ?? undefined, { parsers: PGLITE_PARSERS });
}
