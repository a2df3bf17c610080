import type { OwnerSql } from "./migrate.js";

/**
 * Upkeep of a database that has no autovacuum — the embedded one always, a PostgreSQL server when
 * its operator turned autovacuum off: without it the planner never has statistics (every table
 * looks empty, so an organisation's 30,000 findings are read through nested loops), dead rows are
 * never reclaimed, and transaction ids run towards wraparound. Where autovacuum runs, it does all
 * of this itself and this job does nothing.
 *
 * The embedded engine keeps no activity counters either, so a table is due when its size on disk
 * has moved from what the last VACUUM or ANALYZE recorded (pg_class.relpages): never measured, or
 * more than a tenth (and eight pages) away. VACUUM (ANALYZE) reclaims and measures it in one pass.
 */
export const UPKEEP_JOB = "db.upkeep";
export const UPKEEP_EVERY_MS = 10 * 60_000;

/** PostgreSQL's autovacuum_freeze_max_age is 200 million; freezing starts well before it. */
export const FREEZE_AGE = 100_000_000;

export interface UpkeepReport {
  /** Tables vacuumed and re-measured, in the order done. */
  tables: string[];
  /** Whether the whole database was frozen because its oldest transaction id grew old. */
  froze: boolean;
  durationMs: number;
}

export interface TableSize {
  name: string;
  relpages: number;
  reltuples: number;
  pages: number;
}

export function isDue(t: TableSize): boolean {
  if (t.pages === 0) return false;
  if (t.reltuples < 0) return true;
  return Math.abs(t.pages - t.relpages) > Math.max(8, t.relpages * 0.1);
}

/** Whether a PostgreSQL server's autovacuum looks after this database (the embedded engine has none). */
export async function autovacuumRuns(owner: OwnerSql): Promise<boolean> {
  const [row] = await owner.query<{ on: boolean }>("SELECT current_setting('autovacuum') = 'on' AS on");
  return row?.on === true;
}

export async function runUpkeep(
  owner: OwnerSql,
  options: { freezeAge?: number } = {},
): Promise<UpkeepReport> {
  const started = performance.now();
  const sizes = await owner.query<TableSize>(
    `SELECT quote_ident(c.relname) AS name, c.relpages::int AS relpages, c.reltuples::float8 AS reltuples,
            (pg_relation_size(c.oid) / current_setting('block_size')::int)::int AS pages
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind = 'r'
      ORDER BY c.relname`,
  );
  const tables = sizes.filter(isDue).map((t) => t.name);
  // One statement each: VACUUM cannot run inside the implicit transaction of a multi-statement string.
  for (const name of tables) await owner.exec(`VACUUM (ANALYZE) public.${name}`);
  const [age] = await owner.query<{ age: number }>(
    "SELECT age(datfrozenxid)::int AS age FROM pg_database WHERE datname = current_database()",
  );
  const froze = (age?.age ?? 0) >= (options.freezeAge ?? FREEZE_AGE);
  // Every table, the catalogues included: the database's oldest id moves only when all have moved.
  if (froze) await owner.exec("VACUUM (FREEZE)");
  return { tables, froze, durationMs: Math.round(performance.now() - started) };
}
