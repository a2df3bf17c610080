/**
 * The common shape CSAF 2.0 JSON and CVRF 1.1/1.2 XML are both read into: CVRF is CSAF's
 * predecessor and says the same things (a product tree, per-vulnerability product statuses,
 * remediations, threats and scores) with other spellings. csaf.ts and cvrf.ts fill this in;
 * vendor-advisories.ts turns it into normalised advisories once, for both.
 */
import type { CvssScore, Severity } from "../model.js";

export type ProductStatusKind =
  | "first_affected"
  | "known_affected"
  | "last_affected"
  | "first_fixed"
  | "fixed"
  | "known_not_affected"
  | "under_investigation"
  | "recommended";

export interface BranchStep {
  /** CSAF branch category (vendor, product_family, product_name, product_version, architecture, …). */
  category: string;
  name: string;
}

export interface VendorProduct {
  id: string;
  name: string;
  /** The branches above the product, outermost first; empty for full_product_names. */
  branches: BranchStep[];
  purl: string | null;
  cpe: string | null;
}

/** "component is default_component_of platform", naming the combined product `id`. */
export interface VendorRelationship {
  id: string;
  category: string;
  componentId: string;
  platformId: string;
}

export interface VendorRemediation {
  /** CSAF category: vendor_fix, workaround, mitigation, no_fix_planned, none_available, … */
  category: string;
  productIds: string[];
  details: string | null;
  url: string | null;
  /** Microsoft: the build the update brings the product to (CVRF FixedBuild). */
  fixedBuild: string | null;
  /** Microsoft: the KB updates this one replaces, as written (CVRF Supercedence). */
  supersedence: string | null;
}

export interface ProductSeverity {
  severity: Severity;
  /** Empty: applies to the whole vulnerability. */
  productIds: string[];
}

export interface VendorVulnerability {
  /** Position in the document, for skip reports. */
  position: number;
  cve: string | null;
  title: string | null;
  description: string | null;
  statuses: { kind: ProductStatusKind; productIds: string[] }[];
  remediations: VendorRemediation[];
  severities: ProductSeverity[];
  cvssV3: CvssScore | null;
  cvssV4: CvssScore | null;
  cwes: string[];
  references: string[];
  releaseDate: string | null;
}

export type VendorConvention = "redhat" | "microsoft" | "generic";

export interface VendorDocument {
  format: "csaf" | "cvrf";
  trackingId: string;
  convention: VendorConvention;
  initialReleaseDate: string | null;
  currentReleaseDate: string | null;
  aggregateSeverity: Severity | null;
  products: ReadonlyMap<string, VendorProduct>;
  relationships: ReadonlyMap<string, VendorRelationship>;
  vulnerabilities: VendorVulnerability[];
}

/** Which vendor's conventions apply, from the publisher and the top-level vendor branches. */
export function conventionOf(publisher: string, vendors: readonly string[]): VendorConvention {
  const names = [publisher, ...vendors].map((n) => n.toLowerCase());
  if (names.some((n) => n.includes("red hat") || n.includes("redhat"))) return "redhat";
  if (names.some((n) => n.includes("microsoft"))) return "microsoft";
  return "generic";
}

/** Product ids named directly plus those of the named groups, each once. */
export function expandGroups(
  productIds: readonly string[],
  groupIds: readonly string[],
  groups: ReadonlyMap<string, readonly string[]>,
): string[] {
  return [...new Set([...productIds, ...groupIds.flatMap((g) => groups.get(g) ?? [])])];
}
