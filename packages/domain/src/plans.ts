/**
 * Plan tiers and what each enables: the one table the server enforces (402 naming the plan that
 * unlocks a feature) and the console shows. The order is the upgrade path; MSP includes all of
 * Enterprise and adds client organisations.
 */
export const PLANS = ["free", "starter", "professional", "business", "enterprise", "msp"] as const;
export type Plan = (typeof PLANS)[number];

export const PLAN_FEATURES = ["sso_oidc", "sso_saml", "siem_forwarding", "msp_clients"] as const;
export type PlanFeature = (typeof PLAN_FEATURES)[number];

export interface PlanLimits {
  /** Shown to people: "Business", "Enterprise", … */
  readonly label: string;
  /** Days audit and device events are kept; null: a value set per organisation (Enterprise, MSP). */
  readonly auditRetentionDays: number | null;
  /** Enrolled devices the organisation may hold; null: no limit. */
  readonly deviceLimit: number | null;
  readonly features: ReadonlySet<PlanFeature>;
}

/** Retention when an organisation on a custom-retention plan has not set its own value. */
export const DEFAULT_CUSTOM_RETENTION_DAYS = 3 * 365;

const BUSINESS_FEATURES: readonly PlanFeature[] = ["sso_oidc", "siem_forwarding"];
const ENTERPRISE_FEATURES: readonly PlanFeature[] = [...BUSINESS_FEATURES, "sso_saml"];

export const PLAN_TABLE: Readonly<Record<Plan, PlanLimits>> = Object.freeze({
  free: { label: "Free", auditRetentionDays: 30, deviceLimit: 25, features: new Set<PlanFeature>() },
  starter: { label: "Starter", auditRetentionDays: 90, deviceLimit: 250, features: new Set<PlanFeature>() },
  professional: {
    label: "Professional",
    auditRetentionDays: 365,
    deviceLimit: 2_500,
    features: new Set<PlanFeature>(),
  },
  business: {
    label: "Business",
    auditRetentionDays: 3 * 365,
    deviceLimit: 25_000,
    features: new Set(BUSINESS_FEATURES),
  },
  enterprise: {
    label: "Enterprise",
    auditRetentionDays: null,
    deviceLimit: null,
    features: new Set(ENTERPRISE_FEATURES),
  },
  msp: {
    label: "MSP",
    auditRetentionDays: null,
    deviceLimit: null,
    features: new Set<PlanFeature>([...ENTERPRISE_FEATURES, "msp_clients"]),
  },
});

export function isPlan(value: string): value is Plan {
  return (PLANS as readonly string[]).includes(value);
}

export function planAllows(plan: Plan, feature: PlanFeature): boolean {
  return PLAN_TABLE[plan].features.has(feature);
}

/** The first plan on the upgrade path that enables the feature, for "available from Business". */
export function lowestPlanWith(feature: PlanFeature): Plan {
  const plan = PLANS.find((p) => planAllows(p, feature));
  if (!plan) throw new Error(`no plan enables ${feature}`);
  return plan;
}

/** Days of audit history an organisation keeps: its plan's, or its own value on a custom plan. */
export function auditRetentionDays(plan: Plan, customDays: number | null): number {
  return PLAN_TABLE[plan].auditRetentionDays ?? customDays ?? DEFAULT_CUSTOM_RETENTION_DAYS;
}
