import { sql } from "kysely";
import type { Database } from "../db/database.js";
import { type RequestContext, scopeOf } from "../http/route.js";

export interface DashboardView {
  devices: { total: number; online: number; offline: number; notSeen7Days: number; compliant: number };
  /** Active devices with no open finding past its SLA, in percent of active devices; null without devices. */
  compliancePercent: number | null;
}

/**
 * The fleet counts the dashboard shows beside the findings summary, in one query over the devices
 * and their presence rows: presence (online, offline, not seen for seven days) and patch compliance
 * (no open finding past its SLA, from the earliest open due date kept on each device's row).
 */
export async function readDashboard(
  db: Database,
  ctx: RequestContext,
  onlineSeconds: number,
): Promise<DashboardView> {
  const { organizationId } = scopeOf(ctx);
  const row = await db.withOrganization(organizationId, ctx, (tx) =>
    tx.db
      .selectFrom("devices as d")
      .leftJoin("device_presence as p", "p.device_id", "d.id")
      .where("d.retired_at", "is", null)
      .select([
        sql<number>`count(*)::int`.as("total"),
        sql<number>`count(*) FILTER (WHERE p.last_seen_at > now() - make_interval(secs => ${onlineSeconds}))::int`.as(
          "online",
        ),
        sql<number>`count(*) FILTER (WHERE p.last_seen_at IS NULL OR p.last_seen_at < now() - interval '7 days')::int`.as(
          "not_seen",
        ),
        // The device's earliest open SLA due date is kept on its row from its findings.
        sql<number>`count(*) FILTER (WHERE d.open_sla_due_at IS NULL OR d.open_sla_due_at >= now())::int`.as(
          "compliant",
        ),
      ])
      .executeTakeFirstOrThrow(),
  );
  const total = Number(row.total);
  const online = Number(row.online);
  const compliant = Number(row.compliant);
  return {
    devices: { total, online, offline: total - online, notSeen7Days: Number(row.not_seen), compliant },
    compliancePercent: total === 0 ? null : Math.round((compliant / total) * 1000) / 10,
  };
}
