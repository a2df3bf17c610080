import Type from "typebox";
import type { Database } from "../../db/database.js";
import { attachment } from "../../http/csv.js";
import { pageOf } from "../../http/pagination.js";
import { defineRoute, type RouteDefinition } from "../../http/route.js";
import { OrgParams, Uuid } from "../../http/schemas.js";
import { decideFinding } from "./finding-decisions.js";
import { getFinding, listFindings } from "./finding-queries.js";
import { exportFindingsCsv } from "./findings-export.js";
import { findingSummary } from "./findings-summary.js";
import { Finding, FindingDecision, FindingExportQuery, FindingListQuery, Nullable } from "./schemas.js";

const FindingParams = Type.Object({ orgId: Uuid, findingId: Uuid }, { additionalProperties: false });
const Count = Type.Integer({ minimum: 0 });
const Summary = Type.Object({
  open: Type.Object({
    critical: Count,
    high: Count,
    medium: Count,
    low: Count,
    negligible: Count,
    unknown: Count,
    total: Count,
  }),
  kev: Count,
  overdue: Count,
  acceptedRisk: Count,
  falsePositive: Count,
  fixAvailable: Count,
  devicesWithOpenFindings: Count,
  meanTimeToRemediateDays: Nullable(Type.Number()),
  trend: Type.Array(
    Type.Object({
      day: Type.String(),
      critical: Count,
      high: Count,
      medium: Count,
      low: Count,
      other: Count,
      kev: Count,
      overdue: Count,
      fixedToday: Count,
    }),
  ),
});

export function findingRoutes(db: Database): RouteDefinition[] {
  return [
    defineRoute({
      method: "GET",
      url: "/api/v1/orgs/:orgId/findings",
      summary: "Findings (a vulnerability in a package on a device), by risk, with filters",
      tags: ["vulnerabilities"],
      permission: "vulnerabilities.read",
      schema: { params: OrgParams, querystring: FindingListQuery, response: { 200: pageOf(Finding) } },
      handler: ({ ctx, query }) => listFindings(db, ctx, query),
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/orgs/:orgId/findings/summary",
      summary: "Open findings by severity, KEV, overdue, decisions, time to remediate, and the 90-day trend",
      tags: ["vulnerabilities"],
      permission: "vulnerabilities.read",
      schema: { params: OrgParams, response: { 200: Summary } },
      handler: ({ ctx }) => findingSummary(db, ctx),
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/orgs/:orgId/findings.csv",
      summary: "The findings matching the filters as CSV (spreadsheet formulas neutralised); audited",
      tags: ["vulnerabilities"],
      permission: "vulnerabilities.read",
      contentType: "text/csv; charset=utf-8",
      schema: {
        params: OrgParams,
        querystring: FindingExportQuery,
        response: { 200: Type.String({ description: "CSV with a header row (RFC 4180)" }) },
      },
      async handler({ ctx, query, reply }) {
        const csv = await exportFindingsCsv(db, ctx, query);
        reply.header(
          "content-disposition",
          attachment(`findings-${new Date().toISOString().slice(0, 10)}.csv`),
        );
        return csv;
      },
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/orgs/:orgId/findings/:findingId",
      summary: "One finding",
      tags: ["vulnerabilities"],
      permission: "vulnerabilities.read",
      schema: { params: FindingParams, response: { 200: Finding } },
      handler: ({ ctx, params }) => getFinding(db, ctx, params.findingId),
    }),
    defineRoute({
      method: "PATCH",
      url: "/api/v1/orgs/:orgId/findings/:findingId",
      summary:
        "Accept the risk of a finding, mark it a false positive, or set it back to open (on its device)",
      tags: ["vulnerabilities"],
      permission: "findings.decide",
      schema: { params: FindingParams, body: FindingDecision, response: { 200: Finding } },
      example: {
        status: "accepted_risk",
        reason: "Isolated build host; the service is not reachable from the network.",
        expiresAt: "2099-01-01T00:00:00Z",
      },
      handler: ({ ctx, params, body }) => decideFinding(db, ctx, params.findingId, body),
    }),
  ];
}
