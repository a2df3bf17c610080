import { type Selectable, sql } from "kysely";
import { anyOf } from "../../db/any-of.js";
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

export function matchRows(index: AdvisoryIndex, rows: readonly SoftwareRow[]): Map<number, SoftwareMatch[]> {
  const out = new Map<number, SoftwareMatch[]>();
  for (const r of rows) {
    const matches = index.match({
      ecosystem: r.ecosystem,
      release: r.release,
      name: r.name,
      version: r.version,
      sourceName: r.source_name,
      sourceVersion: r.source_version,
      vendor: r.vendor,
    });
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

/** Replaces the recorded vulnerabilities of these entries with `matches` (set-based). */
export async function recordMatches(
  tx: OrganizationTransaction,
  ids: readonly number[],
  matches: ReadonlyMap<number, SoftwareMatch[]>,
): Promise<void> {
  const software: number[] = [];
  const vulnerability: string[] = [];
  const fixed: (string | null)[] = [];
  const status: string[] = [];
  const advisory: (string | null)[] = [];
  const vendorSeverity: (string | null)[] = [];
  for (const [id, list] of matches) {
    for (const m of list) {
      software.push(id);
      vulnerability.push(m.vulnerabilityId);
      fixed.push(m.fixedVersion);
      status.push(m.rangeStatus);
      advisory.push(m.vendorAdvisory);
      vendorSeverity.push(m.vendorSeverity);
    }
  }
  // NOT IN over a subquery is planned as a hashed subplan: linear, where a correlated NOT EXISTS
  // over the unnested arrays would compare every row with every match.
  await sql`
    DELETE FROM software_vulnerabilities sv
     WHERE sv.software_id = ANY(${ids}::integer[])
       AND (sv.software_id, sv.vulnerability_id) NOT IN (
             SELECT m.s, m.v FROM unnest(${software}::integer[], ${vulnerability}::text[]) AS m(s, v))`.execute(
    tx.db,
  );
  if (software.length === 0) return;
  await sql`
    INSERT INTO software_vulnerabilities (software_id, vulnerability_id, fixed_version, range_status, vendor_advisory,
                                          vendor_severity)
    SELECT * FROM unnest(${software}::integer[], ${vulnerability}::text[], ${fixed}::text[], ${status}::text[],
                         ${advisory}::text[], ${vendorSeverity}::text[])
    ON CONFLICT (software_id, vulnerability_id) DO UPDATE
      SET fixed_version = excluded.fixed_version, range_status = excluded.range_status,
          vendor_advisory = excluded.vendor_advisory, vendor_severity = excluded.vendor_severity, matched_at = now()`.execute(
    tx.db,
  );
}
