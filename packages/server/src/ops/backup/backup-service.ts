import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, unlink, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { verifyAllChains } from "../../audit/verify.js";
import type { Database } from "../../db/database.js";
import {
  BackupError,
  decryptFromFile,
  encryptToFile,
  type Manifest,
  parseManifest,
  verifyBackupFile,
} from "./backup-file.js";
import { connectionFor, readFacts, type Snapshot, snapshotEmbedded, snapshotPostgres } from "./snapshot.js";
import { SOURCE_VERSION } from "./version.js";

export const BACKUP_SUFFIX = ".ppbak";
export const MANIFEST_SUFFIX = ".manifest.json";

export interface CreateBackupOptions {
  dir: string;
  /** A second, separate place each backup is copied to (another disk or mount). */
  copyDir?: string | null;
  passphrase: string;
  /** The PostgreSQL URL pg_dump reads, or null for the embedded database. */
  databaseUrl: string | null;
  now?: Date;
  openWriter?: (path: string) => Writable;
}

export interface CreatedBackup {
  file: string;
  manifest: Manifest;
  copies: string[];
  durationMs: number;
}

function stamp(at: Date): string {
  return at
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
}

export function manifestPath(file: string): string {
  return `${file}${MANIFEST_SUFFIX}`;
}

async function writeSmallFile(file: string, text: string): Promise<void> {
  const partial = `${file}.partial`;
  try {
    await writeFile(partial, text, { mode: 0o600, flag: "wx" });
    await rename(partial, file);
  } catch (error) {
    await unlink(partial).catch(() => {});
    throw error;
  }
}

/**
 * Dumps the whole database, encrypts it into `dir`, writes its manifest, proves both read back
 * (HMAC and a full decryption), then copies them to the second place and checks the copy. A
 * failure at any step leaves no file of this backup behind and earlier backups untouched.
 */
export async function createBackup(db: Database, options: CreateBackupOptions): Promise<CreatedBackup> {
  const started = Date.now();
  const at = options.now ?? new Date();
  await mkdir(options.dir, { recursive: true, mode: 0o700 });
  const name = `patchpilot-${stamp(at)}${BACKUP_SUFFIX}`;
  const file = path.join(options.dir, name);
  const snapshot: Snapshot =
    db.kind === "postgres" && options.databaseUrl
      ? await snapshotPostgres(options.databaseUrl)
      : await snapshotEmbedded(db);
  const manifest = await encryptToFile(
    snapshot.stream,
    file,
    options.passphrase,
    snapshot.facts.then((facts) => ({
      file: name,
      createdAt: at.toISOString(),
      sourceVersion: SOURCE_VERSION,
      schemaVersion: facts.schemaVersion,
      engine: db.kind,
      payload: snapshot.payload,
      rowCounts: facts.rowCounts,
      auditHeads: facts.auditHeads,
    })),
    { ...(options.openWriter ? { openWriter: options.openWriter } : {}), sourceDone: snapshot.done },
  );
  try {
    await writeSmallFile(manifestPath(file), `${JSON.stringify(manifest, null, 2)}\n`);
    await verifyBackup(file, options.passphrase);
  } catch (error) {
    await unlink(file).catch(() => {});
    await unlink(manifestPath(file)).catch(() => {});
    if (error instanceof BackupError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new BackupError(
      code === "ENOSPC" ? "backup.disk_full" : "backup.write_failed",
      `the backup's manifest could not be written beside ${file}: ${(error as Error).message}; this backup was removed`,
    );
  }
  const copies: string[] = [];
  if (options.copyDir) copies.push(await copyBackup(file, options.copyDir, options.passphrase));
  return { file, manifest, copies, durationMs: Date.now() - started };
}

/** Copies a verified backup and its manifest to another place and verifies the copy there. */
export async function copyBackup(file: string, dir: string, passphrase: string): Promise<string> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const target = path.join(dir, path.basename(file));
  try {
    for (const [from, to] of [
      [file, target],
      [manifestPath(file), manifestPath(target)],
    ] as const) {
      await copyFile(from, `${to}.partial`);
      await rename(`${to}.partial`, to);
    }
    await verifyBackupFile(target, await readManifest(target), passphrase);
    return target;
  } catch (error) {
    for (const f of [target, manifestPath(target), `${target}.partial`, `${manifestPath(target)}.partial`]) {
      await unlink(f).catch(() => {});
    }
    throw new BackupError(
      "backup.write_failed",
      `the copy to ${dir} failed: ${(error as Error).message}; the backup in its first place is kept`,
    );
  }
}

export async function readManifest(file: string): Promise<Manifest> {
  let text: string;
  try {
    text = await readFile(manifestPath(file), "utf8");
  } catch {
    throw new BackupError(
      "backup.bad_manifest",
      `no manifest beside ${file} (expected ${manifestPath(file)})`,
    );
  }
  return parseManifest(text);
}

/** The HMAC over the file and manifest, then a full decryption (which checks the padding). */
export async function verifyBackup(file: string, passphrase: string): Promise<Manifest> {
  const manifest = await readManifest(file);
  await verifyBackupFile(file, manifest, passphrase);
  const plain = await decryptFromFile(file, manifest, passphrase);
  for await (const _chunk of plain) {
    // Reading to the end is the check: padding and the re-read hash fail at the end.
  }
  return manifest;
}

export interface BackupListing {
  file: string;
  createdAt: string;
  bytes: number;
  engine: string;
  schemaVersion: string | null;
}

/** The backups in a directory whose manifest can be read, newest first. */
export async function listBackups(dir: string): Promise<BackupListing[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const out: BackupListing[] = [];
  for (const name of names) {
    if (!name.endsWith(BACKUP_SUFFIX)) continue;
    const file = path.join(dir, name);
    const manifest = await readManifest(file).catch(() => null);
    if (!manifest) continue;
    out.push({
      file,
      createdAt: manifest.createdAt,
      bytes: manifest.bytes,
      engine: manifest.engine,
      schemaVersion: manifest.schemaVersion,
    });
  }
  return out.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

export type RestoreTarget = { kind: "pglite"; dir: string } | { kind: "postgres"; url: string };

/**
 * Restores a backup into an empty database (or, with `force`, replaces what is there). The
 * passphrase and the HMAC are checked before anything is written; a PGlite data directory that
 * is replaced is moved aside, never deleted.
 */
export async function restoreBackup(
  file: string,
  passphrase: string,
  target: RestoreTarget,
  options: { force?: boolean } = {},
): Promise<Manifest> {
  const manifest = await readManifest(file);
  await verifyBackupFile(file, manifest, passphrase);
  if ((target.kind === "pglite") !== (manifest.engine === "pglite")) {
    throw new BackupError(
      "backup.restore_failed",
      `this is a backup of ${manifest.engine === "pglite" ? "the embedded database" : "a PostgreSQL database"}; ` +
        `it restores into the same kind (${target.kind === "pglite" ? "unset DATABASE_URL" : "set DATABASE_URL"})`,
    );
  }
  if (target.kind === "pglite") await restoreEmbedded(file, manifest, passphrase, target.dir, options.force);
  else await restorePostgres(file, manifest, passphrase, target.url, options.force);
  return manifest;
}

async function isEmptyDir(dir: string): Promise<boolean> {
  const entries = await readdir(dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") return [];
    throw e;
  });
  return entries.length === 0;
}

async function restoreEmbedded(
  file: string,
  manifest: Manifest,
  passphrase: string,
  dir: string,
  force = false,
): Promise<void> {
  let movedAside: string | null = null;
  if (!(await isEmptyDir(dir))) {
    if (!force) {
      throw new BackupError(
        "backup.not_empty",
        `${dir} already holds a database; restore into an empty one, or pass --force to move it aside`,
      );
    }
    movedAside = `${dir}.replaced-${stamp(new Date())}`;
    await rename(dir, movedAside);
  }
  try {
    // PGlite loads a data directory from one in-memory tarball (its own API); the embedded
    // database is small enough for that, and the decryption before it streams.
    const chunks: Buffer[] = [];
    for await (const chunk of await decryptFromFile(file, manifest, passphrase)) chunks.push(chunk as Buffer);
    const tarball = new Blob([Buffer.concat(chunks)], { type: "application/x-gzip" });
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const pglite = await PGlite.create(dir, { loadDataDir: tarball });
    await pglite.close();
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    if (movedAside) await rename(movedAside, dir);
    throw error instanceof BackupError
      ? error
      : new BackupError("backup.restore_failed", `the restore failed: ${(error as Error).message}`);
  }
}

async function restorePostgres(
  file: string,
  manifest: Manifest,
  passphrase: string,
  url: string,
  force = false,
): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const tables = Number(
      (await client.query<{ n: string }>("SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public'"))
        .rows[0]?.n ?? 0,
    );
    if (tables > 0) {
      if (!force) {
        throw new BackupError(
          "backup.not_empty",
          `the target database already has ${tables} tables; restore into an empty database, or pass --force to replace them`,
        );
      }
      await client.query("DROP SCHEMA public CASCADE");
      await client.query("CREATE SCHEMA public");
    }
  } finally {
    await client.end();
  }
  const { dbname, env } = connectionFor(url);
  const child = spawn(
    "pg_restore",
    ["--single-transaction", "--exit-on-error", "--no-owner", "--no-password", `--dbname=${dbname}`],
    { env: { PATH: process.env.PATH ?? "", ...env }, stdio: ["pipe", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => {
    if (stderr.length < 4000) stderr += d.toString();
  });
  const exited = new Promise<number>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => resolve(code ?? 1));
  });
  const fed = pipeline(await decryptFromFile(file, manifest, passphrase), child.stdin).catch(
    (e: unknown) => e,
  );
  const [code, feedError] = await Promise.all([exited, fed]);
  if (feedError instanceof BackupError) throw feedError;
  if (code !== 0) {
    throw new BackupError("backup.restore_failed", `pg_restore failed (exit ${code}): ${stderr.trim()}`);
  }
}

export interface RestoreCheck {
  ok: boolean;
  problems: string[];
  chainsChecked: number;
}

/** Compares a restored database with its manifest: row counts, chain heads, every chain's links. */
export async function checkRestored(db: Database, manifest: Manifest): Promise<RestoreCheck> {
  const problems: string[] = [];
  const facts = await readFacts((text) => db.owner.query(text));
  const tables = new Set([...Object.keys(manifest.rowCounts), ...Object.keys(facts.rowCounts)]);
  for (const table of [...tables].sort()) {
    const want = manifest.rowCounts[table];
    const got = facts.rowCounts[table];
    if (want !== got)
      problems.push(`${table}: ${got ?? "missing"} rows, the manifest says ${want ?? "none"}`);
  }
  const heads = (list: Manifest["auditHeads"]) =>
    JSON.stringify(
      [...list].sort((a, b) =>
        `${a.organizationId}${a.chain}`.localeCompare(`${b.organizationId}${b.chain}`),
      ),
    );
  if (heads(facts.auditHeads) !== heads(manifest.auditHeads))
    problems.push("the audit chain heads differ from the manifest");
  const reports = await verifyAllChains(db.systemReader);
  for (const r of reports) {
    if (!r.valid) problems.push(`audit chain ${r.organizationId} ${r.chain} broken at ${r.firstBroken?.seq}`);
  }
  return { ok: problems.length === 0, problems, chainsChecked: reports.length };
}

export async function fileSize(file: string): Promise<number> {
  return (await stat(file)).size;
}

/** Decrypts a backup to a plain file (for a customer who wants the dump itself). */
export async function decryptToFile(file: string, passphrase: string, out: string): Promise<void> {
  const manifest = await readManifest(file);
  await verifyBackupFile(file, manifest, passphrase);
  await pipeline(await decryptFromFile(file, manifest, passphrase), createWriteStream(out, { mode: 0o600 }));
}
