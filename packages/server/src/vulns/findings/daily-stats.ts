import { sql } from "kysely";
import type { Database } from "../../db/database.js";
import { SYSTEM_WORK } from "../../db/unit-of-work.js";

/**
 * Writes (or rewrites) one organisation's figures for a day (UTC): open findings by severity and
 * KEV, those overdue at the end of the day, and those fixed during it. The daily job calls it
 * shortly after midnight for the day that ended; running it again for a day replaces that day's row.
 */
export async function recordDailyStats(db: Database, organizationId: string, day: string): Promise<void> {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day) || Number.isNaN(Date.parse(`${day}T00:00:00Z`))) {
    throw new Error(`not a day: ${day}`);
  }
  await db.withOrganization(organizationId, SYSTEM_WORK, async (tx) => {
    const start = sql`(${day}::date::timestamp AT TIME ZONE 'UTC')`;
    const end = sql`((${day}::date + 1)::timestamp AT TIME ZONE 'UTC')`;
    const row = await sql<Record<string, number>>`
      INSERT INTO finding_daily_stats AS s (day, critical, high, medium, low, other, kev, overdue, fixed_today)
      SELECT ${day}::date,
             count(*) FILTER (WHERE f.status = 'open' AND f.severity = 'critical')::int,
             count(*) FILTER (WHERE f.status = 'open' AND f.severity = 'high')::int,
             count(*) FILTER (WHERE f.status = 'open' AND f.severity = 'medium')::int,
             count(*) FILTER (WHERE f.status = 'open' AND f.severity = 'low')::int,
             count(*) FILTER (WHERE f.status = 'open' AND f.severity NOT IN ('critical', 'high', 'medium', 'low'))::int,
             count(*) FILTER (WHERE f.status = 'open' AND v.kev_added IS NOT NULL)::int,
             count(*) FILTER (WHERE f.status = 'open' AND f.sla_due_at < ${end})::int,
             count(*) FILTER (WHERE f.status = 'fixed' AND f.closed_at >= ${start} AND f.closed_at < ${end})::int
        FROM findings f
        JOIN devices d ON d.id = f.device_id
        JOIN vulnerabilities v ON v.id = f.vulnerability_id
       WHERE d.retired_at IS NULL
      ON CONFLICT (organization_id, day) DO UPDATE SET
        critical = excluded.critical, high = excluded.high, medium = excluded.medium, low = excluded.low,
        other = excluded.other, kev = excluded.kev, overdue = excluded.overdue, fixed_today = excluded.fixed_today
      RETURNING critical, high, medium, low, other, kev, overdue, fixed_today`.execute(tx.db);
    tx.audit({
      action: "findings.daily_stats_recorded",
      details: { day, ...(row.rows[0] ?? {}) },
    });
  });
}
