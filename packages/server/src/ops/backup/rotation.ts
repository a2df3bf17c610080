import { unlink } from "node:fs/promises";
import { manifestPath } from "./backup-service.js";

export interface Rotatable {
  file: string;
  createdAt: string;
}

export type RetentionPolicy =
  | { kind: "days"; days: number }
  | { kind: "gfs"; daily: number; weekly: number; monthly: number };

export const GFS_DEFAULT = { kind: "gfs", daily: 14, weekly: 8, monthly: 12 } as const;

const DAY_MS = 86_400_000;

/** Monday-based week number since the epoch (1970-01-01 was a Thursday). */
function weekOf(at: Date): number {
  return Math.floor((at.getTime() / DAY_MS + 3) / 7);
}

/**
 * The backups to remove under the policy. The newest backup is always kept, and nothing is removed
 * unless `newestVerified` says the newest backup has just been verified: a backup is removed only
 * once a newer one is known to be good.
 */
export function backupsToRemove(
  backups: readonly Rotatable[],
  policy: RetentionPolicy,
  now: Date,
  newestVerified: boolean,
): Rotatable[] {
  if (!newestVerified || backups.length <= 1) return [];
  const sorted = [...backups].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  const keep = new Set<string>([sorted[0]?.file ?? ""]);
  if (policy.kind === "days") {
    for (const b of sorted) {
      if (now.getTime() - Date.parse(b.createdAt) <= policy.days * DAY_MS) keep.add(b.file);
    }
  } else {
    // Grandfather-father-son: the newest backup of each of the last N days, weeks and months.
    const buckets: [number, (at: Date) => string][] = [
      [policy.daily, (at) => at.toISOString().slice(0, 10)],
      [policy.weekly, (at) => String(weekOf(at))],
      [policy.monthly, (at) => at.toISOString().slice(0, 7)],
    ];
    for (const [count, bucketOf] of buckets) {
      const seen = new Set<string>();
      for (const b of sorted) {
        const bucket = bucketOf(new Date(b.createdAt));
        if (seen.has(bucket)) continue;
        if (seen.size >= count) break;
        seen.add(bucket);
        keep.add(b.file);
      }
    }
  }
  return sorted.filter((b) => !keep.has(b.file));
}

/** Removes backups and their manifests; returns the files removed. */
export async function removeBackups(backups: readonly Rotatable[]): Promise<string[]> {
  const removed: string[] = [];
  for (const b of backups) {
    await unlink(b.file).catch(() => {});
    await unlink(manifestPath(b.file)).catch(() => {});
    removed.push(b.file);
  }
  return removed;
}
