import {
  type Criticality,
  DEFAULT_SLA_DAYS,
  riskScore,
  SEVERITIES,
  type Severity,
  type SlaSettings,
  slaDays,
} from "@patchpilot/domain";
import { sql } from "kysely";
import { anyOf } from "../../db/any-of.js";
import type { OrganizationTransaction } from "../../db/database.js";

/** What risk and severity need to know about a vulnerability. */
export interface VulnerabilityFacts {
  severity: Severity;
  cvss: number | null;
  epssPercentile: number | null;
  kev: boolean;
}

export function asSeverity(value: string | null | undefined): Severity | null {
  return value && (SEVERITIES as readonly string[]).includes(value) ? (value as Severity) : null;
}

export async function vulnerabilityFacts(
  tx: OrganizationTransaction,
  ids: readonly string[],
): Promise<Map<string, VulnerabilityFacts>> {
  if (ids.length === 0) return new Map();
  const rows = await tx.db
    .selectFrom("vulnerabilities")
    .select(["id", "severity", "cvss_v3_score", "cvss_v4_score", "epss_percentile", "kev_added"])
    .where(anyOf("id", ids, "text"))
    .execute();
  return new Map(
    rows.map((r) => [
      r.id,
      {
        severity: asSeverity(r.severity) ?? "unknown",
        cvss:
          r.cvss_v4_score !== null
            ? Number(r.cvss_v4_score)
            : r.cvss_v3_score !== null
              ? Number(r.cvss_v3_score)
              : null,
        epssPercentile: r.epss_percentile === null ? null : Number(r.epss_percentile),
        kev: r.kev_added !== null,
      },
    ]),
  );
}

export async function slaSettings(tx: OrganizationTransaction): Promise<SlaSettings> {
  const row = await tx.db.selectFrom("vulnerability_settings").selectAll().executeTakeFirst();
  if (!row) return DEFAULT_SLA_DAYS;
  return {
    critical: row.sla_critical_days,
    high: row.sla_high_days,
    medium: row.sla_medium_days,
    low: row.sla_low_days,
  };
}

export async function deviceCriticality(
  tx: OrganizationTransaction,
  deviceIds: readonly string[],
): Promise<Map<string, Criticality>> {
  if (deviceIds.length === 0) return new Map();
  const rows = await tx.db
    .selectFrom("devices")
    .select(["id", "criticality"])
    .where(anyOf("id", deviceIds, "uuid"))
    .execute();
  return new Map(
    rows.map((r) => [
      r.id,
      (["low", "medium", "high", "critical"].includes(r.criticality)
        ? r.criticality
        : "medium") as Criticality,
    ]),
  );
}

/**
 * A finding's severity is the distribution's rating of this package when it gives one (Debian,
 * Red Hat and Ubuntu rate how a flaw affects their build), otherwise the vulnerability's.
 */
export function findingSeverity(
  vendorSeverity: string | null,
  vulnerability: VulnerabilityFacts | undefined,
): Severity {
  return asSeverity(vendorSeverity) ?? vulnerability?.severity ?? "unknown";
}

export function findingRisk(
  severity: Severity,
  vulnerability: VulnerabilityFacts | undefined,
  criticality: Criticality,
): number {
  return riskScore({
    cvss: vulnerability?.cvss ?? null,
    severity,
    epssPercentile: vulnerability?.epssPercentile ?? null,
    kev: vulnerability?.kev ?? false,
    criticality,
  });
}

export function dueDate(firstSeen: Date, severity: Severity, settings: SlaSettings): Date {
  return new Date(firstSeen.getTime() + slaDays(severity, settings) * 86_400_000);
}

/** Active suppressions for these vulnerabilities, and the groups of these devices (for group scope). */
export interface SuppressionRule {
  id: string;
  vulnerabilityId: string;
  packageName: string | null;
  scopeType: "device" | "group" | "organization";
  scopeId: string | null;
  kind: "accepted_risk" | "false_positive";
}

export async function activeSuppressions(
  tx: OrganizationTransaction,
  vulnerabilityIds: readonly string[],
): Promise<SuppressionRule[]> {
  if (vulnerabilityIds.length === 0) return [];
  const rows = await tx.db
    .selectFrom("suppressions")
    .select(["id", "vulnerability_id", "package_name", "scope_type", "scope_id", "kind"])
    .where(anyOf("vulnerability_id", vulnerabilityIds, "text"))
    .where("revoked_at", "is", null)
    .where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", sql<Date>`now()`)]))
    .execute();
  return rows.map((r) => ({
    id: r.id,
    vulnerabilityId: r.vulnerability_id,
    packageName: r.package_name,
    scopeType: r.scope_type as SuppressionRule["scopeType"],
    scopeId: r.scope_id,
    kind: r.kind === "false_positive" ? "false_positive" : "accepted_risk",
  }));
}

export async function groupsOf(
  tx: OrganizationTransaction,
  deviceIds: readonly string[],
): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  if (deviceIds.length === 0) return out;
  const rows = await tx.db
    .selectFrom("device_group_members")
    .select(["device_id", "group_id"])
    .where(anyOf("device_id", deviceIds, "uuid"))
    .execute();
  for (const r of rows) {
    let set = out.get(r.device_id);
    if (!set) {
      set = new Set();
      out.set(r.device_id, set);
    }
    set.add(r.group_id);
  }
  return out;
}

/** The suppression that covers a finding, if any (a device's own before its group's before all). */
export function coveringSuppression(
  rules: readonly SuppressionRule[],
  finding: { vulnerabilityId: string; packageName: string; deviceId: string },
  groups: ReadonlySet<string> | undefined,
): SuppressionRule | null {
  const order = { device: 0, group: 1, organization: 2 } as const;
  let best: SuppressionRule | null = null;
  for (const rule of rules) {
    if (rule.vulnerabilityId !== finding.vulnerabilityId) continue;
    if (rule.packageName !== null && rule.packageName !== finding.packageName) continue;
    const applies =
      rule.scopeType === "organization" ||
      (rule.scopeType === "device" && rule.scopeId === finding.deviceId) ||
      (rule.scopeType === "group" && rule.scopeId !== null && (groups?.has(rule.scopeId) ?? false));
    if (applies && (!best || order[rule.scopeType] < order[best.scopeType])) best = rule;
  }
  return best;
}
