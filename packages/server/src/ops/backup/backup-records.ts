import type { Database } from "../../db/database.js";
import { SYSTEM_WORK } from "../../db/unit-of-work.js";

const UNAUDITED =
  "the platform's own record of its backups and restore tests; no organisation's data changes";

export interface BackupRunRecord {
  trigger: "manual" | "scheduled" | "pre_upgrade";
  startedAt: Date;
  durationMs: number;
  file: string | null;
  copies?: string[];
  bytes?: number | null;
  verified: boolean;
  error?: string | null;
  details?: Record<string, unknown>;
}

export async function recordBackupRun(db: Database, run: BackupRunRecord): Promise<number> {
  return db.system(
    SYSTEM_WORK,
    async (tx) => {
      const row = await tx.db
        .insertInto("backup_runs")
        .values({
          trigger: run.trigger,
          state: run.error ? "failed" : "succeeded",
          started_at: run.startedAt,
          duration_ms: Math.max(0, Math.round(run.durationMs)),
          file: run.file,
          copies: run.copies ?? [],
          bytes: run.bytes ?? null,
          verified_at: run.verified ? new Date() : null,
          error: run.error?.slice(0, 2000) ?? null,
          details: JSON.stringify(run.details ?? {}),
        })
        .returning("id")
        .executeTakeFirstOrThrow();
      return row.id;
    },
    { unaudited: UNAUDITED },
  );
}

export interface RestoreTestRecord {
  file: string;
  ok: boolean;
  startedAt: Date;
  durationMs: number;
  backupBytes: number | null;
  problems: string[];
  error: string | null;
}

export async function recordRestoreTest(db: Database, test: RestoreTestRecord): Promise<void> {
  await db.system(
    SYSTEM_WORK,
    async (tx) => {
      await tx.db
        .insertInto("restore_tests")
        .values({
          file: test.file,
          ok: test.ok,
          started_at: test.startedAt,
          duration_ms: Math.max(0, Math.round(test.durationMs)),
          backup_bytes: test.backupBytes,
          problems: JSON.stringify(test.problems.slice(0, 100)),
          error: test.error?.slice(0, 2000) ?? null,
        })
        .execute();
    },
    { unaudited: UNAUDITED },
  );
}

export async function markRemoved(db: Database, files: string[]): Promise<void> {
  if (files.length === 0) return;
  await db.system(
    SYSTEM_WORK,
    async (tx) => {
      await tx.db
        .updateTable("backup_runs")
        .set({ removed_at: new Date() })
        .where("file", "in", files)
        .where("removed_at", "is", null)
        .execute();
    },
    { unaudited: UNAUDITED },
  );
}
