import Type from "typebox";
import type { Database } from "../db/database.js";
import { CursorQuery, pageOf } from "../http/pagination.js";
import { defineRoute, type RouteDefinition } from "../http/route.js";
import { OrgParams, Timestamp, Uuid } from "../http/schemas.js";
import { listAuditEvents, listDeviceEvents, verifyOwnChains } from "./audit-service.js";

const Nullable = <T extends import("typebox").TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Actor = Type.Object({ type: Type.String(), id: Nullable(Type.String()) });
const Details = Type.Object({}, { additionalProperties: true });
const AuditEvent = Type.Object({
  id: Type.String(),
  seq: Type.Integer(),
  occurredAt: Type.String(),
  actor: Actor,
  action: Type.String(),
  target: Nullable(Type.Object({ type: Type.String(), id: Type.String() })),
  result: Type.String(),
  errorCode: Nullable(Type.String()),
  ip: Nullable(Type.String()),
  userAgent: Nullable(Type.String()),
  requestId: Nullable(Type.String()),
  details: Details,
  prevHash: Type.String(),
  hash: Type.String(),
});
const DeviceEvent = Type.Object({
  id: Type.String(),
  seq: Type.Integer(),
  occurredAt: Type.String(),
  deviceId: Nullable(Type.String()),
  actor: Actor,
  eventType: Type.String(),
  result: Type.String(),
  errorCode: Nullable(Type.String()),
  requestId: Nullable(Type.String()),
  details: Details,
  prevHash: Type.String(),
  hash: Type.String(),
});
const SeqCursor = Type.Optional(
  Type.String({ maxLength: 20, description: "From the previous page's nextCursor." }),
);
const ShortText = Type.String({ minLength: 1, maxLength: 200 });
const ChainReport = Type.Object({
  chain: Type.String(),
  valid: Type.Boolean(),
  checkedRows: Type.Integer(),
  headSeq: Type.Integer(),
  firstBroken: Nullable(Type.Object({ seq: Type.Integer(), reason: Type.String() })),
});

export function auditRoutes(db: Database): RouteDefinition[] {
  return [
    defineRoute({
      method: "GET",
      url: "/api/v1/orgs/:orgId/audit-events",
      summary: "What people and API clients did, newest first, with filters",
      tags: ["audit"],
      permission: "audit.read",
      schema: {
        params: OrgParams,
        querystring: Type.Object(
          {
            limit: CursorQuery.limit,
            cursor: SeqCursor,
            from: Type.Optional(Timestamp),
            to: Type.Optional(Timestamp),
            actorId: Type.Optional(ShortText),
            action: Type.Optional(
              Type.String({ minLength: 1, maxLength: 100, pattern: "^[a-z_]+(\\.[a-z_*]+)*$" }),
            ),
            targetType: Type.Optional(ShortText),
            targetId: Type.Optional(ShortText),
            result: Type.Optional(Type.Union([Type.Literal("success"), Type.Literal("failure")])),
          },
          { additionalProperties: false },
        ),
        response: { 200: pageOf(AuditEvent) },
      },
      handler: ({ ctx, query }) => listAuditEvents(db, ctx, query),
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/orgs/:orgId/audit-events/verification",
      summary: "Recompute the organisation's audit hash chains and report the first broken link",
      tags: ["audit"],
      permission: "audit.read",
      schema: { params: OrgParams, response: { 200: Type.Object({ chains: Type.Array(ChainReport) }) } },
      handler: async ({ ctx }) => ({ chains: await verifyOwnChains(db, ctx) }),
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/orgs/:orgId/device-events",
      summary: "What agents and the system did on devices, newest first",
      tags: ["audit"],
      permission: "device_events.read",
      schema: {
        params: OrgParams,
        querystring: Type.Object(
          {
            limit: CursorQuery.limit,
            cursor: SeqCursor,
            from: Type.Optional(Timestamp),
            to: Type.Optional(Timestamp),
            deviceId: Type.Optional(Uuid),
            eventType: Type.Optional(ShortText),
          },
          { additionalProperties: false },
        ),
        response: { 200: pageOf(DeviceEvent) },
      },
      handler: ({ ctx, query }) => listDeviceEvents(db, ctx, query),
    }),
  ];
}
