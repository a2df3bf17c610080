import { randomUUID } from "node:crypto";
import { sql } from "kysely";
import { anyOf } from "../../db/any-of.js";
import type { Database } from "../../db/database.js";
import { type RequestContext, scopeOf } from "../../http/route.js";
import { productPurl } from "./purl.js";
import { type PackageGroup, type VexStatement, vexStatement } from "./vex-statements.js";

export interface VexDocument {
  "@context": "https://openvex.dev/ns/v0.2.0";
  "@id": string;
  author: string;
  role: string;
  timestamp: string;
  version: number;
  tooling: string;
  statements: VexStatement[];
}

/**
 * The organisation's analysis as an OpenVEX v0.2.0 document: one statement per vulnerability and
 * installed package version (its purl). Findings are grouped in the database, so the document's
 * size follows the catalogue, not the number of devices.
 */
export async function organizationVex(db: Database, ctx: RequestContext): Promise<VexDocument> {
  const { organizationId } = scopeOf(ctx);
  const { name, undecided, fixed, decisions } = await db.withOrganization(organizationId, ctx, async (tx) => {
    const org = await tx.db.selectFrom("organizations").select("name").executeTakeFirstOrThrow();
    const undecided = await sql<PackageGroup>`
      SELECT f.vulnerability_id, s.ecosystem, s.release, s.name, s.version, s.arch,
             bool_or(f.status = 'open') AS open,
             bool_or(f.status = 'open' AND f.range_status = 'under_investigation') AS investigating,
             bool_or(f.status = 'accepted_risk') AS accepted,
             max(f.fixed_version) AS fixed_version,
             max(f.range_status) FILTER (WHERE f.status = 'open') AS range_status,
             array_agg(DISTINCT f.suppression_id) FILTER (WHERE f.status IN ('accepted_risk', 'false_positive'))
               AS suppression_ids
        FROM findings f JOIN software s ON s.id = f.software_id JOIN devices d ON d.id = f.device_id
       WHERE f.status <> 'fixed' AND d.retired_at IS NULL
       GROUP BY f.vulnerability_id, s.ecosystem, s.release, s.name, s.version, s.arch`.execute(tx.db);
    // A fix is stated for the version that carries it: what is installed now is past it.
    const fixed = await sql<{
      vulnerability_id: string;
      ecosystem: string;
      release: string;
      name: string;
      version: string;
      arch: string;
    }>`
      SELECT DISTINCT f.vulnerability_id, s.ecosystem, s.release, s.name, f.fixed_version AS version, s.arch
        FROM findings f JOIN software s ON s.id = f.software_id JOIN devices d ON d.id = f.device_id
       WHERE f.status = 'fixed' AND f.fixed_version IS NOT NULL AND d.retired_at IS NULL`.execute(tx.db);
    const ids = [...new Set(undecided.rows.flatMap((g) => g.suppression_ids ?? []))];
    const decisions =
      ids.length === 0
        ? []
        : await tx.db
            .selectFrom("suppressions")
            .select(["id", "kind", "justification", "reason", "owner", "expires_at"])
            .where(anyOf("id", ids, "uuid"))
            .execute();
    return { name: org.name, undecided: undecided.rows, fixed: fixed.rows, decisions };
  });
  const byId = new Map(decisions.map((d) => [d.id, d]));
  const statements = new Map<string, VexStatement>();
  for (const group of undecided) {
    const statement = vexStatement(
      group,
      (group.suppression_ids ?? []).flatMap((id) => byId.get(id) ?? []),
    );
    statements.set(`${group.vulnerability_id}\t${statement.products[0]?.["@id"]}`, statement);
  }
  for (const f of fixed) {
    const purl = productPurl(f);
    const key = `${f.vulnerability_id}\t${purl}`;
    // A version still affected somewhere is stated as such, never as fixed.
    if (statements.has(key)) continue;
    statements.set(key, {
      vulnerability: { name: f.vulnerability_id },
      products: [{ "@id": purl, identifiers: { purl } }],
      status: "fixed",
    });
  }
  return {
    "@context": "https://openvex.dev/ns/v0.2.0",
    "@id": `urn:uuid:${randomUUID()}`,
    author: name,
    role: "Document Creator",
    timestamp: new Date().toISOString(),
    version: 1,
    tooling: "PatchPilot",
    statements: [...statements.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, s]) => s),
  };
}
