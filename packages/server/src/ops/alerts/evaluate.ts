import { randomUUID } from "node:crypto";
import { type Selectable, sql } from "kysely";
import type { Database, OrganizationTransaction } from "../../db/database.js";
import type { AlertRulesTable } from "../../db/schema.js";
import type { AuditContext } from "../../db/unit-of-work.js";

export const ALERT_EVALUATION_JOB = "ops.alerts.evaluate";

/** Alerts are raised and resolved by the system; their audit rows say so. */
export const ALERTS_CONTEXT: AuditContext = Object.freeze({
  actor: Object.freeze({ type: "system" as const, id: "alerts" }),
  requestId: null,
  ip: null,
  userAgent: null,
});

/** How many subjects (devices, feeds) an alert names; the count is always whole. */
const SAMPLE = 20;

export interface Condition {
  active: boolean;
  summary: string;
  details: Record<string, unknown>;
}

/** The platform's own state, read once per evaluation for every organisation's rules. */
export interface PlatformState {
  feeds: { feed: string; lastSuccessAt: Date | null }[];
  lastBackup: { id: number; state: string; finishedAt: Date; error: string | null } | null;
  lastRestoreTest: { id: number; ok: boolean; finishedAt: Date; file: string; error: string | null } | null;
}

export async function readPlatformState(db: Database): Promise<PlatformState> {
  const feeds = await db.systemReader
    .selectFrom("feed_state")
    .select(["feed", "last_success_at"])
    .orderBy("feed")
    .execute();
  const backup = await db.systemReader
    .selectFrom("backup_runs")
    .select(["id", "state", "finished_at", "error"])
    .orderBy("finished_at", "desc")
    .orderBy("id", "desc")
    .limit(1)
    .executeTakeFirst();
  const restore = await db.systemReader
    .selectFrom("restore_tests")
    .select(["id", "ok", "finished_at", "file", "error"])
    .orderBy("finished_at", "desc")
    .orderBy("id", "desc")
    .limit(1)
    .executeTakeFirst();
  return {
    feeds: feeds.map((f) => ({ feed: f.feed, lastSuccessAt: f.last_success_at })),
    lastBackup: backup
      ? { id: backup.id, state: backup.state, finishedAt: backup.finished_at, error: backup.error }
      : null,
    lastRestoreTest: restore
      ? {
          id: restore.id,
          ok: restore.ok,
          finishedAt: restore.finished_at,
          file: restore.file,
          error: restore.error,
        }
      : null,
  };
}

type Rule = Selectable<AlertRulesTable>;

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Whether a rule's condition holds now, with what an alert would say about it. */
export async function conditionOf(
  tx: OrganizationTransaction,
  rule: Rule,
  platform: PlatformState,
  now: Date,
): Promise<Condition> {
  const threshold = rule.threshold ?? 1;
  switch (rule.kind) {
    case "device_offline": {
      const cutoff = new Date(now.getTime() - threshold * 3_600_000);
      // A device that never checked in counts from its enrolment.
      const rows = await sql<{ id: string; hostname: string; last_seen_at: Date; total: number | string }>`
        SELECT d.id, d.hostname, coalesce(p.last_seen_at, d.enrolled_at) AS last_seen_at, count(*) OVER () AS total
          FROM devices d LEFT JOIN device_presence p ON p.device_id = d.id
         WHERE d.retired_at IS NULL AND coalesce(p.last_seen_at, d.enrolled_at) < ${cutoff}
         ORDER BY 3, d.id LIMIT ${SAMPLE}`.execute(tx.db);
      const total = Number(rows.rows[0]?.total ?? 0);
      return {
        active: total > 0,
        summary: `${plural(total, "device has", "devices have")} not checked in for ${plural(threshold, "hour", "hours")}`,
        details: {
          offline: total,
          hours: threshold,
          devices: rows.rows.map((r) => ({
            id: r.id,
            hostname: r.hostname,
            lastSeenAt: new Date(r.last_seen_at).toISOString(),
          })),
        },
      };
    }
    case "checkin_error_spike": {
      const minutes = rule.window_minutes ?? 60;
      const since = new Date(now.getTime() - minutes * 60_000);
      // Agents' failures are recorded as failed device events: a device token used for another
      // device, refused enrolments, jobs that expired undelivered or failed, and the like.
      const rows = await sql<{ event_type: string; n: number | string }>`
        SELECT event_type, count(*) AS n FROM device_events
         WHERE result = 'failure' AND occurred_at > ${since}
         GROUP BY event_type ORDER BY 2 DESC, 1`.execute(tx.db);
      const total = rows.rows.reduce((sum, r) => sum + Number(r.n), 0);
      return {
        active: total >= threshold,
        summary: `${plural(total, "agent error", "agent errors")} in the last ${plural(minutes, "minute", "minutes")} (threshold ${threshold})`,
        details: {
          errors: total,
          threshold,
          windowMinutes: minutes,
          byType: Object.fromEntries(rows.rows.slice(0, SAMPLE).map((r) => [r.event_type, Number(r.n)])),
        },
      };
    }
    case "feed_stale": {
      const cutoff = now.getTime() - threshold * 3_600_000;
      const stale = platform.feeds.filter(
        (f) => f.lastSuccessAt === null || f.lastSuccessAt.getTime() < cutoff,
      );
      return {
        active: stale.length > 0,
        summary: `${plural(stale.length, "vulnerability feed has", "vulnerability feeds have")} not synced for ${plural(threshold, "hour", "hours")}`,
        details: {
          hours: threshold,
          feeds: stale.slice(0, SAMPLE).map((f) => ({
            feed: f.feed,
            lastSuccessAt: f.lastSuccessAt?.toISOString() ?? null,
          })),
        },
      };
    }
    case "backup_failed": {
      const last = platform.lastBackup;
      return {
        active: last?.state === "failed",
        summary: "The platform's latest backup failed",
        details: last
          ? { backupRun: last.id, finishedAt: last.finishedAt.toISOString(), error: last.error }
          : {},
      };
    }
    case "restore_test_failed": {
      const last = platform.lastRestoreTest;
      return {
        active: last !== null && !last.ok,
        summary: "The platform's latest restore test failed",
        details: last
          ? {
              restoreTest: last.id,
              file: last.file,
              finishedAt: last.finishedAt.toISOString(),
              error: last.error,
            }
          : {},
      };
    }
    case "sla_breach": {
      const rows = await sql<{ severity: string; n: number | string }>`
        SELECT severity, count(*) AS n FROM findings
         WHERE status = 'open' AND sla_due_at < ${now}
         GROUP BY severity ORDER BY 1`.execute(tx.db);
      const total = rows.rows.reduce((sum, r) => sum + Number(r.n), 0);
      return {
        active: total >= threshold,
        summary: `${plural(total, "open finding is", "open findings are")} past their SLA`,
        details: {
          overdue: total,
          threshold,
          bySeverity: Object.fromEntries(rows.rows.map((r) => [r.severity, Number(r.n)])),
        },
      };
    }
  }
}

function channelsOf(rule: Rule): ("email" | "webhook")[] {
  const channels: ("email" | "webhook")[] = [];
  if (rule.emails.length > 0) channels.push("email");
  if (rule.webhook_url) channels.push("webhook");
  return channels;
}

export interface EvaluationOutcome {
  raised: number;
  resolved: number;
}

/**
 * Evaluates one organisation's enabled rules in one transaction, holding the rules' row locks
 * so two processes cannot raise one episode twice. An alert is raised once when its condition
 * starts and resolved once when it clears; each writes its notices to the outbox and its audit
 * row in the same transaction.
 */
export async function evaluateOrganization(
  db: Database,
  organizationId: string,
  platform: PlatformState,
  now: Date,
): Promise<EvaluationOutcome> {
  return db.withOrganization(organizationId, ALERTS_CONTEXT, async (tx) => {
    const outcome = { raised: 0, resolved: 0 };
    const rules = await tx.db
      .selectFrom("alert_rules")
      .selectAll()
      .where("enabled", "=", true)
      .orderBy("id")
      .forUpdate()
      .execute();
    if (rules.length === 0) return outcome;
    const open = await tx.db
      .selectFrom("alerts")
      .select(["id", "rule_id"])
      .where("state", "=", "open")
      .execute();
    for (const rule of rules) {
      const condition = await conditionOf(tx, rule, platform, now);
      const current = open.find((a) => a.rule_id === rule.id);
      if (condition.active && !current) {
        const alertId = randomUUID();
        await tx.db
          .insertInto("alerts")
          .values({
            id: alertId,
            rule_id: rule.id,
            kind: rule.kind,
            summary: condition.summary.slice(0, 500),
            details: JSON.stringify(condition.details),
            raised_at: now,
          })
          .execute();
        await queueNotices(tx, alertId, "raised", rule);
        tx.audit({
          action: "alerts.raised",
          target: { type: "alert", id: alertId },
          details: { ruleId: rule.id, kind: rule.kind, summary: condition.summary },
        });
        outcome.raised++;
      } else if (!condition.active && current) {
        await tx.db
          .updateTable("alerts")
          .set({ state: "resolved", resolved_at: now })
          .where("id", "=", current.id)
          .execute();
        await queueNotices(tx, current.id, "resolved", rule);
        tx.audit({
          action: "alerts.resolved",
          target: { type: "alert", id: current.id },
          details: { ruleId: rule.id, kind: rule.kind },
        });
        outcome.resolved++;
      }
    }
    return outcome;
  });
}

async function queueNotices(
  tx: OrganizationTransaction,
  alertId: string,
  event: "raised" | "resolved",
  rule: Rule,
): Promise<void> {
  const channels = channelsOf(rule);
  if (channels.length === 0) return;
  await tx.db
    .insertInto("alert_deliveries")
    .values(channels.map((channel) => ({ alert_id: alertId, event, channel })))
    .execute();
}

/** One evaluation of every organisation that has an enabled rule. */
export async function evaluateAlertRules(db: Database, now = new Date()): Promise<EvaluationOutcome> {
  const platform = await readPlatformState(db);
  const organizations = await db.systemReader
    .selectFrom("alert_rules")
    .select("organization_id")
    .distinct()
    .where("enabled", "=", true)
    .execute();
  const total = { raised: 0, resolved: 0 };
  let failure: unknown = null;
  for (const { organization_id } of organizations) {
    // One organisation's failure does not keep the others' alerts from being raised; the job
    // still fails (and is retried) with the first error.
    try {
      const outcome = await evaluateOrganization(db, organization_id, platform, now);
      total.raised += outcome.raised;
      total.resolved += outcome.resolved;
    } catch (error) {
      failure ??= error;
    }
  }
  if (failure !== null) throw failure;
  return total;
}
