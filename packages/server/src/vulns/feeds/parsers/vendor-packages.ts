/**
 * Products of other vendors' CSAF/CVRF documents, identified by a package URL or a CPE. A purl of
 * a language ecosystem becomes a range at the product's exact version; a CPE becomes a CPE match
 * (which can only say "vulnerable", so only affected products are kept); a product with neither
 * cannot be matched against any inventory and is reported instead.
 */
import type { AffectedRange, CpeMatch, RangeEcosystem, RangeStatus } from "../model.js";
import { parseCpe } from "./cpe.js";
import { RecordError } from "./errors.js";
import { parsePurl } from "./purl.js";
import { assertRangeVersions, makeRange } from "./records.js";
import type { ProductStatusKind, VendorProduct } from "./vendor-document.js";

const PURL_ECOSYSTEMS: ReadonlyMap<string, RangeEcosystem> = new Map([
  ["npm", "npm"],
  ["pypi", "pypi"],
  ["maven", "maven"],
  ["golang", "go"],
  ["cargo", "cargo"],
  ["nuget", "nuget"],
]);

/** Names as each ecosystem's tools write them: maven group:artifact, Go and npm with their path. */
function packageName(type: string, namespace: string | null, name: string): string {
  if (namespace === null) return name;
  return type === "maven" ? `${namespace}:${name}` : `${namespace}/${name}`;
}

export type ProductMapping = { kind: "range"; range: AffectedRange } | { kind: "cpe"; match: CpeMatch };

/** The range or CPE match for one product in one status; RecordError when there is none. */
export function genericProductMapping(
  product: VendorProduct,
  kind: ProductStatusKind,
  status: RangeStatus,
  vendorSeverity: AffectedRange["vendorSeverity"],
): ProductMapping {
  if (product.purl !== null) {
    const purl = parsePurl(product.purl);
    const ecosystem = purl === null ? undefined : PURL_ECOSYSTEMS.get(purl.type);
    if (purl === null || ecosystem === undefined) {
      throw new RecordError(
        `product ${product.id}: purl ${product.purl.slice(0, 120)} is not in an ecosystem PatchPilot matches`,
      );
    }
    if (purl.version === null) throw new RecordError(`product ${product.id}: purl has no version`);
    const version = purl.version;
    const at =
      kind === "first_fixed" || kind === "fixed"
        ? { fixed: version }
        : kind === "last_affected"
          ? { lastAffected: version }
          : { versions: [version] };
    const range = makeRange({
      ecosystem,
      release: null,
      packageName: packageName(purl.type, purl.namespace, purl.name),
      packageScope: "binary",
      status,
      vendorSeverity,
      ...at,
    });
    assertRangeVersions(range);
    return { kind: "range", range };
  }
  if (product.cpe !== null) {
    const cpe = parseCpe(product.cpe);
    if (cpe === null)
      throw new RecordError(`product ${product.id}: unreadable CPE ${product.cpe.slice(0, 120)}`);
    if (status !== "affected")
      throw new RecordError(`product ${product.id}: a CPE can only be recorded as affected, not ${status}`);
    const match: CpeMatch = {
      criteria: product.cpe,
      vendor: cpe.vendor,
      product: cpe.product,
      version: cpe.version,
      versionStartIncluding: null,
      versionStartExcluding: null,
      versionEndIncluding: null,
      versionEndExcluding: null,
    };
    return { kind: "cpe", match };
  }
  throw new RecordError(
    `product ${product.id} ("${product.name.slice(0, 80)}") has no purl or CPE to match inventory by`,
  );
}
