import {
  comparatorFor,
  isVersionEcosystem,
  type PreparedVersion,
  type VersionComparator,
} from "@patchpilot/domain";
import { type Selectable, sql } from "kysely";
import type { Database } from "../../db/database.js";
import type { AffectedRangesTable } from "../../db/schema.js";
import type { PackageKey } from "../knowledge-base/store-advisories.js";
import { CPE_KEY_ECOSYSTEM, CpeIndex } from "./cpe-index.js";

/** One affected range, as the matcher holds it. */
export interface IndexedRange {
  id: number;
  vulnerabilityId: string;
  scope: "source" | "binary";
  introduced: string | null;
  fixed: string | null;
  lastAffected: string | null;
  versions: ReadonlySet<string> | null;
  status: string;
  vendorAdvisory: string | null;
  vendorSeverity: string | null;
}

/** What a catalogue entry is, for matching. */
export interface MatchableSoftware {
  ecosystem: string;
  release: string;
  name: string;
  version: string;
  sourceName: string | null;
  sourceVersion: string | null;
  /** The publisher, for programs matched by CPE. */
  vendor?: string | null;
}

/** A vulnerability an entry has, and what would fix it. */
export interface SoftwareMatch {
  vulnerabilityId: string;
  /** The version that fixes it here; null: no fix yet. */
  fixedVersion: string | null;
  rangeStatus: string;
  vendorAdvisory: string | null;
  vendorSeverity: string | null;
}

const NEVER_AFFECTED = new Set(["not_affected"]);

// Releases whose packages follow another's advisories (CentOS was rebuilt from RHEL sources).
const RELEASE_FALLBACKS: Readonly<Record<string, string>> = { centos: "rhel" };

function key(ecosystem: string, release: string, name: string): string {
  return `${ecosystem}\t${release}\t${name}`;
}

/** A range's bounds parsed by its ecosystem's comparator, once, on first use; null: one is not a version. */
interface PreparedBounds {
  introduced: PreparedVersion | null;
  fixed: PreparedVersion | null;
  lastAffected: PreparedVersion | null;
}

const prepared = new WeakMap<IndexedRange, PreparedBounds | null>();

function boundsOf(range: IndexedRange, comparator: VersionComparator): PreparedBounds | null {
  let bounds = prepared.get(range);
  if (bounds === undefined) {
    try {
      bounds = {
        introduced: range.introduced === null ? null : comparator.prepare(range.introduced),
        fixed: range.fixed === null ? null : comparator.prepare(range.fixed),
        lastAffected: range.lastAffected === null ? null : comparator.prepare(range.lastAffected),
      };
    } catch {
      bounds = null;
    }
    prepared.set(range, bounds);
  }
  return bounds;
}

/** The highest fixed and last-affected versions of a package's bounded ranges. */
interface Ceiling {
  fixed: PreparedVersion | null;
  lastAffected: PreparedVersion | null;
}

/** A package's ranges split for the common case, an installed version newer than every fix. */
interface RangeShape {
  /** Null: no shortcut (a bound the comparator refuses). */
  ceiling: Ceiling | null;
  /** Ranges a version past the ceiling can still be in: listed versions, no bound at all. */
  unbounded: IndexedRange[];
}

const shapes = new WeakMap<IndexedRange[], RangeShape>();

function isBounded(range: IndexedRange): boolean {
  return (
    NEVER_AFFECTED.has(range.status) ||
    ((range.versions === null || range.versions.size === 0) &&
      (range.fixed !== null || range.lastAffected !== null))
  );
}

function shapeOf(ranges: IndexedRange[], comparator: VersionComparator): RangeShape {
  let shape = shapes.get(ranges);
  if (shape) return shape;
  const unbounded: IndexedRange[] = [];
  let ceiling: Ceiling | null = { fixed: null, lastAffected: null };
  for (const range of ranges) {
    if (!isBounded(range)) {
      unbounded.push(range);
      continue;
    }
    if (NEVER_AFFECTED.has(range.status) || ceiling === null) continue;
    const bounds = boundsOf(range, comparator);
    if (bounds === null) {
      ceiling = null;
      continue;
    }
    if (
      bounds.fixed !== null &&
      (ceiling.fixed === null || comparator.comparePrepared(bounds.fixed, ceiling.fixed) > 0)
    )
      ceiling.fixed = bounds.fixed;
    if (
      bounds.lastAffected !== null &&
      (ceiling.lastAffected === null ||
        comparator.comparePrepared(bounds.lastAffected, ceiling.lastAffected) > 0)
    )
      ceiling.lastAffected = bounds.lastAffected;
  }
  shape = { ceiling, unbounded };
  shapes.set(ranges, shape);
  return shape;
}

/** Whether a version is at or past every fix and past every last affected version. */
function pastCeiling(version: PreparedVersion, ceiling: Ceiling, comparator: VersionComparator): boolean {
  if (ceiling.fixed !== null && comparator.comparePrepared(version, ceiling.fixed) < 0) return false;
  if (ceiling.lastAffected !== null && comparator.comparePrepared(version, ceiling.lastAffected) <= 0)
    return false;
  return true;
}

/**
 * Whether `version` (prepared by `comparator`) is in the range, in the ecosystem's own version
 * order. A range whose bounds the comparator refuses affects nothing.
 */
export function affects(
  range: IndexedRange,
  version: string,
  preparedVersion: PreparedVersion,
  comparator: VersionComparator,
): boolean {
  if (NEVER_AFFECTED.has(range.status)) return false;
  if (range.versions?.has(version)) return true;
  if (range.introduced === null && range.fixed === null && range.lastAffected === null) {
    // Only listed versions, or — with no list — every version (affected, no fix yet).
    return range.versions === null || range.versions.size === 0;
  }
  const bounds = boundsOf(range, comparator);
  if (bounds === null) return false;
  if (bounds.introduced !== null && comparator.comparePrepared(preparedVersion, bounds.introduced) < 0)
    return false;
  if (bounds.fixed !== null) return comparator.comparePrepared(preparedVersion, bounds.fixed) < 0;
  if (bounds.lastAffected !== null)
    return comparator.comparePrepared(preparedVersion, bounds.lastAffected) <= 0;
  return true;
}

/**
 * Every affected range of the knowledge base, in memory, by (ecosystem, release, package). It is
 * global, public data — the same for every organisation — and is reloaded when the knowledge
 * base's generation moves. Matching an entry is a map lookup and a few version comparisons.
 */
export class AdvisoryIndex {
  #ranges = new Map<string, IndexedRange[]>();
  #cpes = new CpeIndex();
  #generation = -1;
  #loading: Promise<void> | null = null;

  get generation(): number {
    return this.#generation;
  }

  /** Affected ranges held (CPE criteria not counted). */
  get size(): number {
    let n = 0;
    for (const list of this.#ranges.values()) n += list.length;
    return n;
  }

  get cpeSize(): number {
    return this.#cpes.size;
  }

  /** Loads the ranges if the knowledge base changed since the last load. */
  async refresh(db: Database): Promise<void> {
    while (this.#loading) await this.#loading;
    const current = await db.systemReader
      .selectFrom("knowledge_base_generation")
      .select("generation")
      .executeTakeFirst();
    const generation = current?.generation ?? 0;
    if (generation === this.#generation) return;
    this.#loading = this.#load(db, generation).finally(() => {
      this.#loading = null;
    });
    await this.#loading;
  }

  /**
   * Brings the index to `generation` when the only change since the one before it is known: the
   * ranges of these packages are read again, nothing else. Any other gap reloads everything.
   */
  async refreshPackages(db: Database, keys: readonly PackageKey[], generation: number): Promise<void> {
    while (this.#loading) await this.#loading;
    if (this.#generation >= generation) return;
    if (this.#generation !== generation - 1) return this.refresh(db);
    this.#loading = this.#loadPackages(db, keys, generation).finally(() => {
      this.#loading = null;
    });
    await this.#loading;
  }

  async #loadPackages(db: Database, all: readonly PackageKey[], generation: number): Promise<void> {
    const products = all.filter((k) => k.ecosystem === CPE_KEY_ECOSYSTEM).map((k) => k.packageName);
    const keys = all.filter((k) => k.ecosystem !== CPE_KEY_ECOSYSTEM);
    if (products.length > 0) {
      const rows = await cpeRows(db).where(sql<boolean>`product = ANY(${products}::text[])`).execute();
      this.#cpes.replace(products, rows);
    }
    const fresh = new Map<string, IndexedRange[]>();
    for (let i = 0; i < keys.length; i += 10_000) {
      const chunk = keys.slice(i, i + 10_000);
      const rows = await this.#rows(db)
        .where(
          sql<boolean>`(ecosystem, release, package_name) IN (
          SELECT * FROM unnest(${chunk.map((k) => k.ecosystem)}::text[], ${chunk.map((k) => k.release)}::text[],
                               ${chunk.map((k) => k.packageName)}::text[]))`,
        )
        .execute();
      for (const r of rows) addRange(fresh, r);
    }
    for (const k of keys) {
      const name = key(k.ecosystem, k.release, k.packageName);
      const list = fresh.get(name);
      if (list)
        this.#ranges.set(
          name,
          list.sort((a, b) => a.id - b.id),
        );
      else this.#ranges.delete(name);
    }
    this.#generation = generation;
  }

  #rows(db: Database) {
    return db.systemReader
      .selectFrom("affected_ranges")
      .select([
        "id",
        "vulnerability_id",
        "ecosystem",
        "release",
        "package_name",
        "package_scope",
        "introduced",
        "fixed",
        "last_affected",
        "versions",
        "status",
        "vendor_advisory",
        "vendor_severity",
      ]);
  }

  async #load(db: Database, generation: number): Promise<void> {
    const ranges = new Map<string, IndexedRange[]>();
    const CHUNK = 50_000;
    let after = 0;
    for (;;) {
      const rows = await this.#rows(db).where("id", ">", after).orderBy("id").limit(CHUNK).execute();
      for (const r of rows) addRange(ranges, r);
      if (rows.length < CHUNK) break;
      after = rows.at(-1)?.id ?? after;
    }
    const cpes = new CpeIndex();
    for (let after = 0; ; ) {
      const rows = await cpeRows(db)
        .select("id")
        .where("id", ">", after)
        .orderBy("id")
        .limit(CHUNK)
        .execute();
      cpes.add(rows);
      if (rows.length < CHUNK) break;
      after = rows.at(-1)?.id ?? after;
    }
    this.#ranges = ranges;
    this.#cpes = cpes;
    this.#generation = generation;
  }

  /** The vulnerabilities an entry has, one per vulnerability (the highest fix when sources differ). */
  match(s: MatchableSoftware): SoftwareMatch[] {
    if (!isVersionEcosystem(s.ecosystem)) return [];
    const comparator = comparatorFor(s.ecosystem);
    const releases = this.#releasesFor(s.release);
    const found = new Map<string, SoftwareMatch>();
    const consider = (
      ranges: IndexedRange[] | undefined,
      scope: "source" | "binary" | null,
      version: string,
    ) => {
      if (!ranges) return;
      let preparedVersion: PreparedVersion;
      try {
        preparedVersion = comparator.prepare(version);
      } catch {
        // A version the comparator refuses cannot be placed in any range.
        return;
      }
      // A version past every fix of the package is only checked against the ranges without one.
      const shape = shapeOf(ranges, comparator);
      const candidates =
        shape.ceiling !== null && pastCeiling(preparedVersion, shape.ceiling, comparator)
          ? shape.unbounded
          : ranges;
      for (const range of candidates) {
        if (scope !== null && range.scope !== scope) continue;
        if (!affects(range, version, preparedVersion, comparator)) continue;
        const previous = found.get(range.vulnerabilityId);
        if (!previous || higherFix(range.fixed, previous.fixedVersion, comparator)) {
          found.set(range.vulnerabilityId, {
            vulnerabilityId: range.vulnerabilityId,
            fixedVersion: range.fixed,
            rangeStatus: range.fixed !== null && range.status === "affected" ? "fixed" : range.status,
            vendorAdvisory: range.vendorAdvisory,
            vendorSeverity: range.vendorSeverity,
          });
        }
      }
    };
    for (const release of releases) {
      const sourceName = s.sourceName ?? s.name;
      const sourceVersion = s.sourceVersion ?? s.version;
      // Distribution advisories name source packages; others (and RHEL's binary packages) binary ones.
      consider(this.#ranges.get(key(s.ecosystem, release, sourceName)), "source", sourceVersion);
      consider(this.#ranges.get(key(s.ecosystem, release, s.name)), "binary", s.version);
      if (sourceName !== s.name)
        consider(this.#ranges.get(key(s.ecosystem, release, sourceName)), "binary", sourceVersion);
    }
    // Programs no package manager describes: NVD's CPE criteria, where no range already spoke.
    for (const m of this.#cpes.match(s)) if (!found.has(m.vulnerabilityId)) found.set(m.vulnerabilityId, m);
    return [...found.values()];
  }

  #releasesFor(release: string): string[] {
    const [distribution, version] = release.split(":");
    const fallback = distribution ? RELEASE_FALLBACKS[distribution] : undefined;
    // Language ecosystems' ranges have no release.
    return fallback && version ? [release, `${fallback}:${version}`, ""] : [release, ""];
  }
}

function cpeRows(db: Database) {
  return db.systemReader
    .selectFrom("cpe_matches")
    .select([
      "vulnerability_id",
      "vendor",
      "product",
      "version",
      "version_start_including",
      "version_start_excluding",
      "version_end_including",
      "version_end_excluding",
    ]);
}

type RangeRow = Omit<Selectable<AffectedRangesTable>, "source" | "advisory_id" | "supersedes">;

function addRange(ranges: Map<string, IndexedRange[]>, r: RangeRow): void {
  const k = key(r.ecosystem, r.release, r.package_name);
  let list = ranges.get(k);
  if (!list) {
    list = [];
    ranges.set(k, list);
  }
  list.push({
    id: r.id,
    vulnerabilityId: r.vulnerability_id,
    scope: r.package_scope === "binary" ? "binary" : "source",
    introduced: r.introduced,
    fixed: r.fixed,
    lastAffected: r.last_affected,
    versions: r.versions.length > 0 ? new Set(r.versions) : null,
    status: r.status,
    vendorAdvisory: r.vendor_advisory,
    vendorSeverity: r.vendor_severity,
  });
}

/** Whether fix `a` is later than fix `b` (no fix at all counts as the latest). */
function higherFix(a: string | null, b: string | null, comparator: VersionComparator): boolean {
  if (b === null) return false;
  if (a === null) return true;
  try {
    return comparator.compare(a, b) > 0;
  } catch {
    return false;
  }
}
