import Type from "typebox";
import type { Database } from "../../db/database.js";
import { defineRoute, type RouteDefinition } from "../../http/route.js";
import { NoContent, OrgParams, Uuid } from "../../http/schemas.js";
import { createWindow, deleteWindow, listWindows, updateWindow } from "../windows/windows-service.js";
import { patchSourceConflicts } from "./patch-sources.js";
import { deletePolicy, listPolicies, savePolicy } from "./policies-service.js";
import { Policy, PolicyInput, Window, WindowInput } from "./policy-schemas.js";

const PolicyParams = Type.Object({ orgId: Uuid, policyId: Uuid }, { additionalProperties: false });
const WindowParams = Type.Object({ orgId: Uuid, windowId: Uuid }, { additionalProperties: false });
const Source = Type.Object({}, { additionalProperties: true });

export function policyRoutes(db: Database): RouteDefinition[] {
  const windowExample = {
    name: "Saturday night",
    schedule: "0 2 * * 6",
    durationMinutes: 240,
    timeZone: "Europe/London",
  };
  const policyExample = {
    name: "Web servers",
    groupId: "00000000-0000-4000-8000-000000000001",
    automatic: "security" as const,
    approval: { minSeverity: "high" as const, kev: true },
    hold: ["postgresql-15"],
    reboot: "if_required" as const,
  };
  return [
    defineRoute({
      method: "GET",
      url: "/api/v1/orgs/:orgId/maintenance-windows",
      summary: "Maintenance windows, with when each next opens",
      tags: ["patching"],
      permission: "patching.read",
      schema: { params: OrgParams, response: { 200: Type.Array(Window) } },
      handler: ({ ctx }) => listWindows(db, ctx),
    }),
    defineRoute({
      method: "POST",
      url: "/api/v1/orgs/:orgId/maintenance-windows",
      summary: "Add a maintenance window: a cron schedule of openings, a duration, a time zone",
      tags: ["patching"],
      permission: "patch_policies.manage",
      successStatus: 201,
      schema: { params: OrgParams, body: WindowInput, response: { 201: Window } },
      example: windowExample,
      handler: ({ ctx, body }) => createWindow(db, ctx, body),
    }),
    defineRoute({
      method: "PUT",
      url: "/api/v1/orgs/:orgId/maintenance-windows/:windowId",
      summary: "Change a maintenance window",
      tags: ["patching"],
      permission: "patch_policies.manage",
      schema: { params: WindowParams, body: WindowInput, response: { 200: Window } },
      example: windowExample,
      handler: ({ ctx, params, body }) => updateWindow(db, ctx, params.windowId, body),
    }),
    defineRoute({
      method: "DELETE",
      url: "/api/v1/orgs/:orgId/maintenance-windows/:windowId",
      summary: "Remove a maintenance window no policy or unfinished rollout uses",
      tags: ["patching"],
      permission: "patch_policies.manage",
      successStatus: 204,
      schema: { params: WindowParams, response: { 204: NoContent } },
      async handler({ ctx, params }) {
        await deleteWindow(db, ctx, params.windowId);
        return null;
      },
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/orgs/:orgId/patch-policies",
      summary: "Patch policies, one per device group",
      tags: ["patching"],
      permission: "patching.read",
      schema: { params: OrgParams, response: { 200: Type.Array(Policy) } },
      handler: ({ ctx }) => listPolicies(db, ctx),
    }),
    defineRoute({
      method: "POST",
      url: "/api/v1/orgs/:orgId/patch-policies",
      summary: "Set how a device group is patched: automatic updates, approval rules, holds, reboots, window",
      tags: ["patching"],
      permission: "patch_policies.manage",
      successStatus: 201,
      schema: { params: OrgParams, body: PolicyInput, response: { 201: Policy } },
      example: policyExample,
      handler: ({ ctx, body }) => savePolicy(db, ctx, body, null),
    }),
    defineRoute({
      method: "PUT",
      url: "/api/v1/orgs/:orgId/patch-policies/:policyId",
      summary: "Change a patch policy",
      tags: ["patching"],
      permission: "patch_policies.manage",
      schema: { params: PolicyParams, body: PolicyInput, response: { 200: Policy } },
      example: policyExample,
      handler: ({ ctx, params, body }) => savePolicy(db, ctx, body, params.policyId),
    }),
    defineRoute({
      method: "DELETE",
      url: "/api/v1/orgs/:orgId/patch-policies/:policyId",
      summary: "Remove a patch policy (its past rollouts stay)",
      tags: ["patching"],
      permission: "patch_policies.manage",
      successStatus: 204,
      schema: { params: PolicyParams, response: { 204: NoContent } },
      async handler({ ctx, params }) {
        await deletePolicy(db, ctx, params.policyId);
        return null;
      },
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/orgs/:orgId/patch-source-conflicts",
      summary: "Devices where something besides PatchPilot installs updates on its own, or may",
      tags: ["patching"],
      permission: "patching.read",
      schema: {
        params: OrgParams,
        response: {
          200: Type.Array(
            Type.Object({
              deviceId: Type.String(),
              hostname: Type.String(),
              others: Type.Array(Source),
              unknown: Type.Array(Source),
            }),
          ),
        },
      },
      handler: ({ ctx }) => patchSourceConflicts(db, ctx),
    }),
  ];
}
