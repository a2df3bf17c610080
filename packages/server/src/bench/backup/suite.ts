import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import pg from "pg";
import { openDatabase } from "../../db/open.js";
import { encryptToFile, type Manifest } from "../../ops/backup/backup-file.js";
import { manifestPath, restoreBackup, verifyBackup } from "../../ops/backup/backup-service.js";
import { connectionFor, snapshotPostgres } from "../../ops/backup/snapshot.js";
import type { BenchContext, Suite, SuiteReport } from "../suite.js";

const PASSPHRASE = "benchmark passphrase, not a secret";

function positive(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive whole number`);
  return value;
}

/** Devices and a year of their events, written in bulk as the owner (the bench measures dumps, not inserts). */
async function seed(url: string, devices: number, eventsPerDevice: number): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const org = (
      await client.query<{ id: string }>("INSERT INTO organizations (name) VALUES ('Bench Ltd') RETURNING id")
    ).rows[0]?.id;
    await client.query(
      `INSERT INTO devices (organization_id, hardware_id, hostname, os_family, os_name, os_version, os_build,
                            os_release, kernel, arch, agent_version, facts_hash)
       SELECT $1, 'hw-' || lpad(i::text, 8, '0'), 'host-' || i || '.bench.example', 'linux', 'Debian GNU/Linux',
              '12', '12.8', 'bookworm', '6.1.0-28-amd64', 'x86_64', '1.4.2', sha256(i::text::bytea)
         FROM generate_series(1, $2) AS i`,
      [org, devices],
    );
    // A year of events per device, in batches so no statement runs for minutes.
    const ids = (await client.query<{ id: string }>("SELECT id FROM devices ORDER BY id")).rows.map(
      (r) => r.id,
    );
    const batch = Math.max(1, Math.floor(50_000 / eventsPerDevice));
    let seq = 0;
    for (let i = 0; i < ids.length; i += batch) {
      const slice = ids.slice(i, i + batch);
      await client.query(
        `INSERT INTO device_events (organization_id, seq, occurred_at, device_id, actor_type, event_type, result,
                                    details, prev_hash, hash)
         SELECT $1, $2 + row_number() OVER (), now() - make_interval(days => d), dev, 'device',
                (ARRAY['check_in.error', 'inventory.changed', 'patch.installed', 'reboot.completed'])[1 + d % 4],
                CASE WHEN d % 17 = 0 THEN 'failure' ELSE 'success' END,
                jsonb_build_object('packages', d % 40, 'note', md5(dev::text || d)),
                sha256(d::text::bytea), sha256((dev::text || d)::bytea)
           FROM unnest($3::uuid[]) AS dev, generate_series(1, $4) AS d`,
        [org, seq, slice, eventsPerDevice],
      );
      seq += slice.length * eventsPerDevice;
    }
    // As autovacuum leaves a table after a bulk insert: hint bits set and pages marked all-visible,
    // so neither the plain dump nor the backup (and its row counts) pays for the first read.
    await client.query("VACUUM ANALYZE");
  } finally {
    await client.end();
  }
}

async function timed<T>(work: () => Promise<T>): Promise<{ result: T; seconds: number }> {
  const started = performance.now();
  const result = await work();
  return { result, seconds: (performance.now() - started) / 1000 };
}

async function plainDump(url: string, file: string): Promise<void> {
  const { dbname, env } = connectionFor(url);
  const child = spawn("pg_dump", ["--format=custom", "--compress=6", "--no-password", `--dbname=${dbname}`], {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<number>((resolve) => child.once("close", (code) => resolve(code ?? 1)));
  await pipeline(child.stdout, createWriteStream(file));
  if ((await exited) !== 0) throw new Error("pg_dump failed");
}

export const backupSuite: Suite = {
  name: "backup",
  title: "Backup and restore",
  async run(context: BenchContext): Promise<SuiteReport> {
    const devices = positive("BENCH_BACKUP_DEVICES", 10_000);
    const eventsPerDevice = positive("BENCH_BACKUP_EVENTS_PER_DEVICE", 365);
    const source = await context.scratchDatabase();
    const target = await context.scratchDatabase();
    const dir = await mkdtemp(path.join(tmpdir(), "pp-bench-backup-"));
    const unregister = context.onInterrupt(() => rm(dir, { recursive: true, force: true }));
    try {
      context.say(`backup: seeding ${devices} devices × ${eventsPerDevice} events`);
      const migrated = await openDatabase({ databaseUrl: source.url, pgliteDir: null, poolSize: 2 });
      await migrated.close();
      const seeding = await timed(() => seed(source.url, devices, eventsPerDevice));
      const sizeRow = await (async () => {
        const c = new pg.Client({ connectionString: source.url });
        await c.connect();
        try {
          return (await c.query<{ n: string }>("SELECT pg_database_size(current_database()) AS n")).rows[0];
        } finally {
          await c.end();
        }
      })();
      const dbBytes = Number(sizeRow?.n ?? 0);

      context.say("backup: plain pg_dump");
      const plainFile = path.join(dir, "plain.dump");
      const plain = await timed(() => plainDump(source.url, plainFile));
      const plainBytes = (await stat(plainFile)).size;

      context.say("backup: encrypted backup (dump + AES-256-CBC + HMAC)");
      const file = path.join(dir, "bench.ppbak");
      const encrypted = await timed(async (): Promise<Manifest> => {
        const snapshot = await snapshotPostgres(source.url);
        return encryptToFile(
          snapshot.stream,
          file,
          PASSPHRASE,
          snapshot.facts.then((facts) => ({
            file: "bench.ppbak",
            createdAt: new Date().toISOString(),
            sourceVersion: "bench",
            schemaVersion: facts.schemaVersion,
            engine: "postgres" as const,
            payload: snapshot.payload,
            rowCounts: facts.rowCounts,
            auditHeads: facts.auditHeads,
          })),
          { sourceDone: snapshot.done },
        );
      });
      const { writeFile } = await import("node:fs/promises");
      await writeFile(manifestPath(file), JSON.stringify(encrypted.result));
      const verify = await timed(() => verifyBackup(file, PASSPHRASE));
      context.say("backup: restore into an empty database");
      const restore = await timed(() =>
        restoreBackup(file, PASSPHRASE, { kind: "postgres", url: target.url }),
      );

      const mb = (bytes: number) => bytes / 1_048_576;
      const overhead = (encrypted.seconds / plain.seconds - 1) * 100;
      const rows = devices * eventsPerDevice;
      const met = overhead < 20;
      const fmt = (n: number, d = 1) => n.toFixed(d);
      const table = [
        "| step | wall time | throughput |",
        "| --- | --- | --- |",
        `| plain \`pg_dump -Fc\` | ${fmt(plain.seconds)} s | ${fmt(mb(dbBytes) / plain.seconds)} MB/s of database (${fmt(mb(plainBytes))} MB dump) |`,
        `| encrypted backup (dump + AES-256-CBC + HMAC) | ${fmt(encrypted.seconds)} s | ${fmt(mb(dbBytes) / encrypted.seconds)} MB/s of database (${fmt(mb(encrypted.result.bytes))} MB file) |`,
        `| verify (HMAC + full decryption) | ${fmt(verify.seconds)} s | ${fmt(mb(encrypted.result.bytes) / verify.seconds)} MB/s of file |`,
        `| restore (verify, decrypt, \`pg_restore\`) | ${fmt(restore.seconds)} s | ${fmt(mb(dbBytes) / restore.seconds)} MB/s of database |`,
      ].join("\n");
      const markdown = [
        "## Backup and restore",
        "",
        `A scratch PostgreSQL ${source.serverVersion} database with ${devices} devices and ${eventsPerDevice} device events each ` +
          `(${rows} events; seeded in ${fmt(seeding.seconds)} s), ${fmt(mb(dbBytes))} MB on disk. The plain dump is ` +
          "`pg_dump --format=custom --compress=6` to a file; the encrypted backup is the same dump streamed through " +
          "AES-256-CBC and HMAC-SHA256 into the openssl-format file, with every table's exact row count read in the " +
          "dump's snapshot meanwhile (the manifest's counts); the database was vacuumed after seeding, as autovacuum " +
          "does after a bulk load; the restore checks the HMAC, decrypts and runs " +
          "`pg_restore --single-transaction` into an empty database. Scale: `BENCH_BACKUP_DEVICES`, " +
          "`BENCH_BACKUP_EVENTS_PER_DEVICE`.",
        "",
        table,
        "",
        `Encryption overhead over the plain dump: ${fmt(overhead)} % (target < 20 %). Restore: ${fmt(restore.seconds)} s (target < 4 h).`,
      ].join("\n");
      return {
        markdown,
        targets: [
          {
            text: `Backup encryption overhead: ${met ? "met" : "not met"} (< 20 %): ${fmt(overhead)} %`,
            met,
          },
          {
            text: `Restore of the benchmark database: ${restore.seconds < 4 * 3600 ? "met" : "not met"} (< 4 h): ${fmt(restore.seconds)} s`,
            met: restore.seconds < 4 * 3600,
          },
        ],
        summary: `${table}\nencryption overhead ${fmt(overhead)} %`,
      };
    } finally {
      unregister();
      await rm(dir, { recursive: true, force: true });
      await source.drop();
      await target.drop();
    }
  },
};
