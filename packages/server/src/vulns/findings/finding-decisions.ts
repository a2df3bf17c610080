import type { Database } from "../../db/database.js";
import { AppError } from "../../http/errors.js";
import { type RequestContext, scopeOf } from "../../http/route.js";
import { findingById } from "./finding-rows.js";
import { type FindingView, findingView } from "./finding-view.js";
import type { Justification } from "./schemas.js";
import { checkDecision, insertSuppression, revokeSuppressionIn } from "./suppression-rules.js";

export interface FindingDecision {
  status: "open" | "accepted_risk" | "false_positive";
  reason: string;
  owner?: string;
  expiresAt?: string;
  justification?: Justification;
}

/**
 * The one-finding shortcut: accepting the risk of (or dismissing) a finding is a suppression for
 * its vulnerability and package on its device, replacing that device's earlier one; setting it
 * back to open revokes it. A decision taken for a group or the whole organisation is not undone
 * from one finding: that would quietly change other devices' findings.
 */
export async function decideFinding(
  db: Database,
  ctx: RequestContext,
  findingId: string,
  decision: FindingDecision,
): Promise<FindingView> {
  const { organizationId } = scopeOf(ctx);
  if (decision.status !== "open") checkDecision({ ...decision, kind: decision.status });
  const stray = (["owner", "expiresAt", "justification"] as const).find((f) => decision[f] !== undefined);
  if (decision.status === "open" && stray) {
    throw new AppError("request.invalid", {
      field: `body/${stray}`,
      message: `body/${stray} belongs to a decision; setting a finding back to open takes a reason only.`,
    });
  }
  return db.withOrganization(organizationId, ctx, async (tx) => {
    const finding = await findingById(tx, findingId);
    if (!finding) throw new AppError("findings.not_found");
    if (finding.status === "fixed") throw new AppError("findings.closed");
    const via = { findingId, reason: decision.reason };
    const ownDecisions = await tx.db
      .selectFrom("suppressions")
      .select("id")
      .where("vulnerability_id", "=", finding.vulnerability_id)
      .where("package_name", "=", finding.package_name)
      .where("scope_type", "=", "device")
      .where("scope_id", "=", finding.device_id)
      .where("revoked_at", "is", null)
      .where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", new Date())]))
      .execute();
    if (decision.status === "open") {
      if (finding.status === "open") return findingView(finding);
      for (const own of ownDecisions) await revokeSuppressionIn(tx, own.id, via);
    } else {
      for (const own of ownDecisions) await revokeSuppressionIn(tx, own.id, via);
      await insertSuppression(
        tx,
        ctx,
        {
          vulnerabilityId: finding.vulnerability_id,
          packageName: finding.package_name,
          scope: { type: "device", id: finding.device_id },
          kind: decision.status,
          reason: decision.reason,
          owner: decision.owner ?? ctx.user?.name ?? "unknown",
          ...(decision.expiresAt !== undefined ? { expiresAt: decision.expiresAt } : {}),
          ...(decision.justification !== undefined ? { justification: decision.justification } : {}),
        },
        { findingId },
      );
    }
    const after = await findingById(tx, findingId);
    if (!after) throw new Error("a finding vanished inside its own transaction");
    if (decision.status === "open" && after.status !== "open")
      throw new AppError("findings.suppressed_by_wider_scope");
    return findingView(after);
  });
}
