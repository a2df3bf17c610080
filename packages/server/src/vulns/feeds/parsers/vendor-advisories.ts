/**
 * Normalised advisories from a CSAF or CVRF document: one per vulnerability, id
 * `<tracking id>/<CVE>` (or the CVE alone when the document is about that one CVE, as Red Hat's
 * VEX files and Microsoft's per-CVE documents are), the CVE in aliases so the knowledge base ties
 * it to the vulnerability. The composite id keeps two documents that fix one CVE from replacing
 * each other's ranges.
 */
import type {
  AffectedRange,
  CpeMatch,
  NormalizedAdvisory,
  ParseResult,
  RangeStatus,
  Severity,
  SkippedRecord,
} from "../model.js";
import { RecordError } from "./errors.js";
import { cveIdOrNull } from "./ids.js";
import { recordErrorMessage } from "./json.js";
import { emptyAdvisory, uniqueRanges, uniqueStrings } from "./records.js";
import { highestSeverity } from "./severity.js";
import type { ProductStatusKind, VendorDocument, VendorVulnerability } from "./vendor-document.js";
import { microsoftRanges } from "./vendor-microsoft.js";
import { genericProductMapping } from "./vendor-packages.js";
import { redHatRange } from "./vendor-redhat.js";

const STATUS: Readonly<Record<ProductStatusKind, RangeStatus | null>> = {
  first_affected: "affected",
  known_affected: "affected",
  last_affected: "affected",
  first_fixed: "fixed",
  fixed: "fixed",
  known_not_affected: "not_affected",
  under_investigation: "under_investigation",
  recommended: null, // a recommendation, not a statement about the vulnerability
};

/** An affected product with no fix can still be "will not fix", "deferred" or out of support. */
function refineStatus(
  status: RangeStatus,
  vulnerability: VendorVulnerability,
  productId: string,
): RangeStatus {
  if (status !== "affected") return status;
  for (const r of vulnerability.remediations) {
    if (!r.productIds.includes(productId)) continue;
    if (r.category === "no_fix_planned") return "will_not_fix";
    if (r.category === "none_available" && /deferred/i.test(r.details ?? "")) return "fix_deferred";
    if (r.category === "none_available" && /out of support/i.test(r.details ?? "")) return "end_of_life";
  }
  return status;
}

function productSeverity(vulnerability: VendorVulnerability, productId: string): Severity | null {
  return highestSeverity(
    vulnerability.severities.filter((s) => s.productIds.includes(productId)).map((s) => s.severity),
  );
}

/** Red Hat advisory id from the vendor fix that names the product, else the document's own id. */
function redHatAdvisoryId(
  doc: VendorDocument,
  vulnerability: VendorVulnerability,
  productId: string,
): string | null {
  for (const r of vulnerability.remediations) {
    if (r.category !== "vendor_fix" || !r.productIds.includes(productId)) continue;
    const id = /\b(RH[SBE]A-\d{4}:\d{4,})\b/.exec(r.url ?? "")?.[1];
    if (id !== undefined) return id;
  }
  return /^RH[SBE]A-\d{4}:\d{4,}$/.test(doc.trackingId) ? doc.trackingId : null;
}

interface Mapped {
  ranges: AffectedRange[];
  cpeMatches: CpeMatch[];
}

function mapProduct(
  doc: VendorDocument,
  vulnerability: VendorVulnerability,
  kind: ProductStatusKind,
  productId: string,
  out: Mapped,
) {
  const base = STATUS[kind];
  if (base === null) return;
  const status = refineStatus(base, vulnerability, productId);
  const vendorSeverity = productSeverity(vulnerability, productId);
  if (doc.convention === "redhat") {
    const advisoryId = redHatAdvisoryId(doc, vulnerability, productId);
    out.ranges.push(redHatRange(doc, productId, { status, advisoryId, vendorSeverity }));
    return;
  }
  const product =
    doc.products.get(productId) ?? doc.products.get(doc.relationships.get(productId)?.componentId ?? "");
  if (product === undefined)
    throw new RecordError(`product ${productId.slice(0, 120)} is not in the product tree`);
  if (doc.convention === "microsoft") {
    const fixes = vulnerability.remediations.filter(
      (r) => r.category === "vendor_fix" && r.productIds.includes(productId),
    );
    out.ranges.push(...microsoftRanges({ name: product.name, status, vendorSeverity }, fixes));
    return;
  }
  const mapping = genericProductMapping(product, kind, status, vendorSeverity);
  if (mapping.kind === "range") out.ranges.push(mapping.range);
  else out.cpeMatches.push(mapping.match);
}

function advisoryOf(
  doc: VendorDocument,
  vulnerability: VendorVulnerability,
  skipped: SkippedRecord[],
): NormalizedAdvisory {
  const cve = vulnerability.cve === null ? null : cveIdOrNull(vulnerability.cve);
  if (cve === null) throw new RecordError("no CVE id, so the vulnerability cannot be tied to one");
  const id = doc.trackingId === cve ? cve : `${doc.trackingId}/${cve}`;
  const mapped: Mapped = { ranges: [], cpeMatches: [] };
  const seen = new Set<string>();
  for (const { kind, productIds } of vulnerability.statuses) {
    for (const productId of productIds) {
      // first_fixed products are usually listed under fixed too; map each product and status once.
      const key = `${STATUS[kind]}\t${productId}`;
      if (seen.has(key)) continue;
      seen.add(key);
      try {
        mapProduct(doc, vulnerability, kind, productId, mapped);
      } catch (error) {
        skipped.push({ record: `${id} ${productId.slice(0, 120)}`, reason: recordErrorMessage(error) });
      }
    }
  }
  if (mapped.ranges.length === 0 && mapped.cpeMatches.length === 0) {
    throw new RecordError("no product in it could be mapped to a package, KB update or CPE");
  }
  const overall = vulnerability.severities.filter((s) => s.productIds.length === 0).map((s) => s.severity);
  return {
    ...emptyAdvisory(doc.format, id),
    aliases: id === cve ? [] : [cve],
    publishedAt: vulnerability.releaseDate ?? doc.initialReleaseDate,
    modifiedAt: doc.currentReleaseDate,
    summary: vulnerability.title,
    description: vulnerability.description,
    cvssV3: vulnerability.cvssV3,
    cvssV4: vulnerability.cvssV4,
    severity:
      highestSeverity(overall) ??
      highestSeverity(vulnerability.severities.map((s) => s.severity)) ??
      doc.aggregateSeverity,
    cwes: uniqueStrings(vulnerability.cwes),
    references: vulnerability.references,
    affected: uniqueRanges(mapped.ranges),
    cpeMatches: mapped.cpeMatches,
  };
}

export function advisoriesOfDocument(
  doc: VendorDocument,
  skipped: SkippedRecord[] = [],
): ParseResult<NormalizedAdvisory> {
  const records: NormalizedAdvisory[] = [];
  for (const vulnerability of doc.vulnerabilities) {
    try {
      records.push(advisoryOf(doc, vulnerability, skipped));
    } catch (error) {
      const label = vulnerability.cve ?? `vulnerabilities[${vulnerability.position}]`;
      skipped.push({ record: `${doc.trackingId} ${label.slice(0, 80)}`, reason: recordErrorMessage(error) });
    }
  }
  return { records, skipped };
}
