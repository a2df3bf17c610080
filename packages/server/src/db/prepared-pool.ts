import { createHash } from "node:crypto";
import type { PostgresPool, PostgresPoolClient, PostgresQueryResult } from "kysely";
import type pg from "pg";

/**
 * Runs every query as a named prepared statement, so PostgreSQL parses and plans each distinct
 * statement once per connection instead of on every request. With row-level security the plan
 * is most of a short query's cost. The statements are the fixed shapes the query builder makes,
 * so their number is bounded by the code, not by the data.
 */
export function preparedStatementPool(pool: pg.Pool): PostgresPool {
  const names = new Map<string, string>();
  // A safety net: should some code build statements whose text varies with the data, they run
  // unprepared past this many, instead of filling every connection with prepared statements.
  const MAX_PREPARED = 2000;
  const nameOf = (text: string): string | undefined => {
    let name = names.get(text);
    if (!name) {
      if (names.size >= MAX_PREPARED) return undefined;
      name = `pp_${createHash("sha1").update(text).digest("base64url")}`;
      names.set(text, name);
    }
    return name;
  };
  return {
    async connect(): Promise<PostgresPoolClient> {
      const client = await pool.connect();
      return {
        query: async <R>(text: string, values: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>> => {
          // pg writes each protocol message (bind, execute, sync) to the socket on its own;
          // corking sends them in one write, which on loopback halves the system calls.
          const stream = socketOf(client);
          stream?.cork();
          const name = nameOf(text);
          const pending = client.query({ ...(name ? { name } : {}), text, values: [...values] });
          stream?.uncork();
          const result = await pending;
          return {
            command: result.command as PostgresQueryResult<R>["command"],
            rowCount: result.rowCount ?? 0,
            rows: result.rows as R[],
          };
        },
        release: () => client.release(),
      } as PostgresPoolClient;
    },
    end: () => pool.end(),
  };
}

/** The client's socket, when the driver exposes it (pg does, as connection.stream). */
function socketOf(client: pg.PoolClient): { cork(): void; uncork(): void } | null {
  const connection: unknown = Reflect.get(client, "connection");
  const stream: unknown =
    connection && typeof connection === "object" ? Reflect.get(connection, "stream") : null;
  if (stream && typeof stream === "object" && "cork" in stream && "uncork" in stream) {
    return stream as { cork(): void; uncork(): void };
  }
  return null;
}
