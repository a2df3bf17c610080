import { type RawBuilder, sql } from "kysely";
import type { Database } from "../../db/database.js";
import { type RequestContext, scopeOf } from "../../http/route.js";

export interface DailyFigures {
  day: string;
  critical: number;
  high: number;
  medium: number;
  low: number;
  other: number;
  kev: number;
  overdue: number;
  fixedToday: number;
}

export interface FindingSummary {
  open: {
    critical: number;
    high: number;
    medium: number;
    low: number;
    negligible: number;
    unknown: number;
    total: number;
  };
  kev: number;
  overdue: number;
  acceptedRisk: number;
  falsePositive: number;
  fixAvailable: number;
  devicesWithOpenFindings: number;
  /** Mean days from first seen to fixed, over findings fixed in the last 90 days; null when none were. */
  meanTimeToRemediateDays: number | null;
  /** The figures recorded at the end of each of the last 90 days, oldest first. */
  trend: DailyFigures[];
}

export const TREND_DAYS = 90;

/** The organisation's position at a glance: one aggregate over its live devices' findings. */
export async function findingSummary(db: Database, ctx: RequestContext): Promise<FindingSummary> {
  const { organizationId } = scopeOf(ctx);
  return db.withOrganization(organizationId, ctx, async (tx) => {
    const open = (condition: RawBuilder<boolean>) =>
      sql`count(*) FILTER (WHERE f.status = 'open' AND ${condition})::int`;
    const totals = await sql<{
      critical: number;
      high: number;
      medium: number;
      low: number;
      negligible: number;
      unknown: number;
      total: number;
      kev: number;
      overdue: number;
      accepted_risk: number;
      false_positive: number;
      fix_available: number;
      devices: number;
      mttr_days: number | null;
    }>`
      SELECT ${open(sql`f.severity = 'critical'`)} AS critical, ${open(sql`f.severity = 'high'`)} AS high,
             ${open(sql`f.severity = 'medium'`)} AS medium, ${open(sql`f.severity = 'low'`)} AS low,
             ${open(sql`f.severity = 'negligible'`)} AS negligible, ${open(sql`f.severity = 'unknown'`)} AS unknown,
             ${open(sql`true`)} AS total, ${open(sql`v.kev_added IS NOT NULL`)} AS kev,
             ${open(sql`f.sla_due_at < now()`)} AS overdue, ${open(sql`f.fixed_version IS NOT NULL`)} AS fix_available,
             count(*) FILTER (WHERE f.status = 'accepted_risk')::int AS accepted_risk,
             count(*) FILTER (WHERE f.status = 'false_positive')::int AS false_positive,
             -- Kept on each device's row from its findings: no sort of every open finding's device.
             (SELECT count(*) FROM devices od WHERE od.retired_at IS NULL AND od.open_findings > 0)::int AS devices,
             (avg(extract(epoch FROM f.closed_at - f.first_seen_at))
                FILTER (WHERE f.status = 'fixed' AND f.closed_at >= now() - make_interval(days => ${TREND_DAYS}))
              / 86400)::float8 AS mttr_days
        FROM findings f
        JOIN devices d ON d.id = f.device_id
        JOIN vulnerabilities v ON v.id = f.vulnerability_id
       WHERE d.retired_at IS NULL`.execute(tx.db);
    const trend = await tx.db
      .selectFrom("finding_daily_stats")
      .select([
        sql<string>`day::text`.as("day"),
        "critical",
        "high",
        "medium",
        "low",
        "other",
        "kev",
        "overdue",
        "fixed_today",
      ])
      .where(sql<boolean>`day > current_date - ${TREND_DAYS}::int`)
      .orderBy("day")
      .execute();
    const t = totals.rows[0];
    if (!t) throw new Error("an aggregate without GROUP BY returns one row");
    return {
      open: {
        critical: t.critical,
        high: t.high,
        medium: t.medium,
        low: t.low,
        negligible: t.negligible,
        unknown: t.unknown,
        total: t.total,
      },
      kev: t.kev,
      overdue: t.overdue,
      acceptedRisk: t.accepted_risk,
      falsePositive: t.false_positive,
      fixAvailable: t.fix_available,
      devicesWithOpenFindings: t.devices,
      meanTimeToRemediateDays: t.mttr_days === null ? null : Math.round(t.mttr_days * 10) / 10,
      trend: trend.map((r) => ({
        day: r.day,
        critical: r.critical,
        high: r.high,
        medium: r.medium,
        low: r.low,
        other: r.other,
        kev: r.kev,
        overdue: r.overdue,
        fixedToday: r.fixed_today,
      })),
    };
  });
}
