import type { Severity } from "@patchpilot/domain";
import { sql } from "kysely";
import type { OrganizationTransaction } from "../../db/database.js";
import { vulnerabilitiesNamed } from "./vulnerability-ids.js";

export type FindingStatusFilter = "open" | "fixed" | "accepted_risk" | "false_positive" | "all";

export interface FindingFilters {
  deviceId?: string;
  groupId?: string;
  /** A CVE or any alias of it. */
  vulnerabilityId?: string;
  /** A binary package name. */
  package?: string;
  status: FindingStatusFilter;
  severity?: Severity;
  kev?: boolean;
  overdue?: boolean;
  fixAvailable?: boolean;
}

/** Where a page starts: after the last row of the previous one, in (risk desc, id) order. */
export interface FindingKey {
  /** The risk as the database's text, so the comparison is exact (numeric, not a float). */
  risk: string;
  id: string;
}

function findingSelect(tx: OrganizationTransaction) {
  return tx.db
    .selectFrom("findings as f")
    .innerJoin("devices as d", "d.id", "f.device_id")
    .innerJoin("vulnerabilities as v", "v.id", "f.vulnerability_id")
    .leftJoin("suppressions as s", "s.id", "f.suppression_id")
    .select([
      "f.id",
      "f.device_id",
      "d.hostname",
      "f.vulnerability_id",
      "v.severity as vulnerability_severity",
      sql<number | null>`coalesce(v.cvss_v4_score, v.cvss_v3_score)::float8`.as("cvss_score"),
      sql<number | null>`v.epss::float8`.as("epss"),
      sql<number | null>`v.epss_percentile::float8`.as("epss_percentile"),
      sql<boolean>`v.kev_added IS NOT NULL`.as("kev"),
      "f.package_name",
      "f.package_arch",
      "f.installed_version",
      "f.fixed_version",
      "f.range_status",
      "f.status",
      "f.severity",
      sql<number>`f.risk::float8`.as("risk"),
      sql<string>`f.risk::text`.as("risk_key"),
      "f.first_seen_at",
      "f.sla_due_at",
      "f.closed_at",
      sql<boolean>`f.status = 'open' AND f.sla_due_at < now()`.as("overdue"),
      "s.id as suppression_id",
      "s.kind as suppression_kind",
      "s.reason as suppression_reason",
      "s.owner as suppression_owner",
      "s.justification as suppression_justification",
      "s.expires_at as suppression_expires_at",
      "s.scope_type as suppression_scope_type",
      "s.scope_id as suppression_scope_id",
    ]);
}

export type FindingRow = Awaited<ReturnType<ReturnType<typeof findingSelect>["executeTakeFirstOrThrow"]>>;

/**
 * The findings matching the filters. Lists show live devices only: a retired device sends no more
 * inventories, so its findings would stay open for ever and count against the SLA.
 */
function filteredFindings(tx: OrganizationTransaction, f: FindingFilters) {
  let q = findingSelect(tx).where("d.retired_at", "is", null);
  if (f.status !== "all") q = q.where("f.status", "=", f.status);
  if (f.deviceId) q = q.where("f.device_id", "=", f.deviceId);
  if (f.groupId) {
    q = q.where(
      sql<boolean>`f.device_id IN (SELECT device_id FROM device_group_members WHERE group_id = ${f.groupId})`,
    );
  }
  if (f.vulnerabilityId) {
    q = q.where(sql<boolean>`f.vulnerability_id IN ${vulnerabilitiesNamed(f.vulnerabilityId)}`);
  }
  if (f.package) q = q.where("f.package_name", "=", f.package);
  if (f.severity) q = q.where("f.severity", "=", f.severity);
  if (f.kev !== undefined) q = q.where("v.kev_added", f.kev ? "is not" : "is", null);
  if (f.overdue !== undefined) {
    const overdue = sql<boolean>`(f.status = 'open' AND f.sla_due_at < now())`;
    q = q.where(f.overdue ? overdue : sql<boolean>`NOT ${overdue}`);
  }
  if (f.fixAvailable !== undefined) q = q.where("f.fixed_version", f.fixAvailable ? "is not" : "is", null);
  return q;
}

/** One page of findings matching the filters, ordered by risk (highest first) then id. */
export function findingPage(
  tx: OrganizationTransaction,
  f: FindingFilters,
  after: FindingKey | null,
  limit: number,
): Promise<FindingRow[]> {
  let q = filteredFindings(tx, f).orderBy("f.risk", "desc").orderBy("f.id").limit(limit);
  if (after) {
    q = q.where(
      sql<boolean>`(f.risk < ${after.risk}::numeric OR (f.risk = ${after.risk}::numeric AND f.id > ${after.id}::uuid))`,
    );
  }
  return q.execute();
}

export async function countFindings(tx: OrganizationTransaction, f: FindingFilters): Promise<number> {
  const row = await tx.db
    .selectFrom(filteredFindings(tx, f).as("matching"))
    .select(sql<number>`count(*)::int`.as("n"))
    .executeTakeFirstOrThrow();
  return row.n;
}

export function findingById(tx: OrganizationTransaction, findingId: string): Promise<FindingRow | undefined> {
  return findingSelect(tx).where("f.id", "=", findingId).executeTakeFirst();
}
