import { productPurl } from "./purl.js";

/** The organisation's findings of one vulnerability in one installed package version, grouped. */
export interface PackageGroup {
  vulnerability_id: string;
  ecosystem: string;
  release: string;
  name: string;
  version: string;
  arch: string;
  open: boolean;
  investigating: boolean;
  accepted: boolean;
  fixed_version: string | null;
  range_status: string | null;
  suppression_ids: string[] | null;
}

export type VexStatus = "not_affected" | "affected" | "fixed" | "under_investigation";

export interface VexStatement {
  vulnerability: { name: string };
  products: { "@id": string; identifiers: { purl: string } }[];
  status: VexStatus;
  justification?: string;
  impact_statement?: string;
  action_statement?: string;
  status_notes?: string;
}

export interface Decision {
  kind: string;
  justification: string | null;
  reason: string;
  owner: string;
  expires_at: Date | null;
}

function day(date: Date | null): string {
  return date ? date.toISOString().slice(0, 10) : "further notice";
}

/** What to do about a package that is affected: the fix, or why there is none. */
function remedy(group: PackageGroup): string {
  if (group.fixed_version !== null) return `Update ${group.name} to ${group.fixed_version}`;
  switch (group.range_status) {
    case "will_not_fix":
      return "No fix is available: the distribution will not fix it in this release";
    case "end_of_life":
      return "No fix is available: the release is end of life; move to a supported release";
    case "fix_deferred":
      return "No fix is available yet: the distribution has deferred it";
    default:
      return "No fix is available yet";
  }
}

/**
 * The statement for one vulnerability in one installed package version, from what the
 * organisation's findings of it say, the strongest first: still open on some device (affected, or
 * under investigation where the source has not decided), then an accepted risk (affected: the
 * risk is known and carried), then false positives (not affected, with the reason given).
 * "Affected, no fix yet" and "not affected" are never the same statement.
 */
export function vexStatement(group: PackageGroup, decisions: readonly Decision[]): VexStatement {
  const purl = productPurl(group);
  const base = {
    vulnerability: { name: group.vulnerability_id },
    products: [{ "@id": purl, identifiers: { purl } }],
  };
  if (group.open && group.investigating) {
    return {
      ...base,
      status: "under_investigation",
      status_notes: "The source has not yet said whether it is affected",
    };
  }
  if (group.open) return { ...base, status: "affected", action_statement: remedy(group) };
  const accepted = decisions.filter((d) => d.kind === "accepted_risk");
  if (group.accepted || accepted.length > 0) {
    const terms = accepted
      .map((d) => `Risk accepted by ${d.owner} until ${day(d.expires_at)}: ${d.reason}`)
      .join("; ");
    return {
      ...base,
      status: "affected",
      action_statement: `${terms || "Risk accepted"}. ${remedy(group)}`,
    };
  }
  const dismissed = decisions.find((d) => d.kind === "false_positive");
  const justified = decisions.find((d) => d.kind === "false_positive" && d.justification !== null);
  return {
    ...base,
    status: "not_affected",
    ...(justified?.justification ? { justification: justified.justification } : {}),
    impact_statement: dismissed?.reason ?? "Marked as a false positive",
  };
}
