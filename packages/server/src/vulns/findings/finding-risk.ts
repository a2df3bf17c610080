import { sql } from "kysely";
import { anyOf } from "../../db/any-of.js";
import type { OrganizationTransaction } from "../../db/database.js";
import { asSeverity, deviceCriticality, findingRisk, vulnerabilityFacts } from "./finding-facts.js";

/**
 * Recomputes the risk of the findings still standing when what their risk is made of changed: a
 * vulnerability joined the KEV catalogue or got a new EPSS score or CVSS score, or a device's
 * criticality changed. Severity and due dates stay: they were set when the finding was seen.
 * Returns how many findings changed, and the last finding looked at (for a walk over all of them
 * in chunks, `after` the previous chunk's last).
 */
export async function refreshFindingRisk(
  tx: OrganizationTransaction,
  where:
    | { vulnerabilityIds: readonly string[] }
    | { deviceIds: readonly string[] }
    | { after: string; limit: number },
): Promise<{ changed: number; last: string | null }> {
  let query = tx.db
    .selectFrom("findings")
    .select(["id", "device_id", "vulnerability_id", "severity", "risk"])
    .where("status", "<>", "fixed");
  if ("vulnerabilityIds" in where)
    query = query.where(anyOf("vulnerability_id", where.vulnerabilityIds, "text"));
  else if ("deviceIds" in where) query = query.where(anyOf("device_id", where.deviceIds, "uuid"));
  else query = query.where("id", ">", where.after).orderBy("id").limit(where.limit);
  const standing = await query.execute();
  const last = standing.at(-1)?.id ?? null;
  if (standing.length === 0) return { changed: 0, last };
  const [facts, criticality] = await Promise.all([
    vulnerabilityFacts(tx, [...new Set(standing.map((f) => f.vulnerability_id))]),
    deviceCriticality(tx, [...new Set(standing.map((f) => f.device_id))]),
  ]);
  const ids: string[] = [];
  const risks: number[] = [];
  for (const f of standing) {
    const risk = findingRisk(
      asSeverity(f.severity) ?? "unknown",
      facts.get(f.vulnerability_id),
      criticality.get(f.device_id) ?? "medium",
    );
    if (risk !== Number(f.risk)) {
      ids.push(f.id);
      risks.push(risk);
    }
  }
  if (ids.length === 0) return { changed: 0, last };
  await sql`
    UPDATE findings f SET risk = r.risk
      FROM unnest(${ids}::uuid[], ${risks}::numeric[]) AS r(id, risk)
     WHERE f.id = r.id`.execute(tx.db);
  tx.deviceEvent({
    eventType: "findings.risk_recomputed",
    deviceId: null,
    details: {
      findings: ids.length,
      reason:
        "vulnerabilityIds" in where
          ? "scores changed"
          : "deviceIds" in where
            ? "device criticality changed"
            : "scores changed",
    },
  });
  return { changed: ids.length, last };
}
