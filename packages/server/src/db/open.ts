import { mkdir } from "node:fs/promises";
import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import { Database } from "./database.js";
import { migrate, type OwnerSql } from "./migrate.js";
import { openPGlite, PGlitePool } from "./pglite-pool.js";
import { preparedStatementPool } from "./prepared-pool.js";
import type { DB } from "./schema.js";

export interface OpenDatabaseOptions {
  /** A PostgreSQL URL, or null for the embedded database. */
  databaseUrl: string | null;
  /** Where the embedded database keeps its files; null keeps it in memory (tests). */
  pgliteDir: string | null;
  poolSize?: number;
  /** Apply pending migrations before returning (the default), or leave the schema alone. */
  migrate?: boolean;
}

const INT8_OID = 20;

/** int8 as a JS number, as PGlite does; the values we keep (counts, sequence numbers) fit. */
function pgTypes(): pg.CustomTypesConfig {
  return {
    getTypeParser: ((oid: number, format?: "text" | "binary") =>
      oid === INT8_OID
        ? (value: string) => Number(value)
        : pg.types.getTypeParser(oid, format ?? "text")) as pg.CustomTypesConfig["getTypeParser"],
  };
}

export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  return options.databaseUrl ? openPostgres(options.databaseUrl, options) : openEmbedded(options);
}

async function openPostgres(url: string, options: OpenDatabaseOptions): Promise<Database> {
  const ownerClient = new pg.Client({ connectionString: url, types: pgTypes() });
  await ownerClient.connect();
  const owner: OwnerSql = {
    exec: async (text) => {
      await ownerClient.query(text);
    },
    query: async <R>(text: string, params?: unknown[]) => (await ownerClient.query(text, params)).rows as R[],
  };
  try {
    if (options.migrate !== false) await migrate(owner);
  } catch (error) {
    await ownerClient.end();
    throw error;
  }
  // Every pooled connection starts as the system role (set in the startup packet, so a
  // connection that cannot take it fails instead of running as the owner) and a tenant
  // transaction narrows it further; the login role, which owns the schema, only migrates.
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 16,
    types: pgTypes(),
    options: "-c role=patchpilot_system",
  });
  // An idle pooled connection that breaks (the server restarted, an administrator ended it) is
  // dropped by the pool and replaced on the next query; without a listener it would end the process.
  pool.on("error", (error) => {
    process.emitWarning(`PostgreSQL connection lost while idle: ${error.message}`, "PatchPilotDatabase");
  });
  ownerClient.on("error", (error) => {
    process.emitWarning(`PostgreSQL owner connection lost: ${error.message}`, "PatchPilotDatabase");
  });
  const kysely = new Kysely<DB>({ dialect: new PostgresDialect({ pool: preparedStatementPool(pool) }) });
  return new Database(
    "postgres",
    kysely,
    owner,
    async () => {
      await ownerClient.end();
    },
    { poolState: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }) },
  );
}

async function openEmbedded(options: OpenDatabaseOptions): Promise<Database> {
  if (options.pgliteDir) await mkdir(options.pgliteDir, { recursive: true, mode: 0o700 });
  const pglite = await openPGlite(options.pgliteDir);
  const pool = new PGlitePool(pglite);
  const owner: OwnerSql = {
    exec: (text) =>
      pool.exclusive(async (db) => {
        await db.exec("RESET ROLE");
        try {
          await db.exec(text);
        } finally {
          await restoreSystemRole(db);
        }
      }),
    query: <R>(text: string, params?: unknown[]) =>
      pool.exclusive(async (db) => {
        await db.exec("RESET ROLE");
        try {
          return (await db.query<R>(text, params)).rows;
        } finally {
          await restoreSystemRole(db);
        }
      }),
  };
  if (options.migrate !== false) await migrate(owner);
  await pool.exclusive(restoreSystemRole);
  const kysely = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  return new Database(
    "pglite",
    kysely,
    owner,
    async () => {
      await pool.end();
    },
    {
      // Holding the one connection keeps every writer out while the files are read.
      snapshotDataDir: (read) =>
        pool.exclusive(async (pglite) => {
          await pglite.exec("RESET ROLE");
          try {
            const seen = await read(async <R>(text: string) => (await pglite.query<R>(text)).rows);
            await pglite.exec("CHECKPOINT");
            return { tarball: await pglite.dumpDataDir("gzip"), read: seen };
          } finally {
            await restoreSystemRole(pglite);
          }
        }),
      poolState: () => ({ total: 1, idle: pool.idle ? 1 : 0, waiting: pool.waiting }),
    },
  );
}

async function restoreSystemRole(db: {
  exec(sql: string): Promise<unknown>;
  query(sql: string): Promise<{ rows: unknown[] }>;
}) {
  const exists = await db.query("SELECT 1 FROM pg_roles WHERE rolname = 'patchpilot_system'");
  if (exists.rows.length > 0) await db.exec("SET ROLE patchpilot_system");
}
