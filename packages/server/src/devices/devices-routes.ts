import { AvailableUpdate, ECOSYSTEMS, Release } from "@patchpilot/protocol";
import Type from "typebox";
import type { Database } from "../db/database.js";
import { CursorQuery, pageOf } from "../http/pagination.js";
import { defineRoute, type RouteDefinition } from "../http/route.js";
import { NoContent, OrgParams, Timestamp, Uuid } from "../http/schemas.js";
import {
  allowReenrollment,
  type CriticalityListener,
  requestInventory,
  retireDevice,
  revokeDeviceCredentials,
  updateDevice,
} from "./device-admin.js";
import { DEVICE_SORTS, getDevice, listDevices } from "./device-queries.js";
import { findInstallations, listDeviceInventory, listDeviceUpdates } from "./inventory-queries.js";

const Nullable = <T extends import("typebox").TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Criticality = Type.Enum(["low", "medium", "high", "critical"]);
const Tag = Type.String({ minLength: 1, maxLength: 64, pattern: "^[A-Za-z0-9][A-Za-z0-9._:/-]*$" });

const Device = Type.Object({
  id: Type.String(),
  hostname: Type.String(),
  os: Type.Object({
    family: Type.String(),
    name: Type.String(),
    version: Type.String(),
    build: Type.String(),
    release: Type.String(),
  }),
  kernel: Type.String(),
  arch: Type.String(),
  agentVersion: Type.String(),
  rebootRequired: Type.Boolean(),
  patchSources: Type.Array(Type.Object({}, { additionalProperties: true })),
  tags: Type.Array(Type.String()),
  criticality: Type.String(),
  groups: Type.Array(Type.Object({ id: Type.String(), name: Type.String() })),
  status: Type.String(),
  openFindings: Type.Integer({ description: "open findings on the device" }),
  risk: Type.Number({ description: "the highest risk among the device's open findings, 0 without any" }),
  online: Type.Boolean(),
  enrolledAt: Type.String(),
  lastSeenAt: Nullable(Type.String()),
  lastIp: Nullable(Type.String()),
  bootedAt: Nullable(Type.String()),
  inventory: Nullable(
    Type.Object({
      packageCount: Type.Integer(),
      updateCount: Type.Integer(),
      securityUpdateCount: Type.Integer(),
      updatedAt: Type.String(),
    }),
  ),
});
const Installed = Type.Object({
  kind: Type.String(),
  ecosystem: Type.String(),
  release: Type.String(),
  name: Type.String(),
  version: Type.String(),
  arch: Type.String(),
  sourceName: Nullable(Type.String()),
  sourceVersion: Nullable(Type.String()),
  vendor: Nullable(Type.String()),
});
const DeviceParams = Type.Object({ orgId: Uuid, deviceId: Uuid }, { additionalProperties: false });
const SearchText = Type.String({ minLength: 1, maxLength: 100 });

export function deviceRoutes(
  db: Database,
  onlineSeconds: number,
  onCriticality: readonly CriticalityListener[] = [],
): RouteDefinition[] {
  return [
    defineRoute({
      method: "GET",
      url: "/api/v1/orgs/:orgId/devices",
      summary:
        "Devices, sorted by hostname, last seen, OS, risk or online state, with filters (OS, release, tag, group, criticality, online, last seen)",
      tags: ["devices"],
      permission: "devices.read",
      schema: {
        params: OrgParams,
        querystring: Type.Object(
          {
            ...CursorQuery,
            // Longer than other cursors: the OS sort's key holds the OS name, version and hostname.
            cursor: Type.Optional(
              Type.String({ maxLength: 2000, description: "From the previous page's nextCursor." }),
            ),
            q: Type.Optional(SearchText),
            osFamily: Type.Optional(Type.Enum(["linux", "windows", "macos"])),
            release: Type.Optional(Release),
            tag: Type.Optional(Tag),
            groupId: Type.Optional(Uuid),
            criticality: Type.Optional(Criticality),
            online: Type.Optional(Type.Boolean()),
            lastSeenBefore: Type.Optional(Timestamp),
            lastSeenAfter: Type.Optional(Timestamp),
            includeRetired: Type.Optional(Type.Boolean()),
            sort: Type.Optional(
              Type.Enum([...DEVICE_SORTS], {
                description:
                  "hostname (default), lastSeen, os (name, version), risk (highest open risk, then open findings) or online (online first, then by last seen)",
              }),
            ),
            order: Type.Optional(
              Type.Enum(["asc", "desc"], {
                description: "asc by default for hostname and os; desc for lastSeen, risk and online",
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 200: pageOf(Device) },
      },
      handler: ({ ctx, query }) => listDevices(db, ctx, query, onlineSeconds),
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/orgs/:orgId/devices/:deviceId",
      summary: "One device: facts, presence, groups, inventory summary",
      tags: ["devices"],
      permission: "devices.read",
      schema: { params: DeviceParams, response: { 200: Device } },
      handler: ({ ctx, params }) => getDevice(db, ctx, params.deviceId, onlineSeconds),
    }),
    defineRoute({
      method: "PATCH",
      url: "/api/v1/orgs/:orgId/devices/:deviceId",
      summary: "Set a device's tags or criticality",
      tags: ["devices"],
      permission: "devices.update",
      schema: {
        params: DeviceParams,
        body: Type.Object(
          { tags: Type.Optional(Type.Array(Tag, { maxItems: 50 })), criticality: Type.Optional(Criticality) },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: Device },
      },
      example: { tags: ["web", "pci"], criticality: "high" },
      async handler({ ctx, params, body }) {
        await updateDevice(db, ctx, params.deviceId, body, onCriticality);
        return getDevice(db, ctx, params.deviceId, onlineSeconds);
      },
    }),
    defineRoute({
      method: "DELETE",
      url: "/api/v1/orgs/:orgId/devices/:deviceId",
      summary: "Retire a device: its token stops working, its open jobs are cancelled, its history stays",
      tags: ["devices"],
      permission: "devices.revoke",
      successStatus: 204,
      schema: { params: DeviceParams, response: { 204: NoContent } },
      handler: ({ ctx, params }) => retireDevice(db, ctx, params.deviceId),
    }),
    defineRoute({
      method: "DELETE",
      url: "/api/v1/orgs/:orgId/devices/:deviceId/token",
      summary: "Revoke the device's token: its agent stops at its next request",
      tags: ["devices"],
      permission: "devices.revoke",
      successStatus: 204,
      schema: { params: DeviceParams, response: { 204: NoContent } },
      handler: ({ ctx, params }) => revokeDeviceCredentials(db, ctx, params.deviceId),
    }),
    defineRoute({
      method: "POST",
      url: "/api/v1/orgs/:orgId/devices/:deviceId/reenrollment",
      summary: "Allow an agent on the same machine to enrol again within 24 hours, taking this device over",
      tags: ["devices"],
      permission: "devices.revoke",
      schema: { params: DeviceParams, response: { 200: Type.Object({ allowedUntil: Type.String() }) } },
      handler: ({ ctx, params }) => allowReenrollment(db, ctx, params.deviceId),
    }),
    defineRoute({
      method: "POST",
      url: "/api/v1/orgs/:orgId/devices/:deviceId/inventory-refresh",
      summary: "Ask the device's agent for its full inventory now",
      tags: ["devices"],
      permission: "devices.update",
      successStatus: 202,
      schema: { params: DeviceParams, response: { 202: Type.Object({ jobId: Type.String() }) } },
      handler: ({ ctx, params }) => requestInventory(db, ctx, params.deviceId),
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/orgs/:orgId/devices/:deviceId/inventory",
      summary: "A device's installed software, by name",
      tags: ["devices"],
      permission: "devices.read",
      schema: {
        params: DeviceParams,
        querystring: Type.Object(
          {
            cursor: CursorQuery.cursor,
            limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
            q: Type.Optional(SearchText),
            kind: Type.Optional(Type.Enum(["package", "application", "hotfix"])),
          },
          { additionalProperties: false },
        ),
        response: { 200: pageOf(Installed) },
      },
      handler: ({ ctx, params, query }) => listDeviceInventory(db, ctx, params.deviceId, query),
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/orgs/:orgId/devices/:deviceId/updates",
      summary: "Updates the device's package manager offers, as last reported",
      tags: ["devices"],
      permission: "devices.read",
      schema: {
        params: DeviceParams,
        response: { 200: Type.Object({ items: Type.Array(AvailableUpdate) }) },
      },
      handler: async ({ ctx, params }) => ({ items: await listDeviceUpdates(db, ctx, params.deviceId) }),
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/orgs/:orgId/installations",
      summary: "Which devices have a package (by name or source name), optionally below a version",
      tags: ["devices"],
      permission: "devices.read",
      schema: {
        params: OrgParams,
        querystring: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 256 }),
            ecosystem: Type.Enum(ECOSYSTEMS),
            below: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
            release: Type.Optional(Release),
            bySource: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            items: Type.Array(
              Type.Intersect([Installed, Type.Object({ deviceId: Type.String(), hostname: Type.String() })]),
            ),
            truncated: Type.Boolean(),
          }),
        },
      },
      handler: ({ ctx, query }) => findInstallations(db, ctx, query),
    }),
  ];
}
