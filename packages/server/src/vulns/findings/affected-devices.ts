import { type RawBuilder, sql } from "kysely";
import type { Database } from "../../db/database.js";
import { decodeCursor, encodeCursor, type Page } from "../../http/pagination.js";
import { type RequestContext, scopeOf } from "../../http/route.js";
import { resolveVulnerability } from "./vulnerability-ids.js";

export interface AffectedDevice {
  findingId: string;
  device: { id: string; hostname: string };
  package: { name: string; arch: string };
  installedVersion: string;
  fixedVersion: string | null;
  rangeStatus: string;
  risk: number;
  firstSeenAt: string;
  slaDueAt: string;
  overdue: boolean;
}

export interface AffectedDevicesPage extends Page<AffectedDevice> {
  total: { devices: number; findings: number };
}

interface AffectedRow {
  id: string;
  device_id: string;
  hostname: string;
  package_name: string;
  package_arch: string;
  installed_version: string;
  fixed_version: string | null;
  range_status: string;
  risk: number;
  first_seen_at: Date;
  sla_due_at: Date;
  overdue: boolean;
  at: string;
}

/** One page of a vulnerability's open findings on live devices, in (first seen, id) order. */
export function affectedPage(
  vulnerabilityId: string,
  after: { at: string; id: string } | null,
  limit: number,
): RawBuilder<AffectedRow> {
  return sql<AffectedRow>`
    SELECT f.id, f.device_id, d.hostname, f.package_name, f.package_arch, f.installed_version, f.fixed_version,
           f.range_status, f.risk::float8 AS risk, f.first_seen_at, f.sla_due_at, f.sla_due_at < now() AS overdue,
           to_char(f.first_seen_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at
      FROM findings f JOIN devices d ON d.id = f.device_id
     WHERE f.vulnerability_id = ${vulnerabilityId} AND f.status = 'open' AND d.retired_at IS NULL
       AND ${after ? sql`(f.first_seen_at, f.id) > (${after.at}::timestamptz, ${after.id}::uuid)` : sql`true`}
     ORDER BY f.first_seen_at, f.id
     LIMIT ${limit}`;
}

/**
 * "Which of my devices have CVE-X, and since when": the open findings of one vulnerability, longest
 * exposed first. The page reads findings_vulnerability_open_idx in order and joins each finding's
 * device by key, stopping after one page; the totals count that index's range alone and leave out
 * findings of retired devices (devices_retired_idx), so a vulnerability on 100,000 devices joins
 * no live device to count.
 */
export async function affectedDevices(
  db: Database,
  ctx: RequestContext,
  name: string,
  query: { limit: number; cursor?: string },
): Promise<AffectedDevicesPage> {
  const { organizationId } = scopeOf(ctx);
  const after = query.cursor ? decodeCursor(query.cursor) : null;
  return db.withOrganization(organizationId, ctx, async (tx) => {
    const id = await resolveVulnerability(tx, name);
    const rows = await affectedPage(id, after, query.limit + 1).execute(tx.db);
    const total = await sql<{ devices: number; findings: number }>`
      SELECT count(DISTINCT f.device_id)::int AS devices, count(*)::int AS findings
        FROM findings f
       WHERE f.vulnerability_id = ${id} AND f.status = 'open'
         AND NOT EXISTS (SELECT 1 FROM devices d WHERE d.id = f.device_id AND d.retired_at IS NOT NULL)`.execute(
      tx.db,
    );
    const page = rows.rows.slice(0, query.limit);
    const last = page.at(-1);
    return {
      items: page.map((r) => ({
        findingId: r.id,
        device: { id: r.device_id, hostname: r.hostname },
        package: { name: r.package_name, arch: r.package_arch },
        installedVersion: r.installed_version,
        fixedVersion: r.fixed_version,
        rangeStatus: r.range_status,
        risk: r.risk,
        firstSeenAt: r.first_seen_at.toISOString(),
        slaDueAt: r.sla_due_at.toISOString(),
        overdue: r.overdue,
      })),
      nextCursor: rows.rows.length > query.limit && last ? encodeCursor({ at: last.at, id: last.id }) : null,
      total: total.rows[0] ?? { devices: 0, findings: 0 },
    };
  });
}
