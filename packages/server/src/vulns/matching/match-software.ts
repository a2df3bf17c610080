import { type Selectable, sql } from "kysely";
import { anyOf, inList } from "../../db/any-of.js";
import type { OrganizationTransaction } from "../../db/database.js";
import type { SoftwareTable } from "../../db/schema.js";
import type { AdvisoryIndex, SoftwareMatch } from "./advisory-index.js";

/** The columns of a catalogue entry that matching reads. */
export const SOFTWARE_ROW_COLUMNS = [
  "id",
  "ecosystem",
  "release",
  "name",
  "version",
  "arch",
  "source_name",
  "source_version",
  "vendor",
] as const;

export type SoftwareRow = Pick<Selectable<SoftwareTable>, (typeof SOFTWARE_ROW_COLUMNS)[number]>;

export async function softwareRows(
  tx: OrganizationTransaction,
  ids: readonly number[],
): Promise<SoftwareRow[]> {
  if (ids.length === 0) return [];
  return tx.db
    .selectFrom("software")
    .select(SOFTWARE_ROW_COLUMNS)
    .where(anyOf("id", ids, "integer"))
    .execute();
}

/** Each row's matches; with `only`, just those of these vulnerabilities. */
export function matchRows(
  index: AdvisoryIndex,
  rows: readonly SoftwareRow[],
  only: ReadonlySet<string> | null = null,
): Map<number, SoftwareMatch[]> {
  const out = new Map<number, SoftwareMatch[]>();
  for (const r of rows) {
    const all = index.match({
      ecosystem: r.ecosystem,
      release: r.release,
      name: r.name,
      version: r.version,
      sourceName: r.source_name,
      sourceVersion: r.source_version,
      vendor: r.vendor,
    });
    const matches = only === null ? all : all.filter((m) => only.has(m.vulnerabilityId));
    if (matches.length > 0) out.set(r.id, matches);
  }
  return out;
}

/**
 * Makes sure each catalogue entry has been matched against the knowledge base, once: entries not
 * yet matched are matched now and their vulnerabilities recorded (a catalogue entry is shared by
 * every device that has it, so each is matched once, not once per device).
 */
export async function ensureMatched(
  tx: OrganizationTransaction,
  index: AdvisoryIndex,
  ids: readonly number[],
): Promise<void> {
  if (ids.length === 0) return;
  const matched = await tx.db
    .selectFrom("software_matches")
    .select("software_id")
    .where(anyOf("software_id", ids, "integer"))
    .execute();
  const done = new Set(matched.map((m) => m.software_id));
  const pending = ids.filter((id) => !done.has(id));
  if (pending.length === 0) return;
  await recordMatches(tx, pending, matchRows(index, await softwareRows(tx, pending)));
  await sql`
    INSERT INTO software_matches (software_id) SELECT unnest(${pending}::integer[])
    ON CONFLICT (software_id) DO UPDATE SET matched_at = now()`.execute(tx.db);
}

/** A recorded (catalogue entry, vulnerability) pair, as software_vulnerabilities holds it. */
export interface RecordedMatch {
  software_id: number;
  vulnerability_id: string;
  fixed_version: string | null;
  range_status: string;
  vendor_advisory: string | null;
  vendor_severity: string | null;
}

const pairKey = (softwareId: number, vulnerabilityId: string) => `${softwareId}\t${vulnerabilityId}`;

/**
 * Makes the recorded vulnerabilities of these entries equal `matches`, writing only the
 * difference: pairs no longer matched are deleted, new pairs inserted, pairs whose fix or vendor
 * data moved updated, and unchanged pairs left alone — so re-matching after a small feed change
 * writes a small number of rows, whatever the entries' total number of matches. The diff is
 * computed here from the rows read back, each statement driven by its own list (index lookups by
 * key, never a comparison of every recorded row with every match). With `only` (and `matches`
 * made with the same `only`), the comparison is limited to those vulnerabilities: what a feed
 * change of their advisories can have moved. Returns what was recorded before, for the caller's
 * own comparison.
 */
export async function recordMatches(
  tx: OrganizationTransaction,
  ids: readonly number[],
  matches: ReadonlyMap<number, SoftwareMatch[]>,
  only: ReadonlySet<string> | null = null,
): Promise<RecordedMatch[]> {
  if (ids.length === 0) return [];
  // Limited, the vulnerabilities lead (an index lookup each) and the entries are a hashed list:
  // popular packages' entries hold most of the recorded pairs, and none of theirs are read.
  const before: RecordedMatch[] = await tx.db
    .selectFrom("software_vulnerabilities")
    .select([
      "software_id",
      "vulnerability_id",
      "fixed_version",
      "range_status",
      "vendor_advisory",
      "vendor_severity",
    ])
    .where(
      only === null
        ? anyOf("software_id", ids, "integer")
        : sql<boolean>`${anyOf("vulnerability_id", [...only], "text")} AND ${inList("software_id", ids, "integer")}`,
    )
    .execute();
  const recorded = new Map(before.map((r) => [pairKey(r.software_id, r.vulnerability_id), r]));
  const write: RecordedMatch[] = [];
  const seen = new Set<string>();
  for (const [id, list] of matches) {
    for (const m of list) {
      const key = pairKey(id, m.vulnerabilityId);
      if (seen.has(key)) continue;
      seen.add(key);
      const row: RecordedMatch = {
        software_id: id,
        vulnerability_id: m.vulnerabilityId,
        fixed_version: m.fixedVersion,
        range_status: m.rangeStatus,
        vendor_advisory: m.vendorAdvisory,
        vendor_severity: m.vendorSeverity,
      };
      const was = recorded.get(key);
      if (
        !was ||
        was.fixed_version !== row.fixed_version ||
        was.range_status !== row.range_status ||
        was.vendor_advisory !== row.vendor_advisory ||
        was.vendor_severity !== row.vendor_severity
      )
        write.push(row);
    }
  }
  const lost = before.filter((r) => !seen.has(pairKey(r.software_id, r.vulnerability_id)));
  if (lost.length > 0) {
    await sql`
      DELETE FROM software_vulnerabilities sv
       USING unnest(${lost.map((r) => r.software_id)}::integer[], ${lost.map((r) => r.vulnerability_id)}::text[])
             AS l(s, v)
       WHERE sv.software_id = l.s AND sv.vulnerability_id = l.v`.execute(tx.db);
  }
  if (write.length > 0) {
    const column = <T>(pick: (r: RecordedMatch) => T) => write.map(pick);
    await sql`
      INSERT INTO software_vulnerabilities (software_id, vulnerability_id, fixed_version, range_status, vendor_advisory,
                                            vendor_severity)
      SELECT * FROM unnest(${column((r) => r.software_id)}::integer[], ${column((r) => r.vulnerability_id)}::text[],
                           ${column((r) => r.fixed_version)}::text[], ${column((r) => r.range_status)}::text[],
                           ${column((r) => r.vendor_advisory)}::text[], ${column((r) => r.vendor_severity)}::text[])
      ON CONFLICT (software_id, vulnerability_id) DO UPDATE
        SET fixed_version = excluded.fixed_version, range_status = excluded.range_status,
            vendor_advisory = excluded.vendor_advisory, vendor_severity = excluded.vendor_severity, matched_at = now()`.execute(
      tx.db,
    );
  }
  return before;
}
