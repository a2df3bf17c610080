import type { AlertKind } from "../../db/schema.js";
import { AppError } from "../../http/errors.js";

export const ALERT_KINDS: readonly AlertKind[] = [
  "device_offline",
  "checkin_error_spike",
  "feed_stale",
  "backup_failed",
  "restore_test_failed",
  "sla_breach",
];

/**
 * Conditions of the platform itself (the knowledge base's feeds, backups, restore tests): the same
 * for every organisation and holding nothing of any. An organisation's rule may subscribe to them.
 */
export const PLATFORM_KINDS: ReadonlySet<AlertKind> = new Set([
  "feed_stale",
  "backup_failed",
  "restore_test_failed",
]);

export interface Thresholds {
  /** device_offline, feed_stale: hours of silence or staleness. */
  hours?: number;
  /** checkin_error_spike: failures in the window; sla_breach: findings past their SLA (default 1). */
  count?: number;
  /** checkin_error_spike: the window failures are counted in. */
  windowMinutes?: number;
}

/** Which thresholds each kind takes, and which of them it needs. */
const SHAPES: Record<AlertKind, { required: (keyof Thresholds)[]; optional: (keyof Thresholds)[] }> = {
  device_offline: { required: ["hours"], optional: [] },
  checkin_error_spike: { required: ["count", "windowMinutes"], optional: [] },
  feed_stale: { required: ["hours"], optional: [] },
  backup_failed: { required: [], optional: [] },
  restore_test_failed: { required: [], optional: [] },
  sla_breach: { required: [], optional: ["count"] },
};

/** The rule's stored threshold and window, after checking the thresholds fit its kind. */
export function thresholdColumns(
  kind: AlertKind,
  thresholds: Thresholds,
): { threshold: number | null; window_minutes: number | null } {
  const shape = SHAPES[kind];
  for (const key of Object.keys(thresholds) as (keyof Thresholds)[]) {
    if (thresholds[key] === undefined) continue;
    if (!shape.required.includes(key) && !shape.optional.includes(key)) {
      throw new AppError("request.invalid", {
        field: `thresholds.${key}`,
        message: `A ${kind} rule has no ${key} threshold.`,
      });
    }
  }
  for (const key of shape.required) {
    if (thresholds[key] === undefined) {
      throw new AppError("request.invalid", {
        field: `thresholds.${key}`,
        message: `A ${kind} rule needs thresholds.${key}.`,
      });
    }
  }
  const threshold = thresholds.hours ?? thresholds.count ?? (kind === "sla_breach" ? 1 : null);
  return { threshold, window_minutes: thresholds.windowMinutes ?? null };
}

export function thresholdsOf(row: {
  kind: AlertKind;
  threshold: number | null;
  window_minutes: number | null;
}): Thresholds {
  switch (row.kind) {
    case "device_offline":
    case "feed_stale":
      return { hours: row.threshold ?? 0 };
    case "checkin_error_spike":
      return { count: row.threshold ?? 0, windowMinutes: row.window_minutes ?? 0 };
    case "sla_breach":
      return { count: row.threshold ?? 1 };
    default:
      return {};
  }
}
