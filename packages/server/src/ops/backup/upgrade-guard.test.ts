import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../config/config.js";
import type { Database } from "../../db/database.js";
import { migrate, pendingMigrations, readMigrations } from "../../db/migrate.js";
import { openDatabase } from "../../db/open.js";
import { migrateWithBackup } from "./upgrade-guard.js";

let root: string;
const made: string[] = [];

/** A database one migration behind the build: what a server meets when it starts a new version. */
async function oneVersionBehind(): Promise<{ db: Database; url: string | null }> {
  const serverUrl = process.env.DATABASE_URL;
  let url: string | null = null;
  if (serverUrl) {
    const name = `pp_test_${randomBytes(6).toString("hex")}`;
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    made.push(name);
    const u = new URL(serverUrl);
    u.pathname = `/${name}`;
    url = u.toString();
  }
  const db = await openDatabase({ databaseUrl: url, pgliteDir: null, migrate: false, poolSize: 4 });
  await migrate(db.owner, (await readMigrations()).slice(0, -1));
  return { db, url };
}

function configFor(url: string | null, extra: Record<string, string> = {}) {
  return loadConfig({
    PATCHPILOT_DATA_DIR: root,
    ...(url ? { DATABASE_URL: url } : {}),
    ...extra,
  });
}

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), "pp-upgrade-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
  if (process.env.DATABASE_URL && made.length > 0) {
    const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    for (const name of made) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
});

describe("backup before every upgrade", { timeout: 300_000 }, () => {
  it("takes and verifies a backup, then migrates, and records it", async () => {
    const { db, url } = await oneVersionBehind();
    try {
      const logs: string[] = [];
      const config = configFor(url, { PATCHPILOT_BACKUP_PASSPHRASE: "upgrade passphrase here" });
      const applied = await migrateWithBackup(db, config, { log: (m) => logs.push(m) });
      expect(applied).toHaveLength(1);
      expect(await pendingMigrations(db.owner)).toEqual([]);
      expect((await readdir(config.backupDir)).filter((f) => f.endsWith(".ppbak"))).toHaveLength(1);
      const runs = await db.systemReader.selectFrom("backup_runs").selectAll().execute();
      expect(runs).toMatchObject([{ trigger: "pre_upgrade", state: "succeeded" }]);
      expect(logs.join("\n")).toMatch(/written and verified; migrating/);
    } finally {
      await db.close();
    }
  });

  it("refuses to migrate when the backup fails, and migrates with the logged override", async () => {
    const { db, url } = await oneVersionBehind();
    try {
      const config = configFor(url); // no passphrase: the backup cannot be made
      await expect(migrateWithBackup(db, config, { log: () => {} })).rejects.toThrow(
        /refusing to migrate .*no backup passphrase.*--skip-backup-before-upgrade/,
      );
      expect(await pendingMigrations(db.owner)).toHaveLength(1);

      const logs: string[] = [];
      await migrateWithBackup(db, config, { skipBackup: true, log: (m) => logs.push(m) });
      expect(await pendingMigrations(db.owner)).toEqual([]);
      expect(logs.join("\n")).toMatch(/WITHOUT a backup first: --skip-backup-before-upgrade was given/);
      const runs = await db.systemReader.selectFrom("backup_runs").selectAll().execute();
      expect(runs).toMatchObject([{ trigger: "pre_upgrade", state: "failed", details: { override: true } }]);
    } finally {
      await db.close();
    }
  });

  it("migrates a new, empty database without a backup", async () => {
    const db = await openDatabase({ databaseUrl: null, pgliteDir: null, migrate: false });
    try {
      const applied = await migrateWithBackup(db, configFor(null), { log: () => {} });
      expect(applied.length).toBeGreaterThan(1);
    } finally {
      await db.close();
    }
  });
});
