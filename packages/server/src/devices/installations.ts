import { type RawBuilder, sql } from "kysely";

/**
 * The (device, software) pairs for these catalogue ids among the organisation's live devices: a
 * device has an entry when its base package set holds it and it is not among the removed, or when
 * it is among the added. The GIN indexes on the sets and the added arrays find them without
 * reading every inventory. Meant as a subquery: `SELECT … FROM ${installationsOf(ids)} AS i`.
 */
export function installationsOf(
  ids: readonly number[],
): RawBuilder<{ device_id: string; software_id: number }> {
  return sql<{ device_id: string; software_id: number }>`(
    WITH wanted AS (SELECT unnest(${ids}::integer[]) AS id),
    base_hits AS (
      SELECT ps.id AS set_id, w.id AS software_id
        FROM package_sets ps JOIN wanted w ON w.id = ANY (ps.software_ids)
       WHERE ps.software_ids && ${ids}::integer[]),
    hits AS (
      SELECT di.device_id, b.software_id FROM device_inventories di JOIN base_hits b ON b.set_id = di.base_set_id
       WHERE NOT (b.software_id = ANY (di.removed))
      UNION
      SELECT di.device_id, w.id FROM device_inventories di JOIN wanted w ON w.id = ANY (di.added)
       WHERE di.added && ${ids}::integer[])
    SELECT h.device_id, h.software_id FROM hits h JOIN devices d ON d.id = h.device_id WHERE d.retired_at IS NULL)`;
}
