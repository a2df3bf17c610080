import { EVIDENCE_QUERIES, FRAMEWORKS } from "@patchpilot/domain";
import Type from "typebox";
import type { Database } from "../db/database.js";
import { attachment } from "../http/csv.js";
import { defineRoute, type RouteDefinition, scopeOf } from "../http/route.js";
import { OrgParams, Timestamp, Uuid } from "../http/schemas.js";
import type { SecretBox } from "../secrets/secret-box.js";
import { listCheckpoints, signCheckpoints } from "./checkpoints/checkpoints.js";
import type { EvidenceKeyStore } from "./evidence/evidence-key.js";
import { generateEvidencePack } from "./evidence/evidence-pack.js";
import { exportAuditEventsCsv, exportDeviceEventsCsv } from "./exports/event-export.js";
import { getRetention, setRetention } from "./retention/retention-settings.js";
import { getSiemSettings, putSiemSettings } from "./siem/siem-settings.js";

const ShortText = Type.String({ minLength: 1, maxLength: 200 });
const Nullable = <T extends import("typebox").TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Retention = Type.Object({
  plan: Type.String(),
  planDays: Nullable(Type.Integer()),
  customDays: Nullable(Type.Integer()),
  effectiveDays: Type.Integer(),
});
const Checkpoint = Type.Object({
  id: Type.String(),
  chain: Type.String(),
  seq: Type.Integer(),
  headHash: Type.String(),
  signedAt: Type.String(),
  keyId: Type.String(),
  statement: Type.String({ description: "RFC 8785 JSON; the signed bytes" }),
  signature: Type.String({ description: "Ed25519 over the statement, base64" }),
});

const SiemSettings = Type.Object({
  host: Type.String(),
  port: Type.Integer(),
  transport: Type.String(),
  format: Type.String(),
  facility: Type.Integer(),
  hasCa: Type.Boolean(),
  enabled: Type.Boolean(),
  queued: Type.Integer(),
  failures: Type.Integer(),
  lastError: Nullable(Type.String()),
  nextAttemptAt: Type.String(),
  lastDeliveredSeq: Type.Integer(),
});

export function complianceRoutes(
  db: Database,
  keys: EvidenceKeyStore,
  secrets: SecretBox,
): RouteDefinition[] {
  return [
    defineRoute({
      method: "GET",
      url: "/api/v1/evidence/public-key",
      summary: "The server's Ed25519 evidence key, which signs checkpoints and evidence packs",
      tags: ["compliance"],
      permission: "authenticated",
      isolationExempt: "the installation's one public key; it shows nothing of any organisation",
      schema: {
        response: {
          200: Type.Object({
            keyId: Type.String(),
            algorithm: Type.Literal("Ed25519"),
            publicKeyPem: Type.String(),
          }),
        },
      },
      handler: async () => {
        const key = await keys.current();
        return { keyId: key.id, algorithm: "Ed25519" as const, publicKeyPem: key.publicKeyPem };
      },
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/orgs/:orgId/audit-retention",
      summary: "How long the organisation's audit and device events are kept",
      tags: ["compliance"],
      permission: "audit.read",
      schema: { params: OrgParams, response: { 200: Retention } },
      handler: ({ ctx }) => getRetention(db, ctx),
    }),
    defineRoute({
      method: "PUT",
      url: "/api/v1/orgs/:orgId/audit-retention",
      summary: "Set an Enterprise or MSP organisation's own audit retention (Owners only; null: the default)",
      tags: ["compliance"],
      permission: "compliance.manage",
      schema: {
        params: OrgParams,
        body: Type.Object(
          { days: Nullable(Type.Integer({ minimum: 30, maximum: 36500 })) },
          { additionalProperties: false },
        ),
        response: { 200: Retention },
      },
      example: { days: 2555 },
      handler: ({ ctx, body }) => setRetention(db, ctx, body.days),
    }),
    defineRoute({
      method: "POST",
      url: "/api/v1/orgs/:orgId/audit-checkpoints",
      summary: "Sign the current heads of the organisation's audit chains now",
      tags: ["compliance"],
      permission: "compliance.manage",
      successStatus: 201,
      schema: { params: OrgParams, response: { 201: Type.Object({ checkpoints: Type.Array(Checkpoint) }) } },
      handler: async ({ ctx }) => ({
        checkpoints: await signCheckpoints(db, scopeOf(ctx).organizationId, ctx, await keys.current()),
      }),
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/orgs/:orgId/audit-checkpoints",
      summary: "The organisation's signed chain checkpoints, oldest first",
      tags: ["compliance"],
      permission: "audit.read",
      schema: { params: OrgParams, response: { 200: Type.Object({ checkpoints: Type.Array(Checkpoint) }) } },
      handler: async ({ ctx }) => ({
        checkpoints: await db.withOrganization(scopeOf(ctx).organizationId, ctx, (tx) => listCheckpoints(tx)),
      }),
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/compliance/frameworks",
      summary: "The frameworks evidence packs are made for, their controls and the evidence each maps to",
      tags: ["compliance"],
      permission: "authenticated",
      isolationExempt: "the product's control catalogue; the same for everyone",
      schema: {
        response: {
          200: Type.Object({
            frameworks: Type.Array(
              Type.Object({
                id: Type.String(),
                name: Type.String(),
                controls: Type.Array(
                  Type.Object({
                    id: Type.String(),
                    title: Type.String(),
                    evidence: Type.Array(Type.String()),
                  }),
                ),
              }),
            ),
            evidence: Type.Record(Type.String(), Type.String()),
          }),
        },
      },
      handler: async () => ({
        frameworks: FRAMEWORKS.map((f) => ({
          id: f.id,
          name: f.name,
          controls: f.controls.map((c) => ({ id: c.id, title: c.title, evidence: [...c.evidence] })),
        })),
        evidence: { ...EVIDENCE_QUERIES },
      }),
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/orgs/:orgId/evidence-pack",
      summary: "A signed evidence pack (ZIP) for a framework and period; audited",
      tags: ["compliance"],
      permission: "audit.read",
      contentType: "application/zip",
      schema: {
        params: OrgParams,
        querystring: Type.Object(
          {
            framework: Type.String({ minLength: 1, maxLength: 60 }),
            from: Timestamp,
            to: Timestamp,
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.String({ description: "ZIP archive" }) },
      },
      async handler({ ctx, query, reply }) {
        const pack = await generateEvidencePack(db, ctx, keys, query);
        reply.header("content-disposition", attachment(pack.fileName));
        return pack.zip;
      },
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/orgs/:orgId/siem",
      summary: "The organisation's SIEM destination and its delivery state",
      tags: ["compliance"],
      permission: "audit.read",
      schema: { params: OrgParams, response: { 200: SiemSettings } },
      handler: ({ ctx }) => getSiemSettings(db, ctx),
    }),
    defineRoute({
      method: "PUT",
      url: "/api/v1/orgs/:orgId/siem",
      summary:
        "Forward the organisation's audit events to a SIEM over syslog (RFC 5424 or CEF; Business plan and up)",
      tags: ["compliance"],
      permission: "compliance.manage",
      schema: {
        params: OrgParams,
        body: Type.Object(
          {
            host: Type.String({ minLength: 1, maxLength: 253, pattern: "^[A-Za-z0-9.:-]+$" }),
            port: Type.Integer({ minimum: 1, maximum: 65535 }),
            transport: Type.Union([Type.Literal("udp"), Type.Literal("tcp"), Type.Literal("tls")]),
            format: Type.Optional(Type.Union([Type.Literal("rfc5424"), Type.Literal("cef")])),
            facility: Type.Integer({ minimum: 0, maximum: 23, default: 16 }),
            caPem: Type.Optional(Nullable(Type.String({ maxLength: 20_000 }))),
            enabled: Type.Boolean({ default: true }),
          },
          { additionalProperties: false },
        ),
        response: { 200: SiemSettings },
      },
      example: { host: "siem.example.com", port: 6514, transport: "tls", facility: 16, enabled: true },
      handler: ({ ctx, body }) => putSiemSettings(db, ctx, secrets, body),
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/orgs/:orgId/audit-events.csv",
      summary:
        "The audit events matching the filters as CSV, oldest first (spreadsheet formulas neutralised); audited",
      tags: ["audit"],
      permission: "audit.read",
      contentType: "text/csv; charset=utf-8",
      schema: {
        params: OrgParams,
        querystring: Type.Object(
          {
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
        response: { 200: Type.String({ description: "CSV with a header row (RFC 4180)" }) },
      },
      async handler({ ctx, query, reply }) {
        const csv = await exportAuditEventsCsv(db, ctx, query);
        reply.header(
          "content-disposition",
          attachment(`audit-events-${new Date().toISOString().slice(0, 10)}.csv`),
        );
        return csv;
      },
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/orgs/:orgId/device-events.csv",
      summary:
        "The device events matching the filters as CSV, oldest first (spreadsheet formulas neutralised); audited",
      tags: ["audit"],
      permission: "device_events.read",
      contentType: "text/csv; charset=utf-8",
      schema: {
        params: OrgParams,
        querystring: Type.Object(
          {
            from: Type.Optional(Timestamp),
            to: Type.Optional(Timestamp),
            deviceId: Type.Optional(Uuid),
            eventType: Type.Optional(ShortText),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.String({ description: "CSV with a header row (RFC 4180)" }) },
      },
      async handler({ ctx, query, reply }) {
        const csv = await exportDeviceEventsCsv(db, ctx, query);
        reply.header(
          "content-disposition",
          attachment(`device-events-${new Date().toISOString().slice(0, 10)}.csv`),
        );
        return csv;
      },
    }),
  ];
}
