import { comparatorFor } from "@patchpilot/domain";
import type { Selectable } from "kysely";
import type { CpeMatchesTable } from "../../db/schema.js";
import type { MatchableSoftware, SoftwareMatch } from "./advisory-index.js";

/** One NVD CPE match criterion, as the matcher holds it. */
export interface IndexedCpe {
  vulnerabilityId: string;
  vendor: string;
  version: string | null;
  startIncluding: string | null;
  startExcluding: string | null;
  endIncluding: string | null;
  endExcluding: string | null;
}

export type CpeRow = Omit<Selectable<CpeMatchesTable>, "id" | "source" | "advisory_id">;

/** The ecosystems whose entries are programs named by people, matched by CPE: Windows and macOS. */
export const CPE_ECOSYSTEMS: ReadonlySet<string> = new Set(["windows", "macos"]);
/** The package key under which changed CPE criteria are reported: their product. */
export const CPE_KEY_ECOSYSTEM = "cpe";

// Maven's order is the most forgiving of the comparators (1.2, 1.2.0, 1.2-beta, 124.0.6367.91).
const order = comparatorFor("maven");

const NOISE = /^(?:x64|x86|amd64|arm64|64-bit|32-bit|bit|the|for|version|edition|\(x64\)|\(x86\))$/;

function words(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^a-z0-9+]+/)
    .filter((w) => w !== "" && !NOISE.test(w) && !/^\d+(?:\.\d+)*$/.test(w));
}

/**
 * The (vendor, product) pairs an installed program may be called in CPE terms: "Mozilla Firefox
 * (x64 en-US)" by Mozilla → mozilla:firefox; "Google Chrome" by Google LLC → google:chrome;
 * "7-Zip 23.01 (x64)" → 7-zip:7-zip. The vendor is the publisher's first word, or the name's.
 */
export function cpeCandidates(name: string, vendor: string | null): { vendor: string; product: string }[] {
  // Parentheses hold architecture and language ("(x64 en-US)"), never the product.
  const nameWords = words(name.replace(/\([^)]*\)/g, " "));
  if (nameWords.length === 0) return [];
  const publisher = vendor ? words(vendor)[0] : undefined;
  const vendors = new Set([publisher ?? nameWords[0] ?? ""]);
  const products = new Set([nameWords.join("_"), name.toLowerCase().trim().replace(/\s+/g, "_")]);
  for (const v of vendors)
    if (nameWords[0] === v && nameWords.length > 1) products.add(nameWords.slice(1).join("_"));
  const out: { vendor: string; product: string }[] = [];
  for (const v of vendors) for (const p of products) out.push({ vendor: v, product: p });
  return out;
}

function inRange(c: IndexedCpe, version: string): boolean {
  if (c.version !== null) return order.compare(version, c.version) === 0;
  if (c.startIncluding !== null && order.compare(version, c.startIncluding) < 0) return false;
  if (c.startExcluding !== null && order.compare(version, c.startExcluding) <= 0) return false;
  if (c.endIncluding !== null && order.compare(version, c.endIncluding) > 0) return false;
  if (c.endExcluding !== null && order.compare(version, c.endExcluding) >= 0) return false;
  return true;
}

/**
 * NVD's CPE criteria by product, for programs that no package manager describes: a Windows
 * program or a macOS application is vulnerable when its vendor and product match a criterion and
 * its version is in the criterion's range. Names are matched exactly after normalising, never by
 * similarity: a miss is better than a finding nobody can explain.
 */
export class CpeIndex {
  #byProduct = new Map<string, IndexedCpe[]>();

  get size(): number {
    let n = 0;
    for (const list of this.#byProduct.values()) n += list.length;
    return n;
  }

  static from(rows: Iterable<CpeRow>): CpeIndex {
    const index = new CpeIndex();
    index.add(rows);
    return index;
  }

  add(rows: Iterable<CpeRow>): void {
    for (const r of rows) {
      let list = this.#byProduct.get(r.product);
      if (!list) {
        list = [];
        this.#byProduct.set(r.product, list);
      }
      list.push({
        vulnerabilityId: r.vulnerability_id,
        vendor: r.vendor,
        version: r.version,
        startIncluding: r.version_start_including,
        startExcluding: r.version_start_excluding,
        endIncluding: r.version_end_including,
        endExcluding: r.version_end_excluding,
      });
    }
  }

  /** Replaces what the index holds for these products with `rows`. */
  replace(products: readonly string[], rows: readonly CpeRow[]): void {
    for (const p of products) this.#byProduct.delete(p);
    this.add(rows);
  }

  match(s: MatchableSoftware & { vendor?: string | null }): SoftwareMatch[] {
    if (!CPE_ECOSYSTEMS.has(s.ecosystem)) return [];
    const found = new Map<string, SoftwareMatch>();
    for (const candidate of cpeCandidates(s.name, s.vendor ?? null)) {
      for (const c of this.#byProduct.get(candidate.product) ?? []) {
        if (c.vendor !== candidate.vendor || found.has(c.vulnerabilityId)) continue;
        let hit: boolean;
        try {
          hit = inRange(c, s.version);
        } catch {
          continue;
        }
        if (!hit) continue;
        found.set(c.vulnerabilityId, {
          vulnerabilityId: c.vulnerabilityId,
          fixedVersion: c.endExcluding,
          rangeStatus: c.endExcluding !== null ? "fixed" : "affected",
          vendorAdvisory: null,
          vendorSeverity: null,
        });
      }
    }
    return [...found.values()];
  }
}
