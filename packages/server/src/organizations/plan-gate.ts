import { isPlan, lowestPlanWith, PLAN_TABLE, type Plan, type PlanFeature } from "@patchpilot/domain";
import type { OrganizationTransaction } from "../db/database.js";
import { AppError } from "../http/errors.js";

const FEATURE_NAMES: Record<PlanFeature, string> = {
  sso_oidc: "OpenID Connect single sign-on",
  sso_saml: "SAML single sign-on",
  siem_forwarding: "SIEM forwarding",
  msp_clients: "Managing client organisations",
};

/** The organisation's plan, read inside its own transaction. */
export async function organizationPlan(tx: OrganizationTransaction): Promise<Plan> {
  const row = await tx.db
    .selectFrom("organizations")
    .select("plan")
    .where("id", "=", tx.organizationId)
    .executeTakeFirstOrThrow();
  if (!isPlan(row.plan)) throw new Error(`organisation ${tx.organizationId} has an unknown plan`);
  return row.plan;
}

/** Refuses with 402, naming the plan that unlocks the feature, when the organisation's plan lacks it. */
export async function requirePlanFeature(tx: OrganizationTransaction, feature: PlanFeature): Promise<void> {
  const plan = await organizationPlan(tx);
  if (PLAN_TABLE[plan].features.has(feature)) return;
  const needed = PLAN_TABLE[lowestPlanWith(feature)].label;
  throw new AppError("plans.upgrade_required", {
    message: `${FEATURE_NAMES[feature]} needs the ${needed} plan or higher; this organisation is on ${PLAN_TABLE[plan].label}.`,
  });
}
