/**
 * CSAF 2.0 JSON documents (https://docs.oasis-open.org/csaf/csaf/v2.0/csaf-v2.0.html): security
 * advisories and VEX files. The product tree and each vulnerability are read into the shared
 * vendor document shape, then mapped by the publisher's conventions (vendor-advisories.ts).
 * Microsoft's supersedence and fixed build have no CSAF 2.0 field: they are taken from a
 * `supersedence`/`supercedence`/`fixed_build` property when a producer adds one, else from the
 * remediation's details text.
 */
import type { CvssScore, NormalizedAdvisory, ParseResult, SkippedRecord } from "../model.js";
import { cvssV3BaseScore, cvssV4FromSource } from "./cvss.js";
import { FeedFormatError, RecordError } from "./errors.js";
import { CWE_ID, timestampOrNull } from "./ids.js";
import {
  describeType,
  isObject,
  type JsonObject,
  objectArray,
  optionalNumber,
  optionalObject,
  optionalString,
  parseJsonInput,
  recordErrorMessage,
  stringArray,
} from "./json.js";
import { severityFromWord } from "./severity.js";
import { httpUrls, MAX_DESCRIPTION, MAX_NAME, MAX_SUMMARY, textOrNull } from "./text.js";
import { advisoriesOfDocument } from "./vendor-advisories.js";
import {
  type BranchStep,
  conventionOf,
  expandGroups,
  type ProductStatusKind,
  type VendorDocument,
  type VendorProduct,
  type VendorRelationship,
  type VendorRemediation,
  type VendorVulnerability,
} from "./vendor-document.js";

const FORMAT = "CSAF 2.0 document";
const MAX_DEPTH = 32;
const STATUS_KINDS: readonly ProductStatusKind[] = [
  "first_affected",
  "known_affected",
  "last_affected",
  "first_fixed",
  "fixed",
  "known_not_affected",
  "under_investigation",
  "recommended",
];

function readProduct(product: JsonObject, branches: BranchStep[]): VendorProduct {
  const id = optionalString(product, "product_id", "product.product_id");
  if (id === null || id === "") throw new RecordError("product without product_id");
  const helper = optionalObject(product, "product_identification_helper") ?? {};
  return {
    id,
    name: textOrNull(optionalString(product, "name"), MAX_NAME) ?? id,
    branches,
    purl: optionalString(helper, "purl"),
    cpe: optionalString(helper, "cpe"),
  };
}

function walkBranches(
  list: readonly JsonObject[],
  path: BranchStep[],
  products: Map<string, VendorProduct>,
  skipped: SkippedRecord[],
) {
  if (path.length >= MAX_DEPTH) throw new RecordError(`branches nested deeper than ${MAX_DEPTH}`);
  for (const branch of list) {
    try {
      const step = {
        category: optionalString(branch, "category") ?? "",
        name: optionalString(branch, "name") ?? "",
      };
      const here = [...path, step];
      const product = optionalObject(branch, "product");
      if (product !== null) {
        const read = readProduct(product, here);
        products.set(read.id, read);
      }
      walkBranches(objectArray(branch, "branches"), here, products, skipped);
    } catch (error) {
      skipped.push({
        record: `product_tree ${path.map((p) => p.name).join("/")}`,
        reason: recordErrorMessage(error),
      });
    }
  }
}

function readProductTree(tree: JsonObject, skipped: SkippedRecord[]) {
  const products = new Map<string, VendorProduct>();
  walkBranches(objectArray(tree, "branches", "product_tree.branches"), [], products, skipped);
  for (const product of objectArray(tree, "full_product_names", "product_tree.full_product_names")) {
    const read = readProduct(product, []);
    products.set(read.id, read);
  }
  const relationships = new Map<string, VendorRelationship>();
  for (const rel of objectArray(tree, "relationships", "product_tree.relationships")) {
    const full = optionalObject(rel, "full_product_name");
    const id = full === null ? null : optionalString(full, "product_id");
    const componentId = optionalString(rel, "product_reference");
    const platformId = optionalString(rel, "relates_to_product_reference");
    if (id === null || componentId === null || platformId === null) continue;
    relationships.set(id, { id, category: optionalString(rel, "category") ?? "", componentId, platformId });
  }
  const groups = new Map<string, string[]>();
  for (const group of objectArray(tree, "product_groups", "product_tree.product_groups")) {
    const id = optionalString(group, "group_id");
    if (id !== null) groups.set(id, stringArray(group, "product_ids"));
  }
  return { products, relationships, groups };
}

function readRemediation(r: JsonObject, groups: ReadonlyMap<string, string[]>): VendorRemediation {
  const extra = (...keys: string[]) => keys.map((k) => optionalString(r, k)).find((v) => v !== null) ?? null;
  return {
    category: optionalString(r, "category") ?? "",
    productIds: expandGroups(stringArray(r, "product_ids"), stringArray(r, "group_ids"), groups),
    details: textOrNull(optionalString(r, "details"), MAX_DESCRIPTION),
    url: optionalString(r, "url"),
    fixedBuild: extra("fixed_build", "fixedBuild", "FixedBuild"),
    supersedence: extra("supersedence", "supercedence", "Supersedence", "Supercedence"),
  };
}

function readScores(v: JsonObject, skipped: SkippedRecord[], label: string) {
  let cvssV3: CvssScore | null = null;
  let cvssV4: CvssScore | null = null;
  for (const score of objectArray(v, "scores")) {
    const v3 = optionalObject(score, "cvss_v3");
    const vector = v3 === null ? null : optionalString(v3, "vectorString");
    if (cvssV3 === null && vector !== null) {
      const result = cvssV3BaseScore(vector);
      if (result.ok) cvssV3 = result.score;
      else skipped.push({ record: label, reason: result.problem });
    }
    const v4 = optionalObject(score, "cvss_v4");
    if (cvssV4 === null && v4 !== null)
      cvssV4 = cvssV4FromSource(optionalString(v4, "vectorString"), optionalNumber(v4, "baseScore"));
  }
  return { cvssV3, cvssV4 };
}

function note(v: JsonObject, ...categories: string[]): string | null {
  const notes = objectArray(v, "notes");
  for (const category of categories) {
    const found = notes.find((n) => n.category === category);
    if (found !== undefined) return optionalString(found, "text");
  }
  return null;
}

function readVulnerability(
  v: JsonObject,
  position: number,
  groups: ReadonlyMap<string, string[]>,
  skipped: SkippedRecord[],
): VendorVulnerability {
  const cve = optionalString(v, "cve");
  const status = optionalObject(v, "product_status") ?? {};
  const cwe = optionalObject(v, "cwe");
  const cweId = cwe === null ? null : optionalString(cwe, "id");
  return {
    position,
    cve,
    title: textOrNull(optionalString(v, "title") ?? note(v, "summary"), MAX_SUMMARY),
    description: textOrNull(note(v, "description", "general", "summary"), MAX_DESCRIPTION),
    statuses: STATUS_KINDS.map((kind) => ({
      kind,
      productIds: stringArray(status, kind, `product_status.${kind}`),
    })),
    remediations: objectArray(v, "remediations").map((r) => readRemediation(r, groups)),
    severities: objectArray(v, "threats").flatMap((t) => {
      const severity = t.category === "impact" ? severityFromWord(optionalString(t, "details")) : null;
      const productIds = expandGroups(stringArray(t, "product_ids"), stringArray(t, "group_ids"), groups);
      return severity === null ? [] : [{ severity, productIds }];
    }),
    ...readScores(v, skipped, `${cve ?? `vulnerabilities[${position}]`} scores`),
    cwes: cweId !== null && CWE_ID.test(cweId) ? [cweId] : [],
    references: httpUrls(objectArray(v, "references").flatMap((r) => optionalString(r, "url") ?? [])),
    releaseDate: timestampOrNull(optionalString(v, "release_date")),
  };
}

/** One CSAF document (text or parsed). FeedFormatError when it has no CSAF document header. */
export function parseCsafDocument(input: unknown): ParseResult<NormalizedAdvisory> {
  const root = parseJsonInput(input, FORMAT);
  const document = isObject(root) ? root.document : undefined;
  if (!isObject(root) || !isObject(document))
    throw new FeedFormatError(FORMAT, `expected { document: {…} }, found ${describeType(root)}`);
  if (document.csaf_version !== "2.0")
    throw new FeedFormatError(FORMAT, `csaf_version is ${JSON.stringify(document.csaf_version)}, not "2.0"`);
  const tracking = isObject(document.tracking) ? document.tracking : {};
  const trackingId = typeof tracking.id === "string" ? textOrNull(tracking.id, 100) : null;
  if (trackingId === null) throw new FeedFormatError(FORMAT, "document.tracking.id is missing");
  const skipped: SkippedRecord[] = [];
  const tree = isObject(root.product_tree) ? root.product_tree : {};
  let productTree: ReturnType<typeof readProductTree>;
  try {
    productTree = readProductTree(tree, skipped);
  } catch (error) {
    skipped.push({ record: `${trackingId} product_tree`, reason: recordErrorMessage(error) });
    return { records: [], skipped };
  }
  const publisher =
    isObject(document.publisher) && typeof document.publisher.name === "string"
      ? document.publisher.name
      : "";
  const vendors = [...productTree.products.values()].flatMap((p) =>
    p.branches[0]?.category === "vendor" ? [p.branches[0].name] : [],
  );
  const vulnerabilities: VendorVulnerability[] = [];
  (Array.isArray(root.vulnerabilities) ? root.vulnerabilities : []).forEach((v: unknown, i: number) => {
    try {
      if (!isObject(v)) throw new RecordError(`expected an object, found ${describeType(v)}`);
      vulnerabilities.push(readVulnerability(v, i, productTree.groups, skipped));
    } catch (error) {
      skipped.push({ record: `${trackingId} vulnerabilities[${i}]`, reason: recordErrorMessage(error) });
    }
  });
  const aggregate = isObject(document.aggregate_severity) ? document.aggregate_severity.text : null;
  const doc: VendorDocument = {
    format: "csaf",
    trackingId,
    convention: conventionOf(publisher, [...new Set(vendors)]),
    initialReleaseDate: timestampOrNull(
      typeof tracking.initial_release_date === "string" ? tracking.initial_release_date : null,
    ),
    currentReleaseDate: timestampOrNull(
      typeof tracking.current_release_date === "string" ? tracking.current_release_date : null,
    ),
    aggregateSeverity: typeof aggregate === "string" ? severityFromWord(aggregate) : null,
    products: productTree.products,
    relationships: productTree.relationships,
    vulnerabilities,
  };
  return advisoriesOfDocument(doc, skipped);
}
