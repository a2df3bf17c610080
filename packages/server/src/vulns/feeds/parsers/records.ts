/**
 * Building blocks for normalised records: an empty advisory to fill in, ranges with defaults,
 * version validation against the domain's comparators, and merging the records that several
 * files (or several packages of one file) give for one id.
 */
import { isValidVersion } from "@patchpilot/domain";
import type { AffectedRange, FeedSource, NormalizedAdvisory, RangeEcosystem } from "../model.js";
import { RecordError } from "./errors.js";

export function emptyAdvisory(source: FeedSource, id: string): NormalizedAdvisory {
  return {
    source,
    id,
    aliases: [],
    publishedAt: null,
    modifiedAt: null,
    withdrawn: false,
    summary: null,
    description: null,
    cvssV3: null,
    cvssV4: null,
    severity: null,
    cwes: [],
    references: [],
    affected: [],
    cpeMatches: [],
  };
}

type RangeIdentity = Pick<AffectedRange, "ecosystem" | "release" | "packageName" | "packageScope" | "status">;

/** A range with every optional part empty, then `fields` on top. */
export function makeRange(fields: RangeIdentity & Partial<AffectedRange>): AffectedRange {
  return {
    introduced: null,
    fixed: null,
    lastAffected: null,
    versions: [],
    advisoryId: null,
    vendorSeverity: null,
    supersedes: [],
    ...fields,
  };
}

/** Why `version` cannot be used in `ecosystem`, or null when the ecosystem's comparator accepts it. */
export function versionProblem(ecosystem: RangeEcosystem, version: string): string | null {
  return isValidVersion(ecosystem, version) ? null : `version ${version} is not a valid ${ecosystem} version`;
}

/** Throws a RecordError when any version set on `range` is refused by its ecosystem's comparator. */
export function assertRangeVersions(range: AffectedRange): void {
  const versions = [range.introduced, range.fixed, range.lastAffected, ...range.versions];
  for (const version of versions) {
    if (version === null) continue;
    const problem = versionProblem(range.ecosystem, version);
    if (problem !== null) throw new RecordError(problem);
  }
}

function rangeKey(range: AffectedRange): string {
  return JSON.stringify([
    range.ecosystem,
    range.release,
    range.packageName,
    range.packageScope,
    range.introduced,
    range.fixed,
    range.lastAffected,
    range.versions,
    range.status,
    range.advisoryId,
    range.vendorSeverity,
    range.supersedes,
  ]);
}

/** Ranges without exact duplicates, first occurrence kept. */
export function uniqueRanges(ranges: readonly AffectedRange[]): AffectedRange[] {
  const seen = new Map<string, AffectedRange>();
  for (const range of ranges) {
    const key = rangeKey(range);
    if (!seen.has(key)) seen.set(key, range);
  }
  return [...seen.values()];
}

export function uniqueStrings(values: Iterable<string>, exclude?: string): string[] {
  const set = new Set(values);
  if (exclude !== undefined) set.delete(exclude);
  return [...set];
}

/**
 * One advisory per id: the affected ranges, aliases, references, CWEs and CPE matches of records
 * with the same id are united; for single-valued fields the first record that has a value wins,
 * and a record counts as withdrawn only when every part of it is.
 */
export function mergeAdvisoriesById(advisories: readonly NormalizedAdvisory[]): NormalizedAdvisory[] {
  const byId = new Map<string, NormalizedAdvisory>();
  for (const next of advisories) {
    const prev = byId.get(next.id);
    if (prev === undefined) {
      byId.set(next.id, next);
      continue;
    }
    byId.set(next.id, {
      ...prev,
      aliases: uniqueStrings([...prev.aliases, ...next.aliases], prev.id),
      publishedAt: prev.publishedAt ?? next.publishedAt,
      modifiedAt: laterTimestamp(prev.modifiedAt, next.modifiedAt),
      withdrawn: prev.withdrawn && next.withdrawn,
      summary: prev.summary ?? next.summary,
      description: prev.description ?? next.description,
      cvssV3: prev.cvssV3 ?? next.cvssV3,
      cvssV4: prev.cvssV4 ?? next.cvssV4,
      severity: prev.severity ?? next.severity,
      cwes: uniqueStrings([...prev.cwes, ...next.cwes]),
      references: uniqueStrings([...prev.references, ...next.references]),
      affected: uniqueRanges([...prev.affected, ...next.affected]),
      cpeMatches: uniqueByJson([...prev.cpeMatches, ...next.cpeMatches]),
    });
  }
  return [...byId.values()];
}

function laterTimestamp(a: string | null, b: string | null): string | null {
  if (a === null || b === null) return a ?? b;
  return Date.parse(b) > Date.parse(a) ? b : a;
}

function uniqueByJson<T>(items: readonly T[]): T[] {
  const seen = new Map<string, T>();
  for (const item of items) {
    const key = JSON.stringify(item);
    if (!seen.has(key)) seen.set(key, item);
  }
  return [...seen.values()];
}
