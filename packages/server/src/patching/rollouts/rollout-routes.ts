import Type from "typebox";
import type { Database } from "../../db/database.js";
import { CursorQuery, pageOf } from "../../http/pagination.js";
import { defineRoute, type RouteDefinition, scopeOf } from "../../http/route.js";
import { NoContent, OrgParams, Uuid } from "../../http/schemas.js";
import { Rollout, RolloutDevice, RolloutInput } from "../schemas.js";
import { actOnRollout } from "./rollout-actions.js";
import { createRollout } from "./rollout-create.js";
import { getRollout, listDeviceRollouts, listRolloutDevices, listRollouts } from "./rollout-queries.js";
import type { RolloutRunner } from "./rollout-runner.js";
import { streamChanges } from "./rollout-stream.js";

const RolloutParams = Type.Object({ orgId: Uuid, rolloutId: Uuid }, { additionalProperties: false });
const DeviceParams = Type.Object({ orgId: Uuid, deviceId: Uuid }, { additionalProperties: false });
const Nullable = <T extends import("typebox").TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const DeviceRollout = Type.Object({
  rolloutId: Type.String(),
  name: Type.String(),
  rolloutState: Type.String(),
  mode: Type.String(),
  createdAt: Type.String(),
  finishedAt: Nullable(Type.String()),
  ring: Type.Integer(),
  ringName: Type.String(),
  state: Type.String({ description: "the device's state in the rollout" }),
  attempts: Type.Integer(),
  reason: Nullable(Type.String()),
  health: Nullable(Type.String()),
  verified: Nullable(Type.String()),
  updatedAt: Type.String(),
});
const Reason = Type.Object(
  { reason: Type.Optional(Type.String({ minLength: 1, maxLength: 1000 })) },
  { additionalProperties: false },
);
const RolloutSummary = Type.Object({
  id: Type.String(),
  name: Type.String(),
  state: Type.String(),
  mode: Type.String(),
  currentRing: Type.Integer(),
  createdAt: Type.String(),
});
const STATES = ["running", "paused", "halted", "completed", "canceled"];
const DEVICE_STATES = ["pending", "waiting_window", "queued", "delivered", "succeeded", "failed", "skipped"];

export function rolloutRoutes(db: Database, runner: RolloutRunner): RouteDefinition[] {
  const action = (name: "pause" | "resume" | "cancel" | "approve", summary: string) =>
    defineRoute({
      method: "POST",
      url: `/api/v1/orgs/:orgId/rollouts/:rolloutId/${name}`,
      summary,
      tags: ["patching"],
      permission: name === "approve" ? "rollouts.approve" : "rollouts.manage",
      successStatus: 204,
      schema: { params: RolloutParams, body: Reason, response: { 204: NoContent } },
      example: { reason: "Change CHG-1042 approved by the CAB" },
      async handler({ ctx, params, body }) {
        await actOnRollout(db, ctx, params.rolloutId, name, body.reason);
        runner.kick(scopeOf(ctx).organizationId, params.rolloutId);
        return null;
      },
    });
  return [
    defineRoute({
      method: "POST",
      url: "/api/v1/orgs/:orgId/rollouts",
      summary: "Start a rollout: updates (or the fixes for findings) through ordered rings with gates",
      tags: ["patching"],
      permission: "rollouts.manage",
      successStatus: 201,
      schema: { params: OrgParams, body: RolloutInput, response: { 201: Rollout } },
      example: {
        name: "OpenSSL fixes",
        mode: "packages",
        packages: [{ name: "openssl" }, { name: "libssl3" }],
        rings: [
          {
            name: "test",
            groupIds: ["00000000-0000-4000-8000-000000000001"],
            successPercent: 95,
            soakMinutes: 1440,
          },
          { name: "production", groupIds: ["00000000-0000-4000-8000-000000000002"] },
        ],
      },
      async handler({ ctx, body }) {
        const id = await createRollout(db, ctx, body);
        runner.kick(scopeOf(ctx).organizationId, id);
        return getRollout(db, ctx, id);
      },
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/orgs/:orgId/rollouts",
      summary: "Rollouts, newest first",
      tags: ["patching"],
      permission: "patching.read",
      schema: {
        params: OrgParams,
        querystring: Type.Object(
          { ...CursorQuery, state: Type.Optional(Type.Enum(STATES)) },
          { additionalProperties: false },
        ),
        response: { 200: pageOf(RolloutSummary) },
      },
      handler: ({ ctx, query }) => listRollouts(db, ctx, query),
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/orgs/:orgId/rollouts/:rolloutId",
      summary: "A rollout: its rings, their gates' measured values, counts per state, estimated completion",
      tags: ["patching"],
      permission: "patching.read",
      schema: { params: RolloutParams, response: { 200: Rollout } },
      handler: ({ ctx, params }) => getRollout(db, ctx, params.rolloutId),
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/orgs/:orgId/rollouts/:rolloutId/devices",
      summary: "Each targeted device's progress: state, reason, attempts, per-package outcome, log excerpt",
      tags: ["patching"],
      permission: "patching.read",
      schema: {
        params: RolloutParams,
        querystring: Type.Object(
          {
            ...CursorQuery,
            ring: Type.Optional(Type.Integer({ minimum: 0, maximum: 9 })),
            state: Type.Optional(Type.Enum(DEVICE_STATES)),
          },
          { additionalProperties: false },
        ),
        response: { 200: pageOf(RolloutDevice) },
      },
      handler: ({ ctx, params, query }) => listRolloutDevices(db, ctx, params.rolloutId, query),
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/orgs/:orgId/devices/:deviceId/rollouts",
      summary: "A device's rollout history, newest first: each rollout, the device's ring, state and reason",
      tags: ["patching"],
      permission: "patching.read",
      schema: {
        params: DeviceParams,
        querystring: Type.Object({ ...CursorQuery }, { additionalProperties: false }),
        response: { 200: pageOf(DeviceRollout) },
      },
      handler: ({ ctx, params, query }) => listDeviceRollouts(db, ctx, params.deviceId, query),
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/orgs/:orgId/rollouts/:rolloutId/events",
      summary: "Live progress as server-sent events: the rollout (as GET answers it) each time it changes",
      tags: ["patching"],
      permission: "patching.read",
      contentType: "text/event-stream",
      schema: { params: RolloutParams, response: { 200: Type.String({ description: "text/event-stream" }) } },
      async handler({ ctx, params, request, reply }) {
        await streamChanges(
          request,
          reply,
          "rollout",
          () => getRollout(db, ctx, params.rolloutId),
          (r) => ["completed", "canceled", "halted"].includes(r.state),
        );
        return null;
      },
    }),
    action("pause", "Pause a rollout: nothing new is queued; jobs already with devices finish"),
    action("resume", "Resume a paused rollout, or a halted one (its failed devices are tried again)"),
    action("cancel", "Cancel a rollout: queued jobs are withdrawn and nothing more is sent"),
    action("approve", "Approve the promotion of the ring waiting for a person's approval"),
  ];
}
