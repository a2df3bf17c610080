import Type from "typebox";
import type { Database } from "../db/database.js";
import { defineRoute, type RouteDefinition } from "../http/route.js";
import { NoContent, OrgParams, Uuid } from "../http/schemas.js";
import { createGroup, deleteGroup, listGroups, setGroupMembership, updateGroup } from "./groups-service.js";

const DeviceGroup = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.String(),
  timeZone: Type.String(),
  deviceCount: Type.Integer(),
  createdAt: Type.String(),
});
const Name = Type.String({ minLength: 1, maxLength: 100 });
const Description = Type.String({ maxLength: 1000 });
const TimeZone = Type.String({
  minLength: 1,
  maxLength: 64,
  description: "IANA time zone, e.g. Europe/Berlin",
});
const GroupParams = Type.Object({ orgId: Uuid, groupId: Uuid }, { additionalProperties: false });
const MemberParams = Type.Object(
  { orgId: Uuid, groupId: Uuid, deviceId: Uuid },
  { additionalProperties: false },
);

export function groupRoutes(db: Database): RouteDefinition[] {
  return [
    defineRoute({
      method: "GET",
      url: "/api/v1/orgs/:orgId/device-groups",
      summary: "Device groups (what rollouts target), by name",
      tags: ["devices"],
      permission: "devices.read",
      schema: { params: OrgParams, response: { 200: Type.Object({ items: Type.Array(DeviceGroup) }) } },
      handler: async ({ ctx }) => ({ items: await listGroups(db, ctx) }),
    }),
    defineRoute({
      method: "POST",
      url: "/api/v1/orgs/:orgId/device-groups",
      summary: "Create a device group",
      tags: ["devices"],
      permission: "device_groups.manage",
      successStatus: 201,
      schema: {
        params: OrgParams,
        body: Type.Object(
          { name: Name, description: Type.Optional(Description), timeZone: Type.Optional(TimeZone) },
          { additionalProperties: false },
        ),
        response: { 201: DeviceGroup },
      },
      example: { name: "Web servers", timeZone: "Europe/Berlin" },
      handler: ({ ctx, body }) => createGroup(db, ctx, body),
    }),
    defineRoute({
      method: "PATCH",
      url: "/api/v1/orgs/:orgId/device-groups/:groupId",
      summary: "Rename a device group or change its description or time zone",
      tags: ["devices"],
      permission: "device_groups.manage",
      schema: {
        params: GroupParams,
        body: Type.Object(
          {
            name: Type.Optional(Name),
            description: Type.Optional(Description),
            timeZone: Type.Optional(TimeZone),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: DeviceGroup },
      },
      example: { description: "Public-facing nginx hosts" },
      handler: ({ ctx, params, body }) => updateGroup(db, ctx, params.groupId, body),
    }),
    defineRoute({
      method: "DELETE",
      url: "/api/v1/orgs/:orgId/device-groups/:groupId",
      summary: "Delete a device group (its devices stay)",
      tags: ["devices"],
      permission: "device_groups.manage",
      successStatus: 204,
      schema: { params: GroupParams, response: { 204: NoContent } },
      handler: ({ ctx, params }) => deleteGroup(db, ctx, params.groupId),
    }),
    defineRoute({
      method: "PUT",
      url: "/api/v1/orgs/:orgId/device-groups/:groupId/devices/:deviceId",
      summary: "Add a device to a group",
      tags: ["devices"],
      permission: "device_groups.manage",
      successStatus: 204,
      schema: { params: MemberParams, response: { 204: NoContent } },
      handler: ({ ctx, params }) => setGroupMembership(db, ctx, params.groupId, params.deviceId, true),
    }),
    defineRoute({
      method: "DELETE",
      url: "/api/v1/orgs/:orgId/device-groups/:groupId/devices/:deviceId",
      summary: "Remove a device from a group",
      tags: ["devices"],
      permission: "device_groups.manage",
      successStatus: 204,
      schema: { params: MemberParams, response: { 204: NoContent } },
      handler: ({ ctx, params }) => setGroupMembership(db, ctx, params.groupId, params.deviceId, false),
    }),
  ];
}
