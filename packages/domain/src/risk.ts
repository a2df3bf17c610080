/** How bad a vulnerability is, on the scale the sources share. */
export const SEVERITIES = ["critical", "high", "medium", "low", "negligible", "unknown"] as const;
export type Severity = (typeof SEVERITIES)[number];

/** How much a device matters to the organisation (its tag, set by operators). */
export type Criticality = "low" | "medium" | "high" | "critical";

/** CVSS v3/v4 qualitative rating of a base score (FIRST's table). */
export function severityFromCvss(score: number | null): Severity {
  if (score === null || Number.isNaN(score)) return "unknown";
  if (score >= 9) return "critical";
  if (score >= 7) return "high";
  if (score >= 4) return "medium";
  if (score > 0) return "low";
  return "negligible";
}

/** A base score for a vulnerability the sources rate but do not score. */
const SCORE_OF_SEVERITY: Record<Severity, number> = {
  critical: 9.5,
  high: 7.5,
  medium: 5,
  low: 2.5,
  negligible: 0.5,
  unknown: 5,
};

const EXPOSURE: Record<Criticality, number> = { low: 0.8, medium: 1, high: 1.2, critical: 1.4 };

export interface RiskInputs {
  /** CVSS base score (v4 preferred, else v3), or null. */
  cvss: number | null;
  severity: Severity;
  /** EPSS percentile (0–1): how likely exploitation is, relative to all CVEs; null when unknown. */
  epssPercentile: number | null;
  /** In CISA's Known Exploited Vulnerabilities catalogue: exploitation is certain. */
  kev: boolean;
  criticality: Criticality;
}

/**
 * Risk, 0–100: impact × likelihood × exposure.
 *   impact     = CVSS base score × 10 (or the severity's typical score when there is none)
 *   likelihood = 0.5 + 0.5 × p, where p = 1 for KEV, else the EPSS percentile (0.5 when unknown)
 *   exposure   = 0.8, 1, 1.2 or 1.4 for a low, medium, high or critical device
 * capped at 100 and rounded to one decimal. A KEV critical on a critical server tops the list; a
 * medium nobody exploits on a lab machine sinks, whatever its raw CVSS.
 */
export function riskScore(input: RiskInputs): number {
  const impact = (input.cvss ?? SCORE_OF_SEVERITY[input.severity]) * 10;
  const p = input.kev ? 1 : (input.epssPercentile ?? 0.5);
  const likelihood = 0.5 + 0.5 * Math.min(1, Math.max(0, p));
  const risk = Math.min(100, impact * likelihood * EXPOSURE[input.criticality]);
  return Math.round(risk * 10) / 10;
}

export interface SlaSettings {
  critical: number;
  high: number;
  medium: number;
  low: number;
}

/** Cyber Essentials: critical and high within 14 days. */
export const DEFAULT_SLA_DAYS: SlaSettings = { critical: 14, high: 14, medium: 30, low: 90 };

/** Days a finding of this severity may stay open; negligible and unknown count as low and medium. */
export function slaDays(severity: Severity, settings: SlaSettings = DEFAULT_SLA_DAYS): number {
  switch (severity) {
    case "critical":
      return settings.critical;
    case "high":
      return settings.high;
    case "medium":
    case "unknown":
      return settings.medium;
    default:
      return settings.low;
  }
}
