import Type from "typebox";
import type { Database } from "../../db/database.js";
import { CursorQuery, pageOf } from "../../http/pagination.js";
import { defineRoute, type RouteDefinition } from "../../http/route.js";
import { NoContent, OrgParams, Uuid } from "../../http/schemas.js";
import { Nullable, SlaDays, Suppression, SuppressionInput, VulnerabilityId } from "./schemas.js";
import { createSuppression, listSuppressions, revokeSuppression } from "./suppressions-service.js";
import { getVulnerabilitySettings, updateVulnerabilitySettings } from "./vulnerability-settings.js";

const SuppressionParams = Type.Object({ orgId: Uuid, suppressionId: Uuid }, { additionalProperties: false });
const Settings = Type.Object({ slaDays: SlaDays, updatedAt: Nullable(Type.String()) });

/** People's decisions on findings (suppressions) and the SLA they are measured against. */
export function decisionRoutes(db: Database): RouteDefinition[] {
  return [
    defineRoute({
      method: "POST",
      url: "/api/v1/orgs/:orgId/suppressions",
      summary:
        "Accept the risk of a vulnerability (until a date) or mark it a false positive, for a device, group or all",
      tags: ["vulnerabilities"],
      permission: "findings.decide",
      successStatus: 201,
      schema: { params: OrgParams, body: SuppressionInput, response: { 201: Suppression } },
      example: {
        vulnerabilityId: "CVE-2024-6387",
        packageName: "openssh-server",
        scope: { type: "organization" },
        kind: "false_positive",
        justification: "vulnerable_code_not_in_execute_path",
        reason: "sshd runs with LoginGraceTime 0 on every host (the documented mitigation).",
        owner: "Security team",
      },
      handler: ({ ctx, body }) => createSuppression(db, ctx, body),
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/orgs/:orgId/suppressions",
      summary: "Decisions on findings, newest first, with their state (active, expired, revoked)",
      tags: ["vulnerabilities"],
      permission: "vulnerabilities.read",
      schema: {
        params: OrgParams,
        querystring: Type.Object(
          {
            ...CursorQuery,
            vulnerabilityId: Type.Optional(VulnerabilityId),
            state: Type.Optional(Type.Enum(["active", "expired", "revoked"])),
          },
          { additionalProperties: false },
        ),
        response: { 200: pageOf(Suppression) },
      },
      handler: ({ ctx, query }) => listSuppressions(db, ctx, query),
    }),
    defineRoute({
      method: "DELETE",
      url: "/api/v1/orgs/:orgId/suppressions/:suppressionId",
      summary: "Revoke a decision: the findings it covered are open again (or follow a wider decision)",
      tags: ["vulnerabilities"],
      permission: "findings.decide",
      successStatus: 204,
      schema: { params: SuppressionParams, response: { 204: NoContent } },
      handler: ({ ctx, params }) => revokeSuppression(db, ctx, params.suppressionId),
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/orgs/:orgId/vulnerability-settings",
      summary: "Days a finding of each severity may stay open (the SLA)",
      tags: ["vulnerabilities"],
      permission: "vulnerabilities.read",
      schema: { params: OrgParams, response: { 200: Settings } },
      handler: ({ ctx }) => getVulnerabilitySettings(db, ctx),
    }),
    defineRoute({
      method: "PUT",
      url: "/api/v1/orgs/:orgId/vulnerability-settings",
      summary: "Set the SLA days per severity; the due dates of findings not yet fixed follow",
      tags: ["vulnerabilities"],
      permission: "organization.update",
      schema: {
        params: OrgParams,
        body: Type.Object({ slaDays: SlaDays }, { additionalProperties: false }),
        response: { 200: Settings },
      },
      example: { slaDays: { critical: 7, high: 14, medium: 30, low: 90 } },
      handler: ({ ctx, body }) => updateVulnerabilitySettings(db, ctx, body.slaDays),
    }),
  ];
}
