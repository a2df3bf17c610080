import { sql } from "kysely";
import type { Database } from "../../db/database.js";
import { SYSTEM_WORK } from "../../db/unit-of-work.js";
import { countFor, reconcileFindings } from "./suppression-coverage.js";

export interface ExpiryOutcome {
  organizations: number;
  suppressions: number;
  findingsReleased: number;
}

/**
 * Gives back the findings of accepted risks (and false positives) whose time is up: each finding a
 * lapsed suppression still decides falls back to a wider decision or to open, and each lapsed
 * suppression gets an audit row (`suppressions.expired`) in its organisation's chain. The daily job
 * calls it; a second run finds nothing left to do, so running it twice is harmless.
 */
export async function expireSuppressions(db: Database): Promise<ExpiryOutcome> {
  const outcome: ExpiryOutcome = { organizations: 0, suppressions: 0, findingsReleased: 0 };
  // Cross-tenant only to learn which organisations have work; the work runs in each one's handle.
  const organizations = await sql<{ organization_id: string }>`
    SELECT DISTINCT f.organization_id FROM findings f JOIN suppressions s ON s.id = f.suppression_id
     WHERE f.status IN ('accepted_risk', 'false_positive') AND s.expires_at <= now()`.execute(
    db.systemReader,
  );
  for (const { organization_id } of organizations.rows) {
    await db.withOrganization(organization_id, SYSTEM_WORK, async (tx) => {
      const lapsed = await tx.db
        .selectFrom("suppressions as s")
        .innerJoin("findings as f", "f.suppression_id", "s.id")
        .select(["s.id", "s.vulnerability_id", "s.kind", "s.expires_at", "s.scope_type", "s.scope_id"])
        .distinct()
        .where("f.status", "in", ["accepted_risk", "false_positive"])
        .where("s.expires_at", "<=", sql<Date>`now()`)
        .execute();
      if (lapsed.length === 0) return;
      const changes = await reconcileFindings(tx, [...new Set(lapsed.map((s) => s.vulnerability_id))]);
      outcome.organizations++;
      for (const s of lapsed) {
        const released = countFor(changes, s.id).released;
        outcome.suppressions++;
        outcome.findingsReleased += released;
        tx.audit({
          action: "suppressions.expired",
          target: { type: "suppression", id: s.id },
          details: {
            vulnerabilityId: s.vulnerability_id,
            kind: s.kind,
            scope: { type: s.scope_type, id: s.scope_id },
            expiresAt: s.expires_at?.toISOString() ?? null,
            findingsReleased: released,
          },
        });
      }
    });
  }
  return outcome;
}
