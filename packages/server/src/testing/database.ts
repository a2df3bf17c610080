import { randomBytes } from "node:crypto";
import pg from "pg";
import type { Database } from "../db/database.js";
import { openDatabase } from "../db/open.js";

/**
 * A fresh, migrated database for one test file: in-memory PGlite by default, or a new database
 * on the PostgreSQL server named by DATABASE_URL (dropped again by `drop`).
 */
export interface TestDatabase {
  db: Database;
  /** The URL of the test's own PostgreSQL database, or null on PGlite. */
  url: string | null;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    const db = await openDatabase({ databaseUrl: null, pgliteDir: null });
    return { db, url: null, drop: () => db.close() };
  }
  const name = `pp_test_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const db = await openDatabase({ databaseUrl: url.toString(), pgliteDir: null, poolSize: 8 });
  return {
    db,
    url: url.toString(),
    drop: async () => {
      await db.close();
      const cleanup = new pg.Client({ connectionString: serverUrl });
      await cleanup.connect();
      await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await cleanup.end();
    },
  };
}

export const SYSTEM_CONTEXT = {
  actor: { type: "system", id: null },
  requestId: null,
  ip: null,
  userAgent: null,
} as const;
