import { createHash } from "node:crypto";
import { severityFromCvss } from "@patchpilot/domain";
import { sql } from "kysely";
import type { SystemTransaction } from "../../db/database.js";
import type { AffectedRange, NormalizedAdvisory } from "../feeds/model.js";
import { CPE_KEY_ECOSYSTEM } from "../matching/cpe-index.js";

const CVE = /^CVE-\d{4}-\d{4,}$/;

/** A package whose advisories changed: everything installed under this key is matched again. */
export interface PackageKey {
  ecosystem: string;
  release: string;
  packageName: string;
}

export function packageKeyString(k: PackageKey): string {
  return `${k.ecosystem}\t${k.release}\t${k.packageName}`;
}

export interface StoreOutcome {
  /** Advisories written (new or changed), and those skipped because they had not changed. */
  stored: number;
  unchanged: number;
  withdrawn: number;
  changedKeys: PackageKey[];
  /** What the written advisories are about now. */
  changedVulnerabilities: string[];
  /**
   * What the written and withdrawn advisories were and are about: only these vulnerabilities'
   * matches can have moved, so a re-match compares only theirs.
   */
  affectedVulnerabilities: string[];
}

/**
 * The vulnerabilities an advisory is about: its CVE ids (its own or its aliases), so that a DSA,
 * an OSV record and the NVD entry of one CVE are one vulnerability; an advisory with no CVE is its
 * own vulnerability (GHSA-…, GO-…).
 */
export function vulnerabilityIdsOf(advisory: NormalizedAdvisory): string[] {
  const cves = [advisory.id, ...advisory.aliases].filter((id) => CVE.test(id));
  return cves.length > 0 ? [...new Set(cves)] : [advisory.id];
}

/**
 * Writes a batch of one source's advisories into the knowledge base in set-based statements: the
 * vulnerabilities (merged with what other sources said), aliases, the advisory rows, and — for
 * advisories that are new or changed — their affected ranges and CPE matches, replacing the old.
 * Returns which packages' advisories changed, so only those are matched again.
 */
export async function storeAdvisories(
  tx: SystemTransaction,
  batch: readonly NormalizedAdvisory[],
): Promise<StoreOutcome> {
  const outcome: StoreOutcome = {
    stored: 0,
    unchanged: 0,
    withdrawn: 0,
    changedKeys: [],
    changedVulnerabilities: [],
    affectedVulnerabilities: [],
  };
  if (batch.length === 0) return outcome;
  // The last record wins when a batch names one advisory twice.
  const byId = new Map(batch.map((a) => [`${a.source}\t${a.id}`, a]));
  const advisories = [...byId.values()];
  const source = advisories[0]?.source ?? "";
  const existing = await tx.db
    .selectFrom("advisories")
    .select(["id", "digest", "modified_at", "vulnerability_ids"])
    .where("source", "=", source)
    .where(sql<boolean>`id = ANY(${advisories.map((a) => a.id)}::text[])`)
    .execute();
  // Whether a record changed is told by its content, not its modified time: the Debian tracker and
  // Alpine's secdb carry none, and a source may correct a record without touching it.
  // A record older than the one held (a stale mirror, an old bundle imported again) is not taken.
  const known = new Map(existing.map((r) => [r.id, r]));
  const digests = new Map(advisories.map((a) => [a.id, advisoryDigest(a)]));
  const changed = advisories.filter((a) => {
    const held = known.get(a.id);
    if (!held) return !a.withdrawn;
    const older =
      held.modified_at !== null &&
      a.modifiedAt !== null &&
      Date.parse(a.modifiedAt) < held.modified_at.getTime();
    return !older && (a.withdrawn || held.digest !== digests.get(a.id));
  });
  outcome.unchanged = advisories.length - changed.length;
  if (changed.length === 0) return outcome;

  // Only an advisory already held has ranges and CPE matches to replace (they go with its row); a
  // new one has none, so a cold load reads nothing back.
  const replacedIds = changed.filter((a) => known.has(a.id)).map((a) => a.id);
  const keys = new Map<string, PackageKey>();
  if (replacedIds.length > 0) {
    for (const k of await replacedPackageKeys(tx, source, replacedIds)) keys.set(packageKeyString(k), k);
    await tx.db
      .deleteFrom("advisories")
      .where("source", "=", source)
      .where(sql<boolean>`id = ANY(${replacedIds}::text[])`)
      .execute();
  }

  const live = changed.filter((a) => !a.withdrawn);
  outcome.withdrawn = changed.length - live.length;
  outcome.stored = live.length;
  const vulnerabilities = new Set<string>();
  for (const a of live) for (const v of vulnerabilityIdsOf(a)) vulnerabilities.add(v);
  const affected = new Set(vulnerabilities);
  for (const a of changed) for (const v of known.get(a.id)?.vulnerability_ids ?? []) affected.add(v);
  await upsertVulnerabilities(tx, live);
  await insertAliases(tx, live);
  await insertAdvisoryRows(tx, source, live, digests);
  for (const k of await insertRanges(tx, live)) keys.set(packageKeyString(k), k);
  for (const k of await insertCpeMatches(tx, live)) keys.set(packageKeyString(k), k);
  outcome.changedKeys = [...keys.values()];
  outcome.changedVulnerabilities = [...vulnerabilities];
  outcome.affectedVulnerabilities = [...affected];
  return outcome;
}

/** The packages and CPE products the held versions of these advisories name: they are matched again. */
async function replacedPackageKeys(
  tx: SystemTransaction,
  source: string,
  ids: readonly string[],
): Promise<PackageKey[]> {
  const ranges = await tx.db
    .selectFrom("affected_ranges")
    .select(["ecosystem", "release", "package_name"])
    .distinct()
    .where("source", "=", source)
    .where(sql<boolean>`advisory_id = ANY(${ids}::text[])`)
    .execute();
  const products = await tx.db
    .selectFrom("cpe_matches")
    .select("product")
    .distinct()
    .where("source", "=", source)
    .where(sql<boolean>`advisory_id = ANY(${ids}::text[])`)
    .execute();
  return [
    ...ranges.map((r) => ({ ecosystem: r.ecosystem, release: r.release, packageName: r.package_name })),
    ...products.map((p) => ({ ecosystem: CPE_KEY_ECOSYSTEM, release: "", packageName: p.product })),
  ];
}

/** The normalised record's fingerprint: parsers emit fields in a fixed order, so equal records hash equal. */
export function advisoryDigest(advisory: NormalizedAdvisory): string {
  return createHash("sha256").update(JSON.stringify(advisory)).digest("base64url");
}

async function insertAdvisoryRows(
  tx: SystemTransaction,
  source: string,
  live: readonly NormalizedAdvisory[],
  digests: ReadonlyMap<string, string>,
): Promise<void> {
  await sql`
    INSERT INTO advisories (source, id, modified_at, digest, vulnerability_ids)
    SELECT ${source}::text, a.id, a.modified_at, a.digest, string_to_array(a.vulnerability_ids, ' ')
      FROM unnest(${live.map((a) => a.id)}::text[], ${live.map((a) => a.modifiedAt)}::timestamptz[],
                  ${live.map((a) => digests.get(a.id) ?? "")}::text[],
                  ${live.map((a) => vulnerabilityIdsOf(a).join(" "))}::text[]) AS a(id, modified_at, digest, vulnerability_ids)`.execute(
    tx.db,
  );
}

async function upsertVulnerabilities(
  tx: SystemTransaction,
  live: readonly NormalizedAdvisory[],
): Promise<void> {
  const rows = new Map<string, NormalizedAdvisory>();
  for (const a of live) for (const id of vulnerabilityIdsOf(a)) rows.set(id, a);
  const ids = [...rows.keys()];
  const list = [...rows.values()];
  const pick = <T>(f: (a: NormalizedAdvisory) => T) => list.map(f);
  const severity = (a: NormalizedAdvisory) => {
    const fromScore = severityFromCvss(a.cvssV4?.score ?? a.cvssV3?.score ?? null);
    return fromScore !== "unknown" ? fromScore : (a.severity ?? "unknown");
  };
  // NVD's description and scores are preferred; other sources fill in what is missing. Arrays of
  // arrays travel as text joined by a separator that cannot occur in a URL or CWE id.
  await sql`
    INSERT INTO vulnerabilities (id, summary, description, published_at, modified_at, cvss_v3_score, cvss_v3_vector,
                                 cvss_v4_score, cvss_v4_vector, severity, cwes, reference_urls, sources)
    SELECT v.id, v.summary, v.description, v.published_at, v.modified_at, v.v3_score, v.v3_vector, v.v4_score,
           v.v4_vector, v.severity, string_to_array(v.cwes, ' '), string_to_array(v.refs, ' '), ARRAY[v.source]
      FROM unnest(${ids}::text[], ${pick((a) => a.summary)}::text[], ${pick((a) => a.description)}::text[],
                  ${pick((a) => a.publishedAt)}::timestamptz[], ${pick((a) => a.modifiedAt)}::timestamptz[],
                  ${pick((a) => a.cvssV3?.score ?? null)}::numeric[], ${pick((a) => a.cvssV3?.vector ?? null)}::text[],
                  ${pick((a) => a.cvssV4?.score ?? null)}::numeric[], ${pick((a) => a.cvssV4?.vector ?? null)}::text[],
                  ${pick(severity)}::text[], ${pick((a) => a.cwes.join(" "))}::text[],
                  ${pick((a) => a.references.slice(0, 50).join(" "))}::text[], ${pick((a) => a.source)}::text[])
        AS v(id, summary, description, published_at, modified_at, v3_score, v3_vector, v4_score, v4_vector, severity,
             cwes, refs, source)
    ON CONFLICT (id) DO UPDATE SET
      summary = CASE WHEN excluded.sources[1] = 'nvd' THEN coalesce(excluded.summary, vulnerabilities.summary)
                     ELSE coalesce(vulnerabilities.summary, excluded.summary) END,
      description = CASE WHEN excluded.sources[1] = 'nvd' THEN coalesce(excluded.description, vulnerabilities.description)
                         ELSE coalesce(vulnerabilities.description, excluded.description) END,
      published_at = least(vulnerabilities.published_at, excluded.published_at),
      modified_at = greatest(vulnerabilities.modified_at, excluded.modified_at),
      cvss_v3_score = CASE WHEN excluded.sources[1] = 'nvd' AND excluded.cvss_v3_score IS NOT NULL THEN excluded.cvss_v3_score
                           ELSE coalesce(vulnerabilities.cvss_v3_score, excluded.cvss_v3_score) END,
      cvss_v3_vector = CASE WHEN excluded.sources[1] = 'nvd' AND excluded.cvss_v3_score IS NOT NULL THEN excluded.cvss_v3_vector
                            ELSE coalesce(vulnerabilities.cvss_v3_vector, excluded.cvss_v3_vector) END,
      cvss_v4_score = CASE WHEN excluded.sources[1] = 'nvd' AND excluded.cvss_v4_score IS NOT NULL THEN excluded.cvss_v4_score
                           ELSE coalesce(vulnerabilities.cvss_v4_score, excluded.cvss_v4_score) END,
      cvss_v4_vector = CASE WHEN excluded.sources[1] = 'nvd' AND excluded.cvss_v4_score IS NOT NULL THEN excluded.cvss_v4_vector
                            ELSE coalesce(vulnerabilities.cvss_v4_vector, excluded.cvss_v4_vector) END,
      severity = CASE WHEN vulnerabilities.severity = 'unknown' OR excluded.sources[1] = 'nvd'
                      THEN CASE WHEN excluded.severity = 'unknown' THEN vulnerabilities.severity ELSE excluded.severity END
                      ELSE vulnerabilities.severity END,
      cwes = ARRAY(SELECT DISTINCT unnest(vulnerabilities.cwes || excluded.cwes)),
      reference_urls = CASE WHEN cardinality(vulnerabilities.reference_urls) >= 50 THEN vulnerabilities.reference_urls
                            ELSE ARRAY(SELECT DISTINCT unnest(vulnerabilities.reference_urls || excluded.reference_urls)) END,
      sources = ARRAY(SELECT DISTINCT unnest(vulnerabilities.sources || excluded.sources)),
      updated_at = now()`.execute(tx.db);
}

async function insertAliases(tx: SystemTransaction, live: readonly NormalizedAdvisory[]): Promise<void> {
  const aliases: string[] = [];
  const targets: string[] = [];
  for (const a of live) {
    const vulnerabilities = vulnerabilityIdsOf(a);
    for (const name of new Set([a.id, ...a.aliases])) {
      for (const v of vulnerabilities) {
        if (name === v) continue;
        aliases.push(name);
        targets.push(v);
      }
    }
  }
  if (aliases.length === 0) return;
  await sql`
    INSERT INTO vulnerability_aliases (alias, vulnerability_id)
    SELECT * FROM unnest(${aliases}::text[], ${targets}::text[])
    ON CONFLICT DO NOTHING`.execute(tx.db);
}

/** Ranges of every vulnerability an advisory is about; returns the packages they name. */
async function insertRanges(
  tx: SystemTransaction,
  live: readonly NormalizedAdvisory[],
): Promise<PackageKey[]> {
  const rows: { a: NormalizedAdvisory; v: string; r: AffectedRange }[] = [];
  for (const a of live)
    for (const v of vulnerabilityIdsOf(a)) for (const r of a.affected) rows.push({ a, v, r });
  if (rows.length === 0) return [];
  const col = <T>(f: (row: (typeof rows)[number]) => T) => rows.map(f);
  await sql`
    INSERT INTO affected_ranges (source, advisory_id, vulnerability_id, ecosystem, release, package_name, package_scope,
                                 introduced, fixed, last_affected, versions, status, vendor_advisory, vendor_severity,
                                 supersedes)
    SELECT r.source, r.advisory_id, r.vulnerability_id, r.ecosystem, r.release, r.package_name, r.package_scope,
           r.introduced, r.fixed, r.last_affected, string_to_array(r.versions, E'\\t'), r.status, r.vendor_advisory,
           r.vendor_severity, string_to_array(r.supersedes, ' ')
      FROM unnest(${col((x) => x.a.source)}::text[], ${col((x) => x.a.id)}::text[], ${col((x) => x.v)}::text[],
                  ${col((x) => x.r.ecosystem)}::text[], ${col((x) => x.r.release ?? "")}::text[],
                  ${col((x) => x.r.packageName)}::text[], ${col((x) => x.r.packageScope)}::text[],
                  ${col((x) => x.r.introduced)}::text[], ${col((x) => x.r.fixed)}::text[],
                  ${col((x) => x.r.lastAffected)}::text[], ${col((x) => x.r.versions.join("\t"))}::text[],
                  ${col((x) => x.r.status)}::text[], ${col((x) => x.r.advisoryId ?? x.a.id)}::text[],
                  ${col((x) => x.r.vendorSeverity)}::text[], ${col((x) => x.r.supersedes.join(" "))}::text[])
        AS r(source, advisory_id, vulnerability_id, ecosystem, release, package_name, package_scope, introduced, fixed,
             last_affected, versions, status, vendor_advisory, vendor_severity, supersedes)`.execute(tx.db);
  const keys = new Map<string, PackageKey>();
  for (const { r } of rows) {
    const k = { ecosystem: r.ecosystem, release: r.release ?? "", packageName: r.packageName };
    keys.set(packageKeyString(k), k);
  }
  return [...keys.values()];
}

/** CPE criteria of every vulnerability an advisory is about; returns their products as package keys. */
async function insertCpeMatches(
  tx: SystemTransaction,
  live: readonly NormalizedAdvisory[],
): Promise<PackageKey[]> {
  const rows: { a: NormalizedAdvisory; v: string; m: NormalizedAdvisory["cpeMatches"][number] }[] = [];
  for (const a of live)
    for (const v of vulnerabilityIdsOf(a)) for (const m of a.cpeMatches) rows.push({ a, v, m });
  if (rows.length === 0) return [];
  const col = <T>(f: (row: (typeof rows)[number]) => T) => rows.map(f);
  await sql`
    INSERT INTO cpe_matches (source, advisory_id, vulnerability_id, vendor, product, version, version_start_including,
                             version_start_excluding, version_end_including, version_end_excluding)
    SELECT * FROM unnest(${col((x) => x.a.source)}::text[], ${col((x) => x.a.id)}::text[], ${col((x) => x.v)}::text[],
                         ${col((x) => x.m.vendor)}::text[], ${col((x) => x.m.product)}::text[], ${col((x) => x.m.version)}::text[],
                         ${col((x) => x.m.versionStartIncluding)}::text[], ${col((x) => x.m.versionStartExcluding)}::text[],
                         ${col((x) => x.m.versionEndIncluding)}::text[], ${col((x) => x.m.versionEndExcluding)}::text[])`.execute(
    tx.db,
  );
  const products = new Set(rows.map((r) => r.m.product));
  return [...products].map((packageName) => ({ ecosystem: CPE_KEY_ECOSYSTEM, release: "", packageName }));
}
