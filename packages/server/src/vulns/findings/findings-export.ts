import type { Readable } from "node:stream";
import type { Database } from "../../db/database.js";
import { type CsvColumn, csvStream } from "../../http/csv.js";
import { type RequestContext, scopeOf } from "../../http/route.js";
import { findingPages } from "./finding-queries.js";
import { countFindings, type FindingFilters, type FindingRow } from "./finding-rows.js";

const decided = (r: FindingRow) => r.status === "accepted_risk" || r.status === "false_positive";

/** The export's columns, in order; a renamed header is a breaking change for people's spreadsheets. */
const COLUMNS: CsvColumn<FindingRow>[] = [
  { header: "finding_id", value: (r) => r.id },
  { header: "device_id", value: (r) => r.device_id },
  { header: "hostname", value: (r) => r.hostname },
  { header: "vulnerability_id", value: (r) => r.vulnerability_id },
  { header: "severity", value: (r) => r.severity },
  { header: "cvss_score", value: (r) => r.cvss_score },
  { header: "epss", value: (r) => r.epss },
  { header: "kev", value: (r) => r.kev },
  { header: "package", value: (r) => r.package_name },
  { header: "arch", value: (r) => r.package_arch },
  { header: "installed_version", value: (r) => r.installed_version },
  { header: "fixed_version", value: (r) => r.fixed_version },
  { header: "range_status", value: (r) => r.range_status },
  { header: "status", value: (r) => r.status },
  { header: "risk", value: (r) => r.risk },
  { header: "first_seen_at", value: (r) => r.first_seen_at },
  { header: "sla_due_at", value: (r) => r.sla_due_at },
  { header: "overdue", value: (r) => r.overdue },
  { header: "closed_at", value: (r) => r.closed_at },
  { header: "decision", value: (r) => (decided(r) ? r.suppression_kind : null) },
  { header: "decision_reason", value: (r) => (decided(r) ? r.suppression_reason : null) },
  { header: "decision_owner", value: (r) => (decided(r) ? r.suppression_owner : null) },
  { header: "decision_expires_at", value: (r) => (decided(r) ? r.suppression_expires_at : null) },
];

/**
 * The findings matching the filters as CSV. The export is audited before the first row leaves
 * (filters and the number of rows matching at that moment), so no download escapes the trail even
 * if the client or the connection stops half way; the rows then stream a page at a time.
 */
export async function exportFindingsCsv(
  db: Database,
  ctx: RequestContext,
  filters: FindingFilters,
): Promise<Readable> {
  const { organizationId } = scopeOf(ctx);
  await db.withOrganization(organizationId, ctx, async (tx) => {
    const rowCount = await countFindings(tx, filters);
    tx.audit({ action: "findings.exported", details: { format: "csv", filters: { ...filters }, rowCount } });
  });
  return csvStream(COLUMNS, findingPages(db, ctx, filters));
}
