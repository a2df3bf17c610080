import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

/** SQL run as the database owner (the login role), not as the application or system role. */
export interface OwnerSql {
  exec(sql: string): Promise<void>;
  query<R>(sql: string, params?: unknown[]): Promise<R[]>;
}

export interface Migration {
  version: string;
  sql: string;
  checksum: string;
}

export const MIGRATIONS_DIR = fileURLToPath(new URL("../../migrations/", import.meta.url));

// Any constant works; it only has to be the same for every PatchPilot process.
const MIGRATION_LOCK_KEY = 7_004_116_011;

export async function readMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith(".sql")).sort();
  return Promise.all(
    files.map(async (file) => {
      const sql = await readFile(`${dir}/${file}`, "utf8");
      return {
        version: file.replace(/\.sql$/, ""),
        sql,
        checksum: createHash("sha256").update(sql).digest("hex"),
      };
    }),
  );
}

export class MigrationError extends Error {
  override name = "MigrationError";
}

async function appliedMigrations(owner: OwnerSql): Promise<Map<string, string>> {
  const exists = await owner.query<{ present: boolean }>(
    "SELECT to_regclass('public.schema_migrations') IS NOT NULL AS present",
  );
  if (!exists[0]?.present) return new Map();
  const rows = await owner.query<{ version: string; checksum: string }>(
    "SELECT version, checksum FROM schema_migrations",
  );
  return new Map(rows.map((r) => [r.version, r.checksum]));
}

/** Migrations not yet applied; throws when an applied migration's file was changed. */
export async function pendingMigrations(owner: OwnerSql, migrations?: Migration[]): Promise<Migration[]> {
  return unapplied(migrations ?? (await readMigrations()), await appliedMigrations(owner));
}

export function unapplied(all: Migration[], applied: ReadonlyMap<string, string>): Migration[] {
  for (const m of all) {
    const checksum = applied.get(m.version);
    if (checksum !== undefined && checksum !== m.checksum) {
      throw new MigrationError(
        `migration ${m.version} was changed after it was applied; migrations are immutable, add a new one`,
      );
    }
  }
  return all.filter((m) => !applied.has(m.version));
}

/**
 * Applies pending migrations in order, each in its own transaction, under an advisory lock so
 * that several server processes starting together apply each migration once.
 */
export async function migrate(owner: OwnerSql, migrations?: Migration[]): Promise<string[]> {
  await owner.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY]);
  try {
    await owner.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version text PRIMARY KEY,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const pending = await pendingMigrations(owner, migrations);
    for (const m of pending) {
      await owner.exec("BEGIN");
      try {
        await owner.exec(m.sql);
        await owner.query("INSERT INTO schema_migrations (version, checksum) VALUES ($1, $2)", [
          m.version,
          m.checksum,
        ]);
        await owner.exec("COMMIT");
      } catch (error) {
        await owner.exec("ROLLBACK");
        throw new MigrationError(`migration ${m.version} failed: ${(error as Error).message}`);
      }
    }
    await owner.exec("GRANT SELECT ON schema_migrations TO patchpilot_system");
    return pending.map((m) => m.version);
  } finally {
    await owner.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY]);
  }
}
