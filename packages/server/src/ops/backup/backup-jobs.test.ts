import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Config, loadConfig } from "../../config/config.js";
import { submitJob } from "../../jobs/job-queue.js";
import { JobRunner } from "../../jobs/job-runner.js";
import { createOrganization, createUser } from "../../organizations/create-organization.js";
import { createTestDatabase, SYSTEM_CONTEXT, type TestDatabase } from "../../testing/database.js";
import { BACKUP_JOB, RESTORE_TEST_JOB, registerBackupJobs, takeBackup } from "./backup-jobs.js";
import { createBackup } from "./backup-service.js";
import { backupsToRemove, GFS_DEFAULT } from "./rotation.js";

const DAY = 86_400_000;
const NOW = new Date("2026-12-01T03:00:00Z");
const at = (daysAgo: number) => ({
  file: `b-${daysAgo}`,
  createdAt: new Date(NOW.getTime() - daysAgo * DAY).toISOString(),
});

describe("backup rotation", () => {
  it("keeps 14 days by default and removes nothing until the newest backup verified", () => {
    const backups = Array.from({ length: 20 }, (_, i) => at(i));
    const removed = backupsToRemove(backups, { kind: "days", days: 14 }, NOW, true).map((b) => b.file);
    expect(removed).toEqual(["b-15", "b-16", "b-17", "b-18", "b-19"]);
    expect(backupsToRemove(backups, { kind: "days", days: 14 }, NOW, false)).toEqual([]);
    // The newest is kept even when it is older than the window.
    expect(
      backupsToRemove([at(30), at(40)], { kind: "days", days: 14 }, NOW, true).map((b) => b.file),
    ).toEqual(["b-40"]);
  });

  it("keeps 14 daily, 8 weekly and 12 monthly backups under grandfather-father-son", () => {
    const backups = Array.from({ length: 500 }, (_, i) => at(i));
    const removed = new Set(backupsToRemove(backups, GFS_DEFAULT, NOW, true).map((b) => b.file));
    const kept = backups.filter((b) => !removed.has(b.file));
    for (let i = 0; i < 14; i++) expect(removed.has(`b-${i}`)).toBe(false);
    const months = new Set(kept.map((b) => b.createdAt.slice(0, 7)));
    expect(months.size).toBe(12);
    expect(kept.length).toBeLessThanOrEqual(14 + 8 + 12);
    expect(kept.length).toBeGreaterThan(20);
    expect(removed.has("b-499")).toBe(true);
  });
});

describe("scheduled backups and restore tests", { timeout: 600_000 }, () => {
  let t: TestDatabase;
  let root: string;
  let config: Config;
  const failures: string[] = [];

  beforeAll(async () => {
    t = await createTestDatabase();
    root = await mkdtemp(path.join(tmpdir(), "pp-backup-jobs-"));
    config = loadConfig({
      PATCHPILOT_DATA_DIR: root,
      PATCHPILOT_BACKUP_PASSPHRASE: "scheduled backup passphrase",
      PATCHPILOT_BACKUP_COPY_DIR: path.join(root, "second"),
      ...(t.url ? { DATABASE_URL: t.url } : {}),
    });
    // Some tenant data with an audit chain.
    await t.db.system(SYSTEM_CONTEXT, async (tx) => {
      const userId = await createUser(tx, { email: "jobs@example.test", name: "Jobs", passwordHash: "x" });
      await createOrganization(tx, { name: "Jobs Ltd", ownerUserId: userId });
    });
  });
  afterAll(async () => {
    await t.drop();
    await rm(root, { recursive: true, force: true });
  });

  it("backs up on schedule, copies to the second place, and rotates only after the new one verified", async () => {
    // A backup from 20 days ago, past the 14-day window.
    const old = await createBackup(t.db, {
      dir: config.backupDir,
      copyDir: config.backupCopyDir,
      passphrase: "scheduled backup passphrase",
      databaseUrl: config.databaseUrl,
      now: new Date(Date.now() - 20 * DAY),
    });
    const jobs = new JobRunner(t.db, (e) => failures.push(String(e)));
    registerBackupJobs(t.db, jobs, config, {
      onFailure: (kind, message) => failures.push(`${kind}: ${message}`),
      info: () => {},
    });
    await jobs.runDue();
    await jobs.runDue();
    const runs = await t.db.systemReader.selectFrom("backup_runs").selectAll().execute();
    expect(runs).toMatchObject([{ trigger: "scheduled", state: "succeeded" }]);
    const files = (await readdir(config.backupDir)).filter((f) => f.endsWith(".ppbak"));
    expect(files).toEqual([runs[0]?.file]);
    expect(files).not.toContain(path.basename(old.file));
    expect((await readdir(config.backupCopyDir ?? "")).filter((f) => f.endsWith(".ppbak"))).toEqual(files);
    expect(failures).toEqual([]);
  });

  it("keeps every backup when the new one fails", async () => {
    const before = (await readdir(config.backupDir)).sort();
    const broken = { ...config, backupDir: path.join(root, "not-a-dir") };
    await writeFile(broken.backupDir, "a file where the directory should be");
    await expect(takeBackup(t.db, broken, "scheduled")).rejects.toThrow();
    expect((await readdir(config.backupDir)).sort()).toEqual(before);
    const failed = await t.db.systemReader
      .selectFrom("backup_runs")
      .selectAll()
      .where("state", "=", "failed")
      .execute();
    expect(failed).toHaveLength(1);
  });

  it("restore-tests the newest backup, records result and duration, and alerts on a bad one", async () => {
    const jobs = new JobRunner(t.db, () => {});
    registerBackupJobs(t.db, jobs, config, {
      onFailure: (kind, message) => failures.push(`${kind}: ${message}`),
      info: () => {},
    });
    await submitJob(t.db, { kind: RESTORE_TEST_JOB, uniqueKey: "first" });
    await jobs.runDue();
    let tests = await t.db.systemReader.selectFrom("restore_tests").selectAll().orderBy("id").execute();
    expect(tests.at(-1)).toMatchObject({ ok: true, error: null });
    expect(tests.at(-1)?.duration_ms).toBeGreaterThan(0);
    expect(failures).toEqual([]);

    // An altered backup fails its restore test, which is recorded and alerted.
    const [name] = (await readdir(config.backupDir)).filter((f) => f.endsWith(".ppbak"));
    const file = path.join(config.backupDir, name ?? "");
    const bytes = await readFile(file);
    bytes[100] = (bytes[100] ?? 0) ^ 1;
    await writeFile(file, bytes);
    await submitJob(t.db, { kind: RESTORE_TEST_JOB, uniqueKey: "second" });
    await jobs.runDue();
    tests = await t.db.systemReader.selectFrom("restore_tests").selectAll().orderBy("id").execute();
    expect(tests.at(-1)).toMatchObject({ ok: false });
    expect(tests.at(-1)?.error).toMatch(/HMAC/);
    expect(failures.some((f) => f.startsWith("restore_test:"))).toBe(true);
    expect(BACKUP_JOB).toBe("ops.backup");
  });
});
