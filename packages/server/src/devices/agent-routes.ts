import {
  CheckInRequest,
  CheckInResponse,
  EnrollRequest,
  EnrollResponse,
  FullInventoryUpload,
  INVENTORY_LIMITS,
  InventoryAccepted,
  InventoryChangesUpload,
  JobResultReport,
  JobsResponse,
  MAX_JOB_WAIT_SECONDS,
  ReportAccepted,
  TokenRotationResponse,
} from "@patchpilot/protocol";
import Type from "typebox";
import type { Database } from "../db/database.js";
import { bearerToken } from "../http/bearer.js";
import { defineRoute, type RequestContext, type RouteDefinition } from "../http/route.js";
import { Uuid } from "../http/schemas.js";
import { type AgentSession, type AgentSessionCache, isAgentSession } from "./agent-sessions.js";
import { type CheckInSettings, checkIn } from "./check-in.js";
import { rotateDeviceToken } from "./device-tokens.js";
import { enroll } from "./enrollment.js";
import type { InventoryIngest } from "./inventory-ingest.js";
import { deliverJobs, type JobResultListener, type JobWaiters, recordJobResult } from "./jobs.js";
import type { PresenceRecorder } from "./presence.js";

export interface AgentRouteDeps {
  db: Database;
  sessions: AgentSessionCache;
  presence: PresenceRecorder;
  ingest: InventoryIngest;
  waiters: JobWaiters;
  settings: CheckInSettings;
  jobResults: readonly JobResultListener[];
}

const DeviceParams = Type.Object({ deviceId: Uuid }, { additionalProperties: false });

const EXAMPLE_FACTS = {
  hostname: "web-01.example.com",
  os: {
    family: "linux" as const,
    name: "Debian GNU/Linux",
    version: "12",
    build: "12.5",
    release: "debian:12",
  },
  kernel: "6.1.0-18-amd64",
  arch: "amd64",
  uptimeSeconds: 86_400,
  rebootRequired: false,
  agentVersion: "0.1.0",
  patchSources: [{ mechanism: "unattended-upgrades", automaticInstall: false }],
};
const EXAMPLE_PACKAGE = "p\tpackage\tdpkg\tdebian:12\topenssl\t3.0.11-1~deb12u2\tamd64\topenssl\t\t";
const EXAMPLE_REPORT_ID = "5b0c6a5e-8a41-4b8e-9d0b-2f6d3f1f9e11";

/** An inventory of the largest allowed size, with room for long names, fits in this. */
export const INVENTORY_BODY_LIMIT = INVENTORY_LIMITS.maxPackages * 400 + 1024 * 1024;

/**
 * The session the request was authenticated with. It is carried in the request context, not looked
 * up again: a revocation that lands while the request runs takes effect on the next request.
 */
function sessionOf(ctx: RequestContext): AgentSession {
  if (!isAgentSession(ctx.device)) throw new Error("agent route without an authenticated device");
  return ctx.device;
}

export function agentRoutes(deps: AgentRouteDeps): RouteDefinition[] {
  const { db } = deps;
  return [
    defineRoute({
      method: "POST",
      url: "/api/v1/agent/enroll",
      summary: "Enrol a machine with an organisation's enrolment token (Authorization: Bearer ppk_…)",
      tags: ["agent"],
      permission: "enrollment",
      successStatus: 201,
      schema: { body: EnrollRequest, response: { 201: EnrollResponse } },
      example: { hardwareId: "4c4c4544-0052-3310-8056-b4c04f4e4d32", facts: EXAMPLE_FACTS },
      handler: ({ body, ctx, request }) =>
        enroll(db, deps.settings, bearerToken(request.headers.authorization), body, {
          requestId: ctx.requestId,
          ip: ctx.ip,
          userAgent: ctx.userAgent,
        }),
    }),
    defineRoute({
      method: "POST",
      url: "/api/v1/agent/devices/:deviceId/check-in",
      summary: "Report facts and the inventory hash; receive what the server wants and any queued jobs",
      tags: ["agent"],
      permission: "device",
      schema: { params: DeviceParams, body: CheckInRequest, response: { 200: CheckInResponse } },
      example: { facts: EXAMPLE_FACTS, inventoryHash: "0".repeat(64) },
      handler: ({ body, ctx }) => checkIn(db, deps.presence, deps.settings, sessionOf(ctx), ctx, body),
      hotPath: ({ body, ctx }) => checkIn(db, deps.presence, deps.settings, sessionOf(ctx), ctx, body),
    }),
    defineRoute({
      method: "PUT",
      url: "/api/v1/agent/devices/:deviceId/inventory",
      summary: "Send the whole inventory (first contact, or when asked for it)",
      tags: ["agent"],
      permission: "device",
      bodyLimit: INVENTORY_BODY_LIMIT,
      schema: { params: DeviceParams, body: FullInventoryUpload, response: { 200: InventoryAccepted } },
      example: { reportId: EXAMPLE_REPORT_ID, inventory: { packages: [EXAMPLE_PACKAGE], updates: [] } },
      handler: ({ body, ctx }) => deps.ingest.full(sessionOf(ctx), ctx, body),
    }),
    defineRoute({
      method: "POST",
      url: "/api/v1/agent/devices/:deviceId/inventory/changes",
      summary: "Send what changed since the inventory the server holds",
      tags: ["agent"],
      permission: "device",
      bodyLimit: INVENTORY_BODY_LIMIT,
      schema: { params: DeviceParams, body: InventoryChangesUpload, response: { 200: InventoryAccepted } },
      example: {
        reportId: EXAMPLE_REPORT_ID,
        baseHash: "0".repeat(64),
        inventoryHash: "0".repeat(64),
        packages: { added: [], removed: [] },
        updates: { added: [], removed: [] },
      },
      handler: ({ body, ctx }) => deps.ingest.changes(sessionOf(ctx), ctx, body),
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/agent/devices/:deviceId/jobs",
      summary: "Wait up to waitSeconds for queued jobs (long poll); answers at once when there are some",
      tags: ["agent"],
      permission: "device",
      schema: {
        params: DeviceParams,
        querystring: Type.Object(
          { waitSeconds: Type.Integer({ minimum: 0, maximum: MAX_JOB_WAIT_SECONDS, default: 25 }) },
          { additionalProperties: false },
        ),
        response: { 200: JobsResponse },
      },
      async handler({ query, ctx, request }) {
        const session = sessionOf(ctx);
        if (!session.jobsPending && query.waitSeconds > 0) {
          // An agent that hangs up stops the wait (its keep-alive socket may serve many requests).
          const socket = request.raw.socket;
          const hangUp = () => deps.waiters.wake(session.deviceId);
          socket.once("close", hangUp);
          try {
            await deps.waiters.wait(session.deviceId, query.waitSeconds * 1000);
          } finally {
            socket.off("close", hangUp);
          }
        }
        // A token revoked while the request waited answers as a revoked token does.
        await deps.sessions.authenticate(bearerToken(request.headers.authorization), session.deviceId, ctx);
        return { jobs: session.jobsPending ? await deliverJobs(db, session, ctx) : [] };
      },
    }),
    defineRoute({
      method: "POST",
      url: "/api/v1/agent/devices/:deviceId/job-results",
      summary: "Report a job's outcome (idempotent by reportId)",
      tags: ["agent"],
      permission: "device",
      schema: { params: DeviceParams, body: JobResultReport, response: { 200: ReportAccepted } },
      example: {
        reportId: EXAMPLE_REPORT_ID,
        jobId: "0b8e7a53-3c8e-4d5f-a0a3-0d7c2e9c8f10",
        outcome: "succeeded",
        startedAt: "2026-12-01T10:00:00Z",
        finishedAt: "2026-12-01T10:00:04Z",
        summary: "inventory sent: 1,843 packages",
      },
      handler: ({ body, ctx }) => recordJobResult(db, sessionOf(ctx), ctx, body, deps.jobResults),
    }),
    defineRoute({
      method: "POST",
      url: "/api/v1/agent/devices/:deviceId/token",
      summary: "Rotate the device token: the new one replaces this one once it is first used",
      tags: ["agent"],
      permission: "device",
      successStatus: 201,
      schema: { params: DeviceParams, response: { 201: TokenRotationResponse } },
      handler: ({ ctx }) => rotateDeviceToken(db, sessionOf(ctx), ctx),
    }),
  ];
}
