import { sql } from "kysely";
import { inList } from "../../db/any-of.js";
import type { SystemTransaction } from "../../db/database.js";
import type { EpssScore, KevEntry } from "../feeds/model.js";

/**
 * Marks the vulnerabilities in CISA's Known Exploited Vulnerabilities catalogue (adding a row for a
 * CVE the knowledge base has not seen yet), and — because the file is the whole catalogue — clears
 * the mark from any that left it. Returns the CVEs whose mark changed.
 */
export async function storeKev(tx: SystemTransaction, entries: readonly KevEntry[]): Promise<string[]> {
  const ids = entries.map((e) => e.cveId);
  const changed = await sql<{ id: string }>`
    WITH incoming AS (
      SELECT * FROM unnest(${ids}::text[], ${entries.map((e) => e.dateAdded)}::date[], ${entries.map((e) => e.dueDate)}::date[],
                           ${entries.map((e) => e.knownRansomware)}::boolean[], ${entries.map((e) => e.name)}::text[])
        AS k(id, added, due, ransomware, name)),
    upserted AS (
      INSERT INTO vulnerabilities (id, summary, kev_added, kev_due, kev_ransomware, sources)
      SELECT id, name, added, due, ransomware, ARRAY['kev'] FROM incoming
      ON CONFLICT (id) DO UPDATE SET
        kev_added = excluded.kev_added, kev_due = excluded.kev_due, kev_ransomware = excluded.kev_ransomware,
        summary = coalesce(vulnerabilities.summary, excluded.summary),
        sources = ARRAY(SELECT DISTINCT unnest(vulnerabilities.sources || ARRAY['kev'])),
        updated_at = now()
      WHERE vulnerabilities.kev_added IS DISTINCT FROM excluded.kev_added
         OR vulnerabilities.kev_due IS DISTINCT FROM excluded.kev_due
         OR vulnerabilities.kev_ransomware IS DISTINCT FROM excluded.kev_ransomware
      RETURNING id),
    cleared AS (
      UPDATE vulnerabilities SET kev_added = NULL, kev_due = NULL, kev_ransomware = NULL, updated_at = now()
       WHERE kev_added IS NOT NULL AND NOT ${inList("id", ids, "text")}
      RETURNING id)
    SELECT id FROM upserted UNION SELECT id FROM cleared`.execute(tx.db);
  return changed.rows.map((r) => r.id);
}

/**
 * Today's EPSS scores for the CVEs the knowledge base holds (the file scores every CVE; ones
 * nobody has an advisory for are not added). Returns how many were updated.
 */
export async function storeEpss(tx: SystemTransaction, scores: readonly EpssScore[]): Promise<number> {
  let updated = 0;
  const CHUNK = 20_000;
  for (let i = 0; i < scores.length; i += CHUNK) {
    const part = scores.slice(i, i + CHUNK);
    const result = await sql`
      UPDATE vulnerabilities v SET epss = s.epss, epss_percentile = s.percentile, epss_date = s.day
        FROM unnest(${part.map((p) => p.cveId)}::text[], ${part.map((p) => p.epss)}::numeric[],
                    ${part.map((p) => p.percentile)}::numeric[], ${part.map((p) => p.date)}::date[]) AS s(id, epss, percentile, day)
       WHERE v.id = s.id AND (v.epss_date IS DISTINCT FROM s.day OR v.epss IS DISTINCT FROM s.epss)`.execute(
      tx.db,
    );
    updated += Number(result.numAffectedRows ?? 0n);
  }
  return updated;
}

/** Moves the knowledge base's generation on (every process's index reloads); returns the new one. */
export async function bumpGeneration(tx: SystemTransaction): Promise<number> {
  const result = await sql<{ generation: number }>`
    UPDATE knowledge_base_generation SET generation = generation + 1, changed_at = now() RETURNING generation`.execute(
    tx.db,
  );
  return Number(result.rows[0]?.generation ?? 0);
}
