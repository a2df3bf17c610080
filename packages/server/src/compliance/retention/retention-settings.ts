import { auditRetentionDays, isPlan, mayChangeRetention, PLAN_TABLE } from "@patchpilot/domain";
import type { Database } from "../../db/database.js";
import { AppError } from "../../http/errors.js";
import { type RequestContext, scopeOf } from "../../http/route.js";

export interface RetentionView {
  plan: string;
  /** The plan's retention in days; null when the organisation sets its own (Enterprise, MSP). */
  planDays: number | null;
  customDays: number | null;
  /** What the daily retention job applies. */
  effectiveDays: number;
}

function view(plan: string, customDays: number | null): RetentionView {
  if (!isPlan(plan)) throw new Error(`unknown plan ${plan}`);
  return {
    plan,
    planDays: PLAN_TABLE[plan].auditRetentionDays,
    customDays,
    effectiveDays: auditRetentionDays(plan, customDays),
  };
}

export async function getRetention(db: Database, ctx: RequestContext): Promise<RetentionView> {
  const { organizationId } = scopeOf(ctx);
  const row = await db.withOrganization(organizationId, ctx, (tx) =>
    tx.db.selectFrom("organizations").select(["plan", "audit_retention_days"]).executeTakeFirstOrThrow(),
  );
  return view(row.plan, row.audit_retention_days);
}

/** Sets (or clears, with null) an Enterprise or MSP organisation's own retention; Owners only. */
export async function setRetention(
  db: Database,
  ctx: RequestContext,
  days: number | null,
): Promise<RetentionView> {
  const { organizationId, role } = scopeOf(ctx);
  if (!mayChangeRetention(role)) throw new AppError("compliance.owner_only");
  return db.withOrganization(organizationId, ctx, async (tx) => {
    const before = await tx.db
      .selectFrom("organizations")
      .select(["plan", "audit_retention_days"])
      .executeTakeFirstOrThrow();
    if (!isPlan(before.plan)) throw new Error(`unknown plan ${before.plan}`);
    const fixed = PLAN_TABLE[before.plan].auditRetentionDays;
    if (fixed !== null) {
      throw new AppError("compliance.retention_fixed", {
        message: `The ${PLAN_TABLE[before.plan].label} plan keeps audit history for ${fixed} days; a custom retention needs the Enterprise plan.`,
      });
    }
    await tx.db
      .updateTable("organizations")
      .set({ audit_retention_days: days, updated_at: new Date() })
      .where("id", "=", organizationId)
      .execute();
    tx.audit({
      action: "audit.retention_changed",
      target: { type: "organization", id: organizationId },
      details: { from: before.audit_retention_days, to: days },
    });
    return view(before.plan, days);
  });
}
