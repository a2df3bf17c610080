import type { FindingRow } from "./finding-rows.js";

export interface SuppressionSummaryView {
  id: string;
  kind: string;
  reason: string;
  owner: string;
  justification: string | null;
  expiresAt: string | null;
  scope: { type: string; id: string | null };
}

export interface FindingView {
  id: string;
  device: { id: string; hostname: string };
  vulnerability: {
    id: string;
    severity: string;
    cvssScore: number | null;
    epss: number | null;
    epssPercentile: number | null;
    kev: boolean;
  };
  severity: string;
  package: { name: string; arch: string };
  installedVersion: string;
  fixedVersion: string | null;
  rangeStatus: string;
  status: string;
  risk: number;
  firstSeenAt: string;
  slaDueAt: string;
  overdue: boolean;
  closedAt: string | null;
  suppression: SuppressionSummaryView | null;
}

function suppressionOf(r: FindingRow): SuppressionSummaryView | null {
  if (r.suppression_id === null || r.suppression_kind === null || r.suppression_scope_type === null) {
    return null;
  }
  return {
    id: r.suppression_id,
    kind: r.suppression_kind,
    reason: r.suppression_reason ?? "",
    owner: r.suppression_owner ?? "",
    justification: r.suppression_justification,
    expiresAt: r.suppression_expires_at?.toISOString() ?? null,
    scope: { type: r.suppression_scope_type, id: r.suppression_scope_id },
  };
}

export function findingView(r: FindingRow): FindingView {
  return {
    id: r.id,
    device: { id: r.device_id, hostname: r.hostname },
    vulnerability: {
      id: r.vulnerability_id,
      severity: r.vulnerability_severity,
      cvssScore: r.cvss_score,
      epss: r.epss,
      epssPercentile: r.epss_percentile,
      kev: r.kev,
    },
    severity: r.severity,
    package: { name: r.package_name, arch: r.package_arch },
    installedVersion: r.installed_version,
    fixedVersion: r.fixed_version,
    rangeStatus: r.range_status,
    status: r.status,
    risk: r.risk,
    firstSeenAt: r.first_seen_at.toISOString(),
    slaDueAt: r.sla_due_at.toISOString(),
    overdue: r.overdue,
    closedAt: r.closed_at?.toISOString() ?? null,
    // Only a finding that takes its status from a decision shows it (a fixed one keeps the link).
    suppression: r.status === "accepted_risk" || r.status === "false_positive" ? suppressionOf(r) : null,
  };
}
