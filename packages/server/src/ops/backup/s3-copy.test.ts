import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Readable } from "node:stream";
import { inspect } from "node:util";
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Config, loadConfig } from "../../config/config.js";
import { migrate, pendingMigrations, readMigrations } from "../../db/migrate.js";
import { openDatabase } from "../../db/open.js";
import { createOrganization, createUser } from "../../organizations/create-organization.js";
import { runCli } from "../../testing/cli.js";
import { createTestDatabase, SYSTEM_CONTEXT, type TestDatabase } from "../../testing/database.js";
import { takeBackup } from "./backup-jobs.js";
import { createBackup } from "./backup-service.js";
import { openS3Location, type S3Location, uploadBackup } from "./s3-copy.js";
import { migrateWithBackup } from "./upgrade-guard.js";

// A real S3-compatible server (s3rver) on loopback, storing into a temporary directory. It checks
// request signatures, so wrong credentials are refused as AWS refuses them.
interface S3rverInstance {
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
}
interface S3rverModule {
  new (options: {
    address: string;
    port: number;
    silent: boolean;
    directory: string;
    configureBuckets: { name: string }[];
  }): S3rverInstance;
}
interface AccountModule {
  DUMMY_ACCOUNT: { createKeyPair(id: string, secret: string): void };
}
const require = createRequire(import.meta.url);
// s3rver is CommonJS without type declarations: the interfaces above state the part used.
const S3rver = require("s3rver") as S3rverModule;
const accounts = require("s3rver/lib/models/account.js") as AccountModule;

const DAY = 86_400_000;
const PASSPHRASE = "s3 copy backup passphrase";
const BUCKET = "pp-backups";
const KEY_ID = "PPBACKUPTESTKEY";
// Distinctive, so a leak anywhere is found by a plain substring search.
const SECRET = `s3-secret-${randomBytes(12).toString("hex")}`;

let t: TestDatabase;
let root: string;
let server: S3rverInstance;
let endpoint: string;
const sdkLog: string[] = [];
const scratch: string[] = [];

function s3Env(prefix: string, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    PATCHPILOT_BACKUP_S3_BUCKET: BUCKET,
    PATCHPILOT_BACKUP_S3_ENDPOINT: endpoint,
    PATCHPILOT_BACKUP_S3_PREFIX: prefix,
    PATCHPILOT_BACKUP_S3_ACCESS_KEY_ID: KEY_ID,
    PATCHPILOT_BACKUP_S3_SECRET_ACCESS_KEY: SECRET,
    ...overrides,
  };
}

function configFor(name: string, overrides: Record<string, string> = {}): Config {
  return loadConfig({
    PATCHPILOT_DATA_DIR: path.join(root, name),
    PATCHPILOT_BACKUP_PASSPHRASE: PASSPHRASE,
    ...(t.url ? { DATABASE_URL: t.url } : {}),
    ...s3Env(`${name}/`, overrides),
  });
}

/** Every call the SDK logs, kept as text. */
const capture = {
  logger: {
    debug: (...a: unknown[]) => sdkLog.push(inspect(a, { depth: 6 })),
    info: (...a: unknown[]) => sdkLog.push(inspect(a, { depth: 6 })),
    warn: (...a: unknown[]) => sdkLog.push(inspect(a, { depth: 6 })),
    error: (...a: unknown[]) => sdkLog.push(inspect(a, { depth: 6 })),
  },
};

async function location(config: Config): Promise<S3Location> {
  if (!config.backupS3) throw new Error("no S3 settings");
  return openS3Location(config.backupS3, capture);
}

/** A new scratch PostgreSQL database (dropped after the tests), or null for an in-memory PGlite. */
async function scratchDatabase(): Promise<string | null> {
  if (!process.env.DATABASE_URL) return null;
  const db = `pp_test_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${db}`);
  await admin.end();
  scratch.push(db);
  const url = new URL(process.env.DATABASE_URL);
  url.pathname = `/${db}`;
  return url.toString();
}

async function objectBytes(loc: S3Location, key: string): Promise<Buffer> {
  const out = await loc.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  const chunks: Buffer[] = [];
  for await (const chunk of out.Body as Readable) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function keysUnder(loc: S3Location, prefix: string): Promise<string[]> {
  const out = await loc.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key ?? "").sort();
}

beforeAll(async () => {
  t = await createTestDatabase();
  root = await mkdtemp(path.join(tmpdir(), "pp-backup-s3-"));
  accounts.DUMMY_ACCOUNT.createKeyPair(KEY_ID, SECRET);
  server = new S3rver({
    address: "127.0.0.1",
    port: 0,
    silent: true,
    directory: path.join(root, "s3rver"),
    configureBuckets: [{ name: BUCKET }],
  });
  const { port } = await server.run();
  endpoint = `http://127.0.0.1:${port}`;
  await t.db.system(SYSTEM_CONTEXT, async (tx) => {
    const userId = await createUser(tx, { email: "s3@example.test", name: "S3", passwordHash: "x" });
    await createOrganization(tx, { name: "S3 Ltd", ownerUserId: userId });
  });
});

afterAll(async () => {
  await server?.close();
  await t?.drop();
  if (process.env.DATABASE_URL && scratch.length > 0) {
    const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    for (const db of scratch) await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    await admin.end();
  }
  await rm(root, { recursive: true, force: true });
});

describe("backups copied to an S3-compatible bucket", { timeout: 600_000 }, () => {
  let uploaded: { file: string; url: string; config: Config };

  it("uploads the verified backup and its manifest, byte for byte, and records the s3:// copy", async () => {
    const config = configFor("upload");
    const made = await takeBackup(t.db, config, "manual", new Date(), capture);
    const name = path.basename(made.file);
    const url = `s3://${BUCKET}/upload/${name}`;
    expect(made.copies).toEqual([url]);
    const loc = await location(config);
    expect((await objectBytes(loc, `upload/${name}`)).equals(await readFile(made.file))).toBe(true);
    expect(
      (await objectBytes(loc, `upload/${name}.manifest.json`)).equals(
        await readFile(`${made.file}.manifest.json`),
      ),
    ).toBe(true);
    const runs = await t.db.systemReader
      .selectFrom("backup_runs")
      .selectAll()
      .where("file", "=", name)
      .execute();
    expect(runs).toMatchObject([{ state: "succeeded", error: null, copies: [url] }]);
    uploaded = { file: made.file, url, config };
  });

  it("rotates the bucket by the same rule: exactly the expired backups go, once a newer one is there", async () => {
    const config = configFor("rotate");
    const loc = await location(config);
    const dir = path.join(root, "older");
    // Two older backups in the bucket: 20 days (past the 14-day window) and 10 days old.
    const old: string[] = [];
    for (const days of [20, 10]) {
      const made = await createBackup(t.db, {
        dir,
        passphrase: PASSPHRASE,
        databaseUrl: config.databaseUrl,
        now: new Date(Date.now() - days * DAY),
      });
      await uploadBackup(loc, made.file);
      old.push(path.basename(made.file));
    }
    // Something else under the prefix is not a backup and is left alone.
    await loc.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: "rotate/README.txt", Body: "notes" }));
    // All five objects are there before the new backup.
    const before = await keysUnder(loc, "rotate/");
    expect(before).toHaveLength(5);

    const made = await takeBackup(t.db, config, "scheduled", new Date(), capture);
    const newest = path.basename(made.file);
    expect(await keysUnder(loc, "rotate/")).toEqual(
      [
        "rotate/README.txt",
        `rotate/${old[1]}`,
        `rotate/${old[1]}.manifest.json`,
        `rotate/${newest}`,
        `rotate/${newest}.manifest.json`,
      ].sort(),
    );
  });

  it("restores from s3://bucket/key into an empty database that passes audit verify", async () => {
    const dataDir = path.join(root, "restored");
    await mkdir(dataDir, { recursive: true });
    const env: Record<string, string> = {
      PATCHPILOT_DATA_DIR: dataDir,
      PATCHPILOT_BACKUP_PASSPHRASE: PASSPHRASE,
      ...s3Env("upload/"),
    };
    const url = await scratchDatabase();
    if (url) env.DATABASE_URL = url;
    const verified = await runCli(["backup", "verify", uploaded.url], env);
    expect(verified.code, verified.stderr).toBe(0);
    const restored = await runCli(["backup", "restore", uploaded.url], env);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toMatch(/row counts and \d+ audit chains match its manifest/);
    const audit = await runCli(["audit", "verify"], env);
    expect(audit.code, audit.stdout + audit.stderr).toBe(0);
    expect(audit.stdout).toMatch(/^ok {6}[0-9a-f-]{36} audit: \d+ rows/m);
    // The download was temporary.
    expect(await readdir(path.join(dataDir, "backups"))).toEqual([]);
    // The secret is in none of what the commands print.
    for (const out of [verified, restored, audit]) expect(out.stdout + out.stderr).not.toContain(SECRET);

    // A tampered object is refused before anything is written.
    const loc = await location(uploaded.config);
    const key = uploaded.url.slice(`s3://${BUCKET}/`.length);
    const bytes = await objectBytes(loc, key);
    bytes[Math.floor(bytes.length / 2)] = (bytes[Math.floor(bytes.length / 2)] ?? 0) ^ 0x40;
    await loc.client.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: `tampered/${path.basename(key)}`, Body: bytes }),
    );
    await loc.client.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: `tampered/${path.basename(key)}.manifest.json`,
        Body: await objectBytes(loc, `${key}.manifest.json`),
      }),
    );
    const emptyDir = path.join(root, "refused");
    await mkdir(emptyDir);
    const refused = await runCli(["backup", "restore", `s3://${BUCKET}/tampered/${path.basename(key)}`], {
      ...env,
      PATCHPILOT_DATA_DIR: emptyDir,
    });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/does not match its manifest's HMAC/);
    if (!env.DATABASE_URL) expect((await readdir(emptyDir)).filter((f) => f !== "backups")).toEqual([]);

    // Another bucket than the configured one is refused with a sentence saying what to set.
    const other = await runCli(["backup", "restore", `s3://another-bucket/${path.basename(key)}`], env);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/not in the configured bucket/);
  });

  it("records a clear error and keeps the local backup on wrong credentials or a missing bucket", async () => {
    // s3rver checks that the access key exists but does not check V4 signatures, so a wrong
    // secret cannot be shown against it; an unknown access key takes the same path (HTTP 403).
    const cases: { name: string; overrides: Record<string, string>; error: RegExp }[] = [
      {
        name: "wrong-key",
        overrides: { PATCHPILOT_BACKUP_S3_ACCESS_KEY_ID: "NOSUCHACCESSKEY" },
        error:
          /S3 copy failed: the upload to s3:\/\/pp-backups\/wrong-key\/.* failed: InvalidAccessKeyId \(HTTP 403\)/,
      },
      {
        name: "missing-bucket",
        overrides: { PATCHPILOT_BACKUP_S3_BUCKET: "no-such-bucket" },
        error:
          /S3 copy failed: the upload to s3:\/\/no-such-bucket\/missing-bucket\/.* failed: NoSuchBucket \(HTTP 404\)/,
      },
    ];
    for (const c of cases) {
      const config = configFor(c.name, c.overrides);
      const thrown = await takeBackup(t.db, config, "scheduled", new Date(), capture).then(
        () => null,
        (e: Error) => e,
      );
      expect(thrown?.message).toMatch(c.error);
      expect(thrown?.message).not.toContain(SECRET);
      // The local backup verified and is kept.
      const local = (await readdir(config.backupDir)).filter((f) => f.endsWith(".ppbak"));
      expect(local).toHaveLength(1);
      const [run] = await t.db.systemReader
        .selectFrom("backup_runs")
        .selectAll()
        .where("file", "=", local[0] ?? "")
        // Two cases within one second name their files alike: this case's run is the newest.
        .orderBy("id", "desc")
        .limit(1)
        .execute();
      expect(run).toMatchObject({ state: "failed", copies: [] });
      expect(run?.verified_at).not.toBeNull();
      expect(run?.error).toMatch(c.error);
      expect(run?.error).not.toContain(SECRET);
    }
  });

  it("reads the secret from a file only its owner can read, and never shows it", async () => {
    const file = path.join(root, "s3-secret");
    await writeFile(file, `${SECRET}\n`, { mode: 0o644 });
    const env = {
      PATCHPILOT_BACKUP_S3_SECRET_ACCESS_KEY: "",
      PATCHPILOT_BACKUP_S3_SECRET_ACCESS_KEY_FILE: file,
    };
    const open = configFor("from-file", env);
    await expect(takeBackup(t.db, open, "manual", new Date(), capture)).rejects.toThrow(/chmod 600/);
    await rm(file);
    await writeFile(file, `${SECRET}\n`, { mode: 0o600 });
    const made = await takeBackup(t.db, configFor("from-file", env), "manual", new Date(), capture);
    expect(made.copies[0]).toMatch(/^s3:\/\/pp-backups\/from-file\//);

    // Nowhere: not in the configuration as printed, the SDK's log, or any recorded run.
    expect(inspect(configFor("upload"))).not.toContain(SECRET);
    expect(JSON.stringify(configFor("upload"))).not.toContain(SECRET);
    expect(sdkLog.length).toBeGreaterThan(0);
    expect(sdkLog.join("\n")).not.toContain(SECRET);
    const runs = await t.db.systemReader.selectFrom("backup_runs").selectAll().execute();
    expect(JSON.stringify(runs)).not.toContain(SECRET);
  });

  it("refuses S3 settings that are incomplete or malformed, without repeating the secret", () => {
    const base = { PATCHPILOT_DATA_DIR: root, ...s3Env("x/") };
    expect(() => loadConfig({ ...base, PATCHPILOT_BACKUP_S3_ACCESS_KEY_ID: "" })).toThrow(/ACCESS_KEY_ID/);
    expect(() => loadConfig({ ...base, PATCHPILOT_BACKUP_S3_SECRET_ACCESS_KEY: "" })).toThrow(
      /SECRET_ACCESS_KEY or/,
    );
    expect(() => loadConfig({ ...base, PATCHPILOT_BACKUP_S3_BUCKET: "Not_A_Bucket" })).toThrow(/bucket name/);
    expect(() => loadConfig({ ...base, PATCHPILOT_BACKUP_S3_ENDPOINT: `http://k:${SECRET}@h` })).toThrow(
      /must not hold credentials/,
    );
    try {
      loadConfig({ ...base, PATCHPILOT_BACKUP_S3_ENDPOINT: `http://k:${SECRET}@h` });
    } catch (error) {
      expect((error as Error).message).not.toContain(SECRET);
    }
    expect(() => loadConfig({ ...base, PATCHPILOT_BACKUP_S3_PATH_STYLE: "maybe" })).toThrow(/on or off/);
    expect(loadConfig(base).backupS3).toMatchObject({ bucket: BUCKET, prefix: "x/", pathStyle: true });
    expect(loadConfig({ PATCHPILOT_DATA_DIR: root }).backupS3).toBeNull();
  });

  it("uploads the backup before an upgrade too; a failed upload is recorded but does not hold the upgrade", async () => {
    for (const [name, bucket] of [
      ["upgrade", BUCKET],
      ["upgrade-missing-bucket", "no-such-bucket"],
    ] as const) {
      const url = await scratchDatabase();
      const db = await openDatabase({ databaseUrl: url, pgliteDir: null, migrate: false, poolSize: 4 });
      try {
        await migrate(db.owner, (await readMigrations()).slice(0, -1));
        const config = loadConfig({
          PATCHPILOT_DATA_DIR: path.join(root, name),
          PATCHPILOT_BACKUP_PASSPHRASE: PASSPHRASE,
          ...(url ? { DATABASE_URL: url } : {}),
          ...s3Env(`${name}/`, { PATCHPILOT_BACKUP_S3_BUCKET: bucket }),
        });
        const log: string[] = [];
        const applied = await migrateWithBackup(db, config, { log: (m) => log.push(m) });
        expect(applied).toHaveLength(1);
        expect(await pendingMigrations(db.owner)).toEqual([]);
        const [run] = await db.systemReader.selectFrom("backup_runs").selectAll().execute();
        const [local] = (await readdir(config.backupDir)).filter((f) => f.endsWith(".ppbak"));
        expect(run?.file).toBe(local);
        if (bucket === BUCKET) {
          expect(run).toMatchObject({ state: "succeeded", copies: [`s3://${BUCKET}/${name}/${local}`] });
        } else {
          expect(run).toMatchObject({ state: "failed", copies: [] });
          expect(run?.error).toMatch(/S3 copy failed: .*NoSuchBucket/);
          expect(log.join("\n")).toMatch(/WARNING: .*NoSuchBucket/);
        }
        expect(log.join("\n")).not.toContain(SECRET);
      } finally {
        await db.close();
      }
    }
  });
});
