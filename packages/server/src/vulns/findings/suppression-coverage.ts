import { sql } from "kysely";
import { anyOf } from "../../db/any-of.js";
import type { OrganizationTransaction } from "../../db/database.js";
import { activeSuppressions, coveringSuppression, groupsOf } from "./finding-facts.js";

/** A finding whose status a decision changed. */
export interface CoverageChange {
  findingId: string;
  vulnerabilityId: string;
  from: { status: string; suppressionId: string | null };
  to: { status: string; suppressionId: string | null };
}

/**
 * Re-derives the status of these vulnerabilities' findings that are not fixed from the suppressions
 * active now, with the same rule the matcher applies to new findings (`coveringSuppression`: a
 * device's own decision before its group's before the organisation's): a new suppression takes the
 * findings it covers, and when one is revoked or expires its findings fall back to a wider decision,
 * or to open. Fixed findings follow the inventory and are left alone.
 */
export async function reconcileFindings(
  tx: OrganizationTransaction,
  vulnerabilityIds: readonly string[],
): Promise<CoverageChange[]> {
  if (vulnerabilityIds.length === 0) return [];
  const findings = await tx.db
    .selectFrom("findings")
    .select(["id", "device_id", "vulnerability_id", "package_name", "status", "suppression_id"])
    .where(anyOf("vulnerability_id", vulnerabilityIds, "text"))
    .where("status", "<>", "fixed")
    .execute();
  if (findings.length === 0) return [];
  const [rules, groups] = await Promise.all([
    activeSuppressions(tx, vulnerabilityIds),
    groupsOf(tx, [...new Set(findings.map((f) => f.device_id))]),
  ]);
  const changes: CoverageChange[] = [];
  for (const f of findings) {
    const rule = coveringSuppression(
      rules,
      { vulnerabilityId: f.vulnerability_id, packageName: f.package_name, deviceId: f.device_id },
      groups.get(f.device_id),
    );
    const status = rule?.kind ?? "open";
    const suppressionId = rule?.id ?? null;
    if (status === f.status && suppressionId === f.suppression_id) continue;
    changes.push({
      findingId: f.id,
      vulnerabilityId: f.vulnerability_id,
      from: { status: f.status, suppressionId: f.suppression_id },
      to: { status, suppressionId },
    });
  }
  if (changes.length === 0) return changes;
  await sql`
    UPDATE findings f SET status = c.status, suppression_id = c.suppression_id, last_changed_at = now()
      FROM unnest(${changes.map((c) => c.findingId)}::uuid[], ${changes.map((c) => c.to.status)}::text[],
                  ${changes.map((c) => c.to.suppressionId)}::uuid[]) AS c(id, status, suppression_id)
     WHERE f.id = c.id`.execute(tx.db);
  return changes;
}

/** How many findings a suppression took (to its status) and gave back (to another, or open). */
export function countFor(changes: readonly CoverageChange[], suppressionId: string) {
  return {
    covered: changes.filter((c) => c.to.suppressionId === suppressionId).length,
    released: changes.filter(
      (c) => c.from.suppressionId === suppressionId && c.to.suppressionId !== suppressionId,
    ).length,
  };
}
