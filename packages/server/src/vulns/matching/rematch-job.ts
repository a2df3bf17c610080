import { inList } from "../../db/any-of.js";
import type { Database } from "../../db/database.js";
import { SYSTEM_WORK } from "../../db/unit-of-work.js";
import { refreshFindingRisk } from "../findings/finding-risk.js";
import type { RematchPayload } from "../knowledge-base/knowledge-base-writer.js";
import type { AdvisoryIndex } from "./advisory-index.js";
import { type RematchOutcome, rematch } from "./rematch.js";

const RISK_CHUNK = 10_000;

export interface RematchJobOutcome extends RematchOutcome {
  riskChanged: number;
}

/**
 * The job a feed run queues: re-match what its advisories changed, then recompute the risk of the
 * findings whose scores moved (named vulnerabilities after KEV or NVD, every finding after EPSS).
 */
export async function runRematchJob(
  db: Database,
  index: AdvisoryIndex,
  payload: RematchPayload,
): Promise<RematchJobOutcome> {
  if (payload.generation !== undefined && !payload.all) {
    await index.refreshPackages(db, payload.keys ?? [], payload.generation);
  }
  const matched = payload.all
    ? await rematch(db, index, { all: true })
    : await rematch(db, index, {
        keys: payload.keys ?? [],
        ...(payload.advisoryVulnerabilities ? { vulnerabilities: payload.advisoryVulnerabilities } : {}),
      });
  let riskChanged = 0;
  const vulnerabilities = payload.vulnerabilities ?? [];
  if (payload.everyRisk || vulnerabilities.length > 0) {
    const organizations = await db.systemReader
      .selectFrom("findings")
      .select("organization_id")
      .distinct()
      .where("status", "<>", "fixed")
      .$if(!payload.everyRisk, (q) => q.where(inList("vulnerability_id", vulnerabilities, "text")))
      .execute();
    for (const { organization_id } of organizations) {
      if (!payload.everyRisk) {
        riskChanged += await db.withOrganization(
          organization_id,
          SYSTEM_WORK,
          async (tx) => (await refreshFindingRisk(tx, { vulnerabilityIds: vulnerabilities })).changed,
        );
        continue;
      }
      // Every standing finding, a chunk per transaction.
      for (let after: string | null = "00000000-0000-0000-0000-000000000000"; after !== null; ) {
        const from: string = after;
        const chunk = await db.withOrganization(organization_id, SYSTEM_WORK, (tx) =>
          refreshFindingRisk(tx, { after: from, limit: RISK_CHUNK }),
        );
        riskChanged += chunk.changed;
        after = chunk.last;
      }
    }
  }
  return { ...matched, riskChanged };
}
