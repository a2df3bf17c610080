import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../db/open.js";
import { TEST_PASSWORD } from "../testing/app.js";
import { runCli } from "../testing/cli.js";
import { createTestDatabase, type TestDatabase } from "../testing/database.js";
import { requirePeer } from "../testing/peers.js";

// The backup commands run as their own processes, like an operator runs them: on an embedded
// database in a temporary data directory, or on scratch PostgreSQL databases when DATABASE_URL is set.
const PASSPHRASE = "a long customer-held passphrase";
let root: string;
let source: Record<string, string>;
let source_db: TestDatabase | null = null;
const scratch: string[] = [];

function run(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      { env: { PATH: process.env.PATH ?? "", ...env }, encoding: "buffer", maxBuffer: 256 << 20 },
      (error, stdout, stderr) => resolve({ code: error ? 1 : 0, stdout, stderr: stderr.toString() }),
    );
  });
}

/** An empty target: a new data directory, or a new empty PostgreSQL database. */
async function emptyTarget(name: string): Promise<Record<string, string>> {
  const dataDir = path.join(root, name);
  await mkdir(dataDir, { recursive: true });
  const env: Record<string, string> = {
    PATCHPILOT_DATA_DIR: dataDir,
    PATCHPILOT_BACKUP_PASSPHRASE: PASSPHRASE,
  };
  const serverUrl = process.env.DATABASE_URL;
  if (serverUrl) {
    const db = `pp_test_${randomBytes(6).toString("hex")}`;
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${db}`);
    await admin.end();
    scratch.push(db);
    const url = new URL(serverUrl);
    url.pathname = `/${db}`;
    env.DATABASE_URL = url.toString();
  }
  return env;
}

async function backupsIn(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.endsWith(".ppbak")).sort();
}

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), "pp-backup-cli-"));
  source = {
    PATCHPILOT_DATA_DIR: path.join(root, "source"),
    PATCHPILOT_BACKUP_PASSPHRASE: PASSPHRASE,
    PATCHPILOT_BACKUP_DIR: path.join(root, "backups"),
    PATCHPILOT_BACKUP_COPY_DIR: path.join(root, "offsite"),
  };
  if (process.env.DATABASE_URL) {
    source_db = await createTestDatabase();
    source.DATABASE_URL = source_db.url ?? "";
  }
});

afterAll(async () => {
  await source_db?.drop();
  if (process.env.DATABASE_URL && scratch.length > 0) {
    const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    for (const db of scratch) await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    await admin.end();
  }
  await rm(root, { recursive: true, force: true });
});

describe("patchpilot backup", { timeout: 600_000 }, () => {
  let file: string;

  it("makes an encrypted, verified backup with a copy in the second place", async () => {
    expect((await runCli(["migrate"], source)).code).toBe(0);
    const setup = await runCli(
      ["setup", "--organization", "Backup Ltd", "--email", "owner@backup.test", "--name", "Owner"],
      source,
      `${TEST_PASSWORD}\n`,
    );
    expect(setup.code, setup.stderr).toBe(0);

    const made = await runCli(["backup", "create"], source);
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toMatch(/verified/);
    const [name] = await backupsIn(source.PATCHPILOT_BACKUP_DIR ?? "");
    expect(name).toMatch(/^patchpilot-\d{8}T\d{6}Z\.ppbak$/);
    file = path.join(source.PATCHPILOT_BACKUP_DIR ?? "", name ?? "");
    expect(await backupsIn(source.PATCHPILOT_BACKUP_COPY_DIR ?? "")).toEqual([name]);

    const listed = await runCli(["backup", "list"], source);
    expect(listed.stdout).toContain(name);
    const verified = await runCli(["backup", "verify", file], source);
    expect(verified.code, verified.stderr).toBe(0);

    // The backup run is on record.
    const db = await openDatabase({
      databaseUrl: source.DATABASE_URL ?? null,
      pgliteDir: path.join(source.PATCHPILOT_DATA_DIR ?? "", "pgdata"),
      migrate: false,
    });
    const runs = await db.systemReader.selectFrom("backup_runs").selectAll().execute();
    await db.close();
    expect(runs).toMatchObject([{ trigger: "manual", state: "succeeded", file: name }]);
    expect(runs[0]?.verified_at).not.toBeNull();
  });

  it("decrypts with openssl and the passphrase alone, into a pg_dump archive or a data directory tarball", async () => {
    if (!requirePeer("openssl", "openssl")) return;
    const out = await run(
      "openssl",
      [
        "enc",
        "-d",
        "-aes-256-cbc",
        "-pbkdf2",
        "-iter",
        "200000",
        "-md",
        "sha256",
        "-in",
        file,
        "-pass",
        "env:PP",
      ],
      { PP: PASSPHRASE },
    );
    expect(out.code, out.stderr).toBe(0);
    if (process.env.DATABASE_URL) {
      expect(out.stdout.subarray(0, 5).toString()).toBe("PGDMP");
      const plain = path.join(root, "plain.dump");
      await writeFile(plain, out.stdout);
      const listing = await run("pg_restore", ["--list", plain]);
      expect(listing.stdout.toString()).toContain("TABLE public audit_events");
    } else {
      expect([...out.stdout.subarray(0, 2)]).toEqual([0x1f, 0x8b]);
      const tarball = path.join(root, "pgdata.tar.gz");
      await writeFile(tarball, out.stdout);
      const listing = await run("tar", ["-tzf", tarball]);
      expect(listing.stdout.toString()).toMatch(/PG_VERSION/);
    }
  });

  it("refuses a wrong passphrase and a tampered file before writing anything", async () => {
    const target = await emptyTarget("refused");
    const wrong = await runCli(["backup", "restore", file], {
      ...target,
      PATCHPILOT_BACKUP_PASSPHRASE: "another passphrase entirely",
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/passphrase does not open this backup/);

    const tamperedDir = path.join(root, "tampered");
    await mkdir(tamperedDir);
    const tampered = path.join(tamperedDir, path.basename(file));
    await copyFile(`${file}.manifest.json`, `${tampered}.manifest.json`);
    const bytes = await readFile(file);
    bytes[Math.floor(bytes.length / 2)] = (bytes[Math.floor(bytes.length / 2)] ?? 0) ^ 0x40;
    await writeFile(tampered, bytes);
    const refused = await runCli(["backup", "restore", tampered], target);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/does not match its manifest's HMAC/);
    const cut = path.join(tamperedDir, "cut.ppbak");
    await writeFile(cut, (await readFile(file)).subarray(0, 1000));
    await copyFile(`${file}.manifest.json`, `${cut}.manifest.json`);
    expect((await runCli(["backup", "restore", cut], target)).stderr).toMatch(/cut short/);

    // Nothing was written: the target is still empty.
    if (target.DATABASE_URL) {
      const client = new pg.Client({ connectionString: target.DATABASE_URL });
      await client.connect();
      const tables = await client.query("SELECT 1 FROM pg_tables WHERE schemaname = 'public'");
      await client.end();
      expect(tables.rowCount).toBe(0);
    } else {
      expect(await readdir(target.PATCHPILOT_DATA_DIR ?? "")).toEqual([]);
    }
  });

  it("restores into an empty database that passes audit verify, and refuses a non-empty one unless forced", async () => {
    const target = await emptyTarget("restored");
    const restored = await runCli(["backup", "restore", file], target);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toMatch(/row counts and \d+ audit chains match its manifest/);
    const audit = await runCli(["audit", "verify"], target);
    expect(audit.code, audit.stdout + audit.stderr).toBe(0);
    expect(audit.stdout).toMatch(/^ok {6}[0-9a-f-]{36} audit: \d+ rows/m);
    expect(audit.stdout).not.toMatch(/BROKEN/);

    const again = await runCli(["backup", "restore", file], target);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/--force/);
    const forced = await runCli(["backup", "restore", file, "--force"], target);
    expect(forced.code, forced.stderr).toBe(0);
    expect((await runCli(["audit", "verify"], target)).code).toBe(0);
  });

  it("tests the newest backup in a throw-away database and records the result and its duration", async () => {
    const tested = await runCli(["backup", "test"], source);
    expect(tested.code, tested.stdout + tested.stderr).toBe(0);
    expect(tested.stdout).toMatch(/^ok {2}.*\.ppbak in \d+ ms/);
    const db = await openDatabase({
      databaseUrl: source.DATABASE_URL ?? null,
      pgliteDir: path.join(source.PATCHPILOT_DATA_DIR ?? "", "pgdata"),
      migrate: false,
    });
    const tests = await db.systemReader.selectFrom("restore_tests").selectAll().execute();
    await db.close();
    expect(tests).toMatchObject([{ ok: true, file: path.basename(file), error: null }]);
    expect(tests[0]?.duration_ms).toBeGreaterThan(0);
  });

  it("fails cleanly on a full disk: clear error, partial file removed, earlier backups untouched", async () => {
    const mnt = path.join(root, "small-disk");
    await mkdir(mnt);
    const mounted = await run("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt]);
    if (mounted.code !== 0) {
      // The injected ENOSPC writer in backup-file.test.ts covers this path everywhere.
      console.warn(`skipping the real full-disk test: cannot mount a tmpfs here (${mounted.stderr.trim()})`);
      return;
    }
    try {
      const earlier = path.join(mnt, "patchpilot-20261130T000000Z.ppbak");
      await writeFile(earlier, "an earlier backup");
      // Leave a few kilobytes free: far less than any dump.
      await writeFile(path.join(mnt, "filler"), Buffer.alloc(1024 * 1024 - 12 * 1024)).catch(() => {});
      const full = await runCli(["backup", "create", "--dir", mnt], source);
      expect(full.code).toBe(1);
      expect(full.stderr).toMatch(
        /no space left on the device .*partial file was removed and earlier backups are untouched/,
      );
      expect((await readdir(mnt)).sort()).toEqual(["filler", "patchpilot-20261130T000000Z.ppbak"]);
      expect(await readFile(earlier, "utf8")).toBe("an earlier backup");
    } finally {
      await run("umount", [mnt]);
    }
  });
});
