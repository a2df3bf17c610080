import { isPlan, lowestPlanWith, PLAN_TABLE, PLANS, type Plan, type PlanFeature } from "@patchpilot/domain";
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

/**
 * Refuses with 402, naming the plan that allows more, when enrolling one more device would pass the
 * plan's device limit. The organisation's row is locked first, so concurrent enrolments with
 * different tokens are counted one after another.
 */
export async function assertDeviceCapacity(tx: OrganizationTransaction): Promise<void> {
  const row = await tx.db
    .selectFrom("organizations")
    .select("plan")
    .where("id", "=", tx.organizationId)
    .forUpdate()
    .executeTakeFirstOrThrow();
  if (!isPlan(row.plan)) throw new Error(`organisation ${tx.organizationId} has an unknown plan`);
  const limit = PLAN_TABLE[row.plan].deviceLimit;
  if (limit === null) return;
  const count = await tx.db
    .selectFrom("devices")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("retired_at", "is", null)
    .executeTakeFirstOrThrow();
  if (Number(count.n) < limit) return;
  const next = PLANS.slice(PLANS.indexOf(row.plan) + 1).find((p) => {
    const more = PLAN_TABLE[p].deviceLimit;
    return more === null || more > limit;
  });
  const upgrade = next
    ? ` The ${PLAN_TABLE[next].label} plan allows ${PLAN_TABLE[next].deviceLimit?.toLocaleString("en") ?? "any number of"} devices.`
    : "";
  throw new AppError("plans.device_limit_reached", {
    message: `This organisation's ${PLAN_TABLE[row.plan].label} plan allows ${limit.toLocaleString("en")} devices, and all are in use: retire a device or upgrade.${upgrade}`,
  });
}
