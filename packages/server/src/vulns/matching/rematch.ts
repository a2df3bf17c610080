import { sql } from "kysely";
import { inList } from "../../db/any-of.js";
import type { Database, OrganizationTransaction } from "../../db/database.js";
import { SYSTEM_WORK } from "../../db/unit-of-work.js";
import { installationsOf } from "../../devices/installations.js";
import { type FindingChanges, openFindings, recordFindingEvents } from "../findings/finding-writer.js";
import type { PackageKey } from "../knowledge-base/store-advisories.js";
import type { AdvisoryIndex } from "./advisory-index.js";
import { CPE_ECOSYSTEMS, CPE_KEY_ECOSYSTEM } from "./cpe-index.js";
import { matchRows, recordMatches, SOFTWARE_ROW_COLUMNS, type SoftwareRow } from "./match-software.js";

export interface RematchOutcome {
  organizations: number;
  softwareChecked: number;
  opened: number;
  closed: number;
}

/**
 * Which catalogue entries a feed change concerns: those of some packages, or every one. With
 * `vulnerabilities` (what the changed advisories were and are about), only those vulnerabilities'
 * matches of the named packages are compared: no other can have moved.
 */
export type RematchScope =
  | { keys: readonly PackageKey[]; vulnerabilities?: readonly string[] }
  | { all: true };

/** Entries matched per transaction in a full re-match, so no organisation's run holds one huge one. */
const CHUNK = 5000;

/**
 * After a feed changed the advisories of some packages: every organisation's catalogue entries of
 * those packages are matched again, and findings opened or closed on the devices that have them.
 * Nothing else is touched — a delta of a thousand advisories re-checks only their packages. A
 * change too wide to name its packages (a first import) re-checks every entry, a chunk at a time.
 */
export async function rematch(
  db: Database,
  index: AdvisoryIndex,
  scope: RematchScope,
): Promise<RematchOutcome> {
  const outcome: RematchOutcome = { organizations: 0, softwareChecked: 0, opened: 0, closed: 0 };
  if ("keys" in scope && scope.keys.length === 0) return outcome;
  await index.refresh(db);
  const keys = "keys" in scope ? scope.keys.filter((k) => k.ecosystem !== CPE_KEY_ECOSYSTEM) : [];
  const names = [...new Set(keys.map((k) => k.packageName))];
  const ecosystems = [...new Set(keys.map((k) => k.ecosystem))];
  // A change of CPE criteria concerns every program matched by CPE (they are few next to packages).
  const programs = "keys" in scope && scope.keys.some((k) => k.ecosystem === CPE_KEY_ECOSYSTEM);
  // Parenthesised whole: kysely joins further conditions with AND, which binds tighter than OR.
  const concerned = sql<boolean>`(${"keys" in scope} = false
    OR (ecosystem = ANY(${ecosystems}::text[]) AND (${inList("name", names, "text")} OR ${inList("source_name", names, "text")}))
    OR (${programs} AND ecosystem = ANY(${[...CPE_ECOSYSTEMS]}::text[])))`;
  const only = "keys" in scope && scope.vulnerabilities ? new Set(scope.vulnerabilities) : null;
  const organizations = await db.systemReader
    .selectFrom("software")
    .select("organization_id")
    .distinct()
    .where(concerned)
    .execute();
  for (const { organization_id } of organizations) {
    outcome.organizations++;
    let after = 0;
    for (;;) {
      const checked = await db.withOrganization(organization_id, SYSTEM_WORK, async (tx) => {
        const candidates: SoftwareRow[] = await tx.db
          .selectFrom("software")
          .select(SOFTWARE_ROW_COLUMNS)
          .where(concerned)
          .where("id", ">", after)
          .orderBy("id")
          .limit(CHUNK)
          .execute();
        if (candidates.length > 0) await rematchEntries(tx, index, candidates, only, outcome);
        return candidates;
      });
      outcome.softwareChecked += checked.length;
      if (checked.length < CHUNK) break;
      after = checked[checked.length - 1]?.id ?? after;
    }
  }
  return outcome;
}

async function rematchEntries(
  tx: OrganizationTransaction,
  index: AdvisoryIndex,
  candidates: readonly SoftwareRow[],
  only: ReadonlySet<string> | null,
  outcome: RematchOutcome,
): Promise<void> {
  const ids = candidates.map((c) => c.id);
  const matches = matchRows(index, candidates, only);
  const before = await recordMatches(tx, ids, matches, only);
  const now = new Set<string>();
  for (const [id, list] of matches) for (const m of list) now.add(`${id}\t${m.vulnerabilityId}`);
  const was = new Set(before.map((b) => `${b.software_id}\t${b.vulnerability_id}`));
  const gainedSoftware = [
    ...new Set([...now].filter((p) => !was.has(p)).map((p) => Number(p.split("\t")[0]))),
  ];
  const lostPairs = [...was].filter((p) => !now.has(p)).map((p) => p.split("\t"));

  const changes: FindingChanges = { opened: new Map(), closed: new Map() };
  if (gainedSoftware.length > 0) {
    const present = await sql<{ device_id: string; software_id: number }>`
      SELECT device_id, software_id FROM ${installationsOf(gainedSoftware)} AS i`.execute(tx.db);
    await openFindings(
      tx,
      present.rows.map((r) => ({ deviceId: r.device_id, softwareId: r.software_id })),
      changes,
    );
  }
  if (lostPairs.length > 0) {
    // The advisory was corrected or withdrawn: the finding no longer applies.
    const closed = await sql<{ device_id: string; vulnerability_id: string }>`
      UPDATE findings f SET status = 'fixed', closed_at = now(), last_changed_at = now()
        FROM unnest(${lostPairs.map((p) => Number(p[0]))}::integer[], ${lostPairs.map((p) => p[1] ?? "")}::text[])
          AS l(software_id, vulnerability_id)
       WHERE f.software_id = l.software_id AND f.vulnerability_id = l.vulnerability_id AND f.status <> 'fixed'
      RETURNING f.device_id, f.vulnerability_id`.execute(tx.db);
    for (const r of closed.rows) {
      const list = changes.closed.get(r.device_id) ?? [];
      list.push(r.vulnerability_id);
      changes.closed.set(r.device_id, list);
    }
  }
  for (const list of changes.opened.values()) outcome.opened += list.length;
  for (const list of changes.closed.values()) outcome.closed += list.length;
  recordFindingEvents(tx, changes, "advisories changed");
}
