/**
 * CVRF 1.1/1.2 XML (ICASI/OASIS; the format of MSRC's CVRF API and older Red Hat advisories),
 * read into the same vendor document shape as CSAF and mapped the same way. Namespace prefixes are
 * dropped (cvrf:, vuln:, prod:), so 1.1 and 1.2 documents read alike. MSRC adds FixedBuild and
 * Supercedence to each remediation; both are taken when present.
 */
import { XMLParser, XMLValidator } from "fast-xml-parser";
import type { CvssScore, NormalizedAdvisory, ParseResult, SkippedRecord } from "../model.js";
import { cvssV3BaseScore } from "./cvss.js";
import { FeedFormatError, RecordError } from "./errors.js";
import { CWE_ID, timestampOrNull } from "./ids.js";
import { isObject, type JsonObject, recordErrorMessage } from "./json.js";
import { severityFromWord } from "./severity.js";
import { httpUrls, MAX_DESCRIPTION, MAX_NAME, MAX_SUMMARY, textOrNull } from "./text.js";
import { advisoriesOfDocument } from "./vendor-advisories.js";
import {
  type BranchStep,
  conventionOf,
  expandGroups,
  type ProductStatusKind,
  type VendorProduct,
  type VendorRelationship,
  type VendorRemediation,
  type VendorVulnerability,
} from "./vendor-document.js";

const FORMAT = "CVRF XML document";
const REPEATED = new Set([
  "Branch",
  "FullProductName",
  "Relationship",
  "Group",
  "ProductID",
  "GroupID",
  "Vulnerability",
  "Status",
  "Threat",
  "ScoreSet",
  "Remediation",
  "Reference",
  "Note",
  "CWE",
]);
const STATUS_TYPES: ReadonlyMap<string, ProductStatusKind> = new Map([
  ["First Affected", "first_affected"],
  ["Known Affected", "known_affected"],
  ["Known Not Affected", "known_not_affected"],
  ["First Fixed", "first_fixed"],
  ["Fixed", "fixed"],
  ["Recommended", "recommended"],
  ["Last Affected", "last_affected"],
]);
const REMEDIATION_TYPES: ReadonlyMap<string, string> = new Map([
  ["Vendor Fix", "vendor_fix"],
  ["Workaround", "workaround"],
  ["Mitigation", "mitigation"],
  ["Will Not Fix", "no_fix_planned"],
  ["None Available", "none_available"],
]);

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@",
  removeNSPrefix: true,
  parseTagValue: false, // "5034441" and "1.0" stay text
  parseAttributeValue: false,
  isArray: (name) => REPEATED.has(name),
  processEntities: { enabled: true, maxTotalExpansions: 1_000, maxExpandedLength: 100_000 },
});

/** The child elements named `name` (always a list, thanks to isArray for repeated ones). */
function children(node: unknown, name: string): JsonObject[] {
  if (!isObject(node)) return [];
  const value = node[name];
  const list = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return list.map((item) => (isObject(item) ? item : { "#text": item }));
}

function child(node: unknown, name: string): JsonObject | undefined {
  return children(node, name)[0];
}

/** An element's text (or an attribute's value), cleaned; null when absent. */
function text(node: unknown, name?: string): string | null {
  const value = name === undefined ? node : isObject(node) ? node[name] : undefined;
  const raw = isObject(value) ? value["#text"] : Array.isArray(value) ? undefined : value;
  if (typeof raw === "string") return textOrNull(raw, MAX_DESCRIPTION);
  return typeof raw === "number" ? String(raw) : null;
}

function productIds(node: unknown, groups: ReadonlyMap<string, string[]>): string[] {
  const ids = (name: string) => children(node, name).flatMap((e) => text(e) ?? []);
  return expandGroups(ids("ProductID"), ids("GroupID"), groups);
}

function walkBranches(node: unknown, path: BranchStep[], products: Map<string, VendorProduct>): void {
  if (path.length >= 32) throw new RecordError("branches nested deeper than 32");
  for (const full of children(node, "FullProductName")) {
    const id = text(full, "@ProductID");
    if (id === null) continue;
    products.set(id, {
      id,
      name: textOrNull(text(full), MAX_NAME) ?? id,
      branches: path,
      purl: null,
      cpe: text(full, "@CPE"),
    });
  }
  for (const branch of children(node, "Branch")) {
    const category = (text(branch, "@Type") ?? "").toLowerCase().replace(/\s+/g, "_");
    walkBranches(branch, [...path, { category, name: text(branch, "@Name") ?? "" }], products);
  }
}

function readTree(tree: JsonObject | undefined) {
  const products = new Map<string, VendorProduct>();
  walkBranches(tree, [], products);
  const relationships = new Map<string, VendorRelationship>();
  for (const rel of children(tree, "Relationship")) {
    const full = child(rel, "FullProductName");
    const id = text(full, "@ProductID");
    const componentId = text(rel, "@ProductReference");
    const platformId = text(rel, "@RelatesToProductReference");
    if (id === null || componentId === null || platformId === null) continue;
    relationships.set(id, { id, category: text(rel, "@RelationType") ?? "", componentId, platformId });
    products.set(id, { id, name: text(full) ?? id, branches: [], purl: null, cpe: text(full, "@CPE") });
  }
  const groups = new Map<string, string[]>();
  for (const group of children(child(tree, "ProductGroups"), "Group")) {
    const id = text(group, "@GroupID");
    if (id !== null) groups.set(id, productIds(group, new Map()));
  }
  return { products, relationships, groups };
}

function readVulnerability(
  v: JsonObject,
  position: number,
  groups: ReadonlyMap<string, string[]>,
  skipped: SkippedRecord[],
): VendorVulnerability {
  const cve = text(v, "CVE");
  const notes = children(child(v, "Notes"), "Note");
  const note = (...types: string[]) =>
    types.map((t) => notes.find((n) => text(n, "@Type") === t)).find((n) => n !== undefined);
  const statuses = children(child(v, "ProductStatuses"), "Status").flatMap((s) => {
    // The CVRF 1.1 examples also write the status in a Status attribute instead of Type.
    const kind = STATUS_TYPES.get(text(s, "@Type") ?? text(s, "@Status") ?? "");
    return kind === undefined ? [] : [{ kind, productIds: productIds(s, groups) }];
  });
  const remediations: VendorRemediation[] = children(child(v, "Remediations"), "Remediation").map((r) => ({
    category: REMEDIATION_TYPES.get(text(r, "@Type") ?? "") ?? "",
    productIds: productIds(r, groups),
    details: text(r, "Description"),
    url: text(r, "URL"),
    fixedBuild: text(r, "FixedBuild"),
    supersedence: text(r, "Supercedence") ?? text(r, "Supersedence"),
  }));
  let cvssV3: CvssScore | null = null;
  for (const set of children(child(v, "CVSSScoreSets"), "ScoreSet")) {
    const vector = text(set, "Vector");
    if (cvssV3 !== null || vector === null || !vector.startsWith("CVSS:3")) continue; // v2 vectors have no place
    const result = cvssV3BaseScore(vector);
    if (result.ok) cvssV3 = result.score;
    else
      skipped.push({
        record: `${cve ?? `Vulnerability[${position}]`} CVSSScoreSets`,
        reason: result.problem,
      });
  }
  const cwes = children(v, "CWE").flatMap((c) =>
    [text(c, "@ID"), text(c)].filter((id): id is string => id !== null && CWE_ID.test(id)),
  );
  return {
    position,
    cve,
    title: textOrNull(text(v, "Title"), MAX_SUMMARY),
    description: textOrNull(text(note("Description", "General", "Summary")), MAX_DESCRIPTION),
    statuses,
    remediations,
    severities: children(child(v, "Threats"), "Threat").flatMap((t) => {
      const type = text(t, "@Type");
      const severity =
        type === "Impact" || type === "Severity" ? severityFromWord(text(t, "Description")) : null;
      return severity === null ? [] : [{ severity, productIds: productIds(t, groups) }];
    }),
    cvssV3,
    cvssV4: null,
    cwes: [...new Set(cwes)],
    references: httpUrls(children(child(v, "References"), "Reference").flatMap((r) => text(r, "URL") ?? [])),
    releaseDate: timestampOrNull(text(v, "ReleaseDate")),
  };
}

/** One CVRF document as XML text. FeedFormatError when it is not XML or has no cvrfdoc root. */
export function parseCvrfDocument(xml: string): ParseResult<NormalizedAdvisory> {
  const valid = XMLValidator.validate(xml);
  if (valid !== true)
    throw new FeedFormatError(FORMAT, `the text is not XML (${valid.err.msg}, line ${valid.err.line})`);
  const parsed: unknown = parser.parse(xml);
  const root = isObject(parsed) ? parsed.cvrfdoc : undefined;
  if (!isObject(root)) throw new FeedFormatError(FORMAT, "no cvrfdoc root element");
  const tracking = child(root, "DocumentTracking");
  const trackingId = text(child(tracking, "Identification"), "ID");
  if (trackingId === null) throw new FeedFormatError(FORMAT, "DocumentTracking/Identification/ID is missing");
  const skipped: SkippedRecord[] = [];
  let tree: ReturnType<typeof readTree>;
  try {
    tree = readTree(child(root, "ProductTree"));
  } catch (error) {
    skipped.push({ record: `${trackingId} ProductTree`, reason: recordErrorMessage(error) });
    return { records: [], skipped };
  }
  const publisher = child(root, "DocumentPublisher");
  const publisherText = [
    text(publisher, "@VendorID"),
    text(publisher, "ContactDetails"),
    text(publisher, "IssuingAuthority"),
  ].join(" ");
  const vendors = children(child(root, "ProductTree"), "Branch").flatMap((b) =>
    text(b, "@Type") === "Vendor" ? (text(b, "@Name") ?? []) : [],
  );
  const vulnerabilities: VendorVulnerability[] = [];
  children(root, "Vulnerability").forEach((v, i) => {
    try {
      vulnerabilities.push(readVulnerability(v, i, tree.groups, skipped));
    } catch (error) {
      skipped.push({
        record: `${trackingId.slice(0, 100)} Vulnerability[${i}]`,
        reason: recordErrorMessage(error),
      });
    }
  });
  return advisoriesOfDocument(
    {
      format: "cvrf",
      trackingId: trackingId.slice(0, 100),
      convention: conventionOf(publisherText, vendors),
      initialReleaseDate: timestampOrNull(text(tracking, "InitialReleaseDate")),
      currentReleaseDate: timestampOrNull(text(tracking, "CurrentReleaseDate")),
      aggregateSeverity: severityFromWord(text(root, "AggregateSeverity")),
      products: tree.products,
      relationships: tree.relationships,
      vulnerabilities,
    },
    skipped,
  );
}
