import { spawn } from "node:child_process";
import { PassThrough, Readable } from "node:stream";
import pg from "pg";
import type { Database } from "../../db/database.js";
import { type AuditHead, BackupError, type BackupPayload } from "./backup-file.js";

type Query = <R>(sql: string) => Promise<R[]>;

/** What a backup holds, read at the same instant as the dump itself. */
export interface DatabaseFacts {
  rowCounts: Record<string, number>;
  auditHeads: AuditHead[];
  schemaVersion: string | null;
}

export interface Snapshot {
  payload: BackupPayload;
  stream: Readable;
  /**
   * The counts, chain heads and schema version, read in the dump's own snapshot. On PostgreSQL they
   * are read while the dump runs, so they may settle only after the stream has started.
   */
  facts: Promise<DatabaseFacts>;
  /** Resolves when the dump (and the facts) finished cleanly; rejects with the dump tool's message otherwise. */
  done: Promise<void>;
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/**
 * Row counts of every table, the audit chains' heads and the newest migration. The counts are one
 * statement (a UNION ALL of one count per table): one round trip and one plan instead of one per
 * table, and PostgreSQL may scan the tables in parallel.
 */
export async function readFacts(query: Query): Promise<DatabaseFacts> {
  const tables = await query<{ tablename: string }>(
    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
  );
  const rowCounts: Record<string, number> = {};
  if (tables.length > 0) {
    // Table names come from the catalogue and are quoted as identifiers; their literals are
    // quoted as strings. No input from outside reaches this statement.
    const counts = await query<{ t: string; n: number | string }>(
      tables
        .map(
          ({ tablename }) =>
            `SELECT ${quoteLiteral(tablename)}::text AS t, count(*) AS n FROM public.${quoteIdent(tablename)}`,
        )
        .join(" UNION ALL "),
    );
    for (const { tablename } of tables) rowCounts[tablename] = 0;
    for (const row of counts) rowCounts[row.t] = Number(row.n);
  }
  const names = new Set(Object.keys(rowCounts));
  const auditHeads = names.has("audit_chain_heads")
    ? (
        await query<{ organization_id: string; chain: string; seq: number | string; head_hash: string }>(
          "SELECT organization_id, chain, seq, encode(head_hash, 'hex') AS head_hash FROM audit_chain_heads ORDER BY 1, 2",
        )
      ).map((r) => ({
        organizationId: r.organization_id,
        chain: r.chain,
        seq: Number(r.seq),
        headHash: r.head_hash,
      }))
    : [];
  const schemaVersion = names.has("schema_migrations")
    ? ((await query<{ v: string | null }>("SELECT max(version) AS v FROM schema_migrations"))[0]?.v ?? null)
    : null;
  return { rowCounts, auditHeads, schemaVersion };
}

/**
 * The embedded database: its data directory as a gzip tarball, taken while holding the one
 * connection, with the counts read under the same hold.
 */
export async function snapshotEmbedded(db: Database): Promise<Snapshot> {
  if (!db.engine.snapshotDataDir) throw new Error("this database has no data directory to snapshot");
  const { tarball, read } = await db.engine.snapshotDataDir((query) => readFacts(query));
  return {
    payload: "pglite-datadir-tgz",
    stream: Readable.fromWeb(tarball.stream() as import("node:stream/web").ReadableStream<Uint8Array>),
    facts: Promise.resolve(read),
    done: Promise.resolve(),
  };
}

/** A URL without its password, and the password for PGPASSWORD, so neither shows in `ps`. */
export function connectionFor(url: string): { dbname: string; env: Record<string, string> } {
  const parsed = new URL(url);
  const password = decodeURIComponent(parsed.password);
  parsed.password = "";
  return { dbname: parsed.toString(), env: password ? { PGPASSWORD: password } : {} };
}

/**
 * PostgreSQL: `pg_dump --format=custom` reading the snapshot a repeatable-read transaction
 * exported, so the row counts and chain heads in the manifest are exactly what the dump holds.
 * The dump starts as soon as the snapshot is exported; the exporting transaction counts the rows
 * meanwhile (the same snapshot, so the counts stay exact), instead of the dump waiting for a full
 * scan of every table first. The login role must be able to read every row (superuser or
 * BYPASSRLS): pg_dump refuses rather than dump a table that row-level security would filter.
 */
export async function snapshotPostgres(url: string): Promise<Snapshot> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    const snapshotId = (await client.query<{ id: string }>("SELECT pg_export_snapshot() AS id")).rows[0]?.id;
    const { dbname, env } = connectionFor(url);
    const child = spawn(
      "pg_dump",
      ["--format=custom", "--compress=6", `--snapshot=${snapshotId}`, "--no-password", `--dbname=${dbname}`],
      { env: { PATH: process.env.PATH ?? "", ...env }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      if (stderr.length < 4000) stderr += d.toString();
    });
    const dumped = new Promise<void>((resolve, reject) => {
      child.once("error", (e) =>
        reject(
          new BackupError(
            "backup.dump_failed",
            `pg_dump could not start: ${e.message} (install postgresql-client)`,
          ),
        ),
      );
      child.once("close", (code) =>
        code === 0
          ? resolve()
          : reject(new BackupError("backup.dump_failed", `pg_dump failed (exit ${code}): ${stderr.trim()}`)),
      );
    });
    // The exporting transaction must stay open until pg_dump has taken the snapshot; it stays
    // open until both the dump and the counts are done.
    const facts = readFacts(async <R>(text: string) => (await client.query(text)).rows as R[]).catch(
      (error: unknown) => {
        child.kill();
        throw new BackupError(
          "backup.dump_failed",
          `the row counts could not be read: ${error instanceof Error ? error.message : String(error)}`,
        );
      },
    );
    const done = Promise.all([dumped, facts])
      .then(() => {})
      .finally(() => client.query("COMMIT").finally(() => client.end()));
    facts.catch(() => {});
    done.catch(() => {});
    // Consumed at once: when a small dump's pg_dump exits before anyone reads its output, Node
    // flushes (discards) unread child output. The PassThrough holds it, with backpressure.
    const stream = child.stdout.pipe(new PassThrough());
    return { payload: "pg_dump-custom", stream, facts, done };
  } catch (error) {
    await client.end().catch(() => {});
    throw error;
  }
}
