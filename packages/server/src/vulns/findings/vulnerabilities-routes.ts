import Type from "typebox";
import type { Database } from "../../db/database.js";
import { CursorQuery, pageOf } from "../../http/pagination.js";
import { defineRoute, type RouteDefinition } from "../../http/route.js";
import { OrgParams, Uuid } from "../../http/schemas.js";
import { affectedDevices } from "./affected-devices.js";
import { feedStatus } from "./feed-status.js";
import { Nullable, VulnerabilityId } from "./schemas.js";
import { getVulnerability } from "./vulnerability-details.js";
import { listVulnerabilities } from "./vulnerability-list.js";

const VulnerabilityParams = Type.Object(
  { orgId: Uuid, vulnerabilityId: VulnerabilityId },
  { additionalProperties: false },
);
const Count = Type.Integer({ minimum: 0 });
const Score = Nullable(Type.Number());

const OrganizationVulnerability = Type.Object({
  id: Type.String(),
  summary: Nullable(Type.String()),
  severity: Type.String(),
  cvssScore: Score,
  epss: Score,
  epssPercentile: Score,
  kev: Type.Boolean(),
  affectedDevices: Count,
  openFindings: Count,
  risk: Type.Number(),
  firstSeenAt: Type.String(),
});
const Cvss = Nullable(Type.Object({ score: Score, vector: Nullable(Type.String()) }));
const VulnerabilityDetails = Type.Object({
  id: Type.String(),
  aliases: Type.Array(Type.String()),
  summary: Nullable(Type.String()),
  description: Nullable(Type.String()),
  publishedAt: Nullable(Type.String()),
  modifiedAt: Nullable(Type.String()),
  severity: Type.String(),
  cvssV3: Cvss,
  cvssV4: Cvss,
  cwes: Type.Array(Type.String()),
  references: Type.Array(Type.String()),
  epss: Nullable(Type.Object({ score: Score, percentile: Score, date: Nullable(Type.String()) })),
  kev: Nullable(
    Type.Object({
      dateAdded: Type.String(),
      dueDate: Nullable(Type.String()),
      knownRansomware: Nullable(Type.Boolean()),
    }),
  ),
  sources: Type.Array(Type.String()),
  organization: Type.Object({
    affectedDevices: Count,
    openFindings: Count,
    fixedFindings: Count,
    acceptedRisk: Count,
    falsePositive: Count,
    firstSeenAt: Nullable(Type.String()),
  }),
});
const AffectedDevice = Type.Object({
  findingId: Type.String(),
  device: Type.Object({ id: Type.String(), hostname: Type.String() }),
  package: Type.Object({ name: Type.String(), arch: Type.String() }),
  installedVersion: Type.String(),
  fixedVersion: Nullable(Type.String()),
  rangeStatus: Type.String(),
  risk: Type.Number(),
  firstSeenAt: Type.String(),
  slaDueAt: Type.String(),
  overdue: Type.Boolean(),
});
const Feed = Type.Object({
  feed: Type.String(),
  lastSuccessAt: Nullable(Type.String()),
  lastAttemptAt: Nullable(Type.String()),
  lastError: Nullable(Type.String()),
  records: Count,
  skipped: Count,
  stale: Type.Boolean(),
});

export function vulnerabilityRoutes(db: Database): RouteDefinition[] {
  return [
    defineRoute({
      method: "GET",
      url: "/api/v1/orgs/:orgId/vulnerabilities",
      summary: "The organisation's vulnerabilities (with at least one finding), by risk or affected devices",
      tags: ["vulnerabilities"],
      permission: "vulnerabilities.read",
      schema: {
        params: OrgParams,
        querystring: Type.Object(
          { ...CursorQuery, sort: Type.Enum(["risk", "affectedDevices"], { default: "risk" }) },
          { additionalProperties: false },
        ),
        response: { 200: pageOf(OrganizationVulnerability) },
      },
      handler: ({ ctx, query }) => listVulnerabilities(db, ctx, query),
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/orgs/:orgId/vulnerabilities/:vulnerabilityId",
      summary:
        "A vulnerability (by CVE or any alias): the knowledge base's details and this organisation's counts",
      tags: ["vulnerabilities"],
      permission: "vulnerabilities.read",
      schema: { params: VulnerabilityParams, response: { 200: VulnerabilityDetails } },
      handler: ({ ctx, params }) => getVulnerability(db, ctx, params.vulnerabilityId),
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/orgs/:orgId/vulnerabilities/:vulnerabilityId/devices",
      summary: "Which devices have the vulnerability open, and since when (longest exposed first)",
      tags: ["vulnerabilities"],
      permission: "vulnerabilities.read",
      schema: {
        params: VulnerabilityParams,
        querystring: Type.Object(CursorQuery, { additionalProperties: false }),
        response: {
          200: Type.Object({
            items: Type.Array(AffectedDevice),
            nextCursor: Nullable(Type.String()),
            total: Type.Object({ devices: Count, findings: Count }),
          }),
        },
      },
      handler: ({ ctx, params, query }) => affectedDevices(db, ctx, params.vulnerabilityId, query),
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/feeds",
      summary: "The vulnerability feeds: last success, last error, records, and whether each is stale",
      tags: ["vulnerabilities"],
      permission: "authenticated",
      schema: { response: { 200: Type.Object({ items: Type.Array(Feed) }) } },
      handler: async () => ({ items: await feedStatus(db) }),
    }),
  ];
}
