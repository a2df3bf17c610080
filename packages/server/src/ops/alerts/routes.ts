import Type from "typebox";
import { defineRoute, type RouteDefinition } from "../../http/route.js";
import { Email, NoContent, OrgParams, Uuid } from "../../http/schemas.js";
import {
  type AlertRulesDeps,
  createAlertRule,
  deleteAlertRule,
  getAlertRule,
  listAlertRules,
  listAlerts,
  updateAlertRule,
} from "./rules-service.js";

const Kind = Type.Union([
  Type.Literal("device_offline"),
  Type.Literal("checkin_error_spike"),
  Type.Literal("feed_stale"),
  Type.Literal("backup_failed"),
  Type.Literal("restore_test_failed"),
  Type.Literal("sla_breach"),
]);

const Thresholds = Type.Object(
  {
    hours: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 720, description: "device_offline, feed_stale" }),
    ),
    count: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 100_000, description: "checkin_error_spike, sla_breach" }),
    ),
    windowMinutes: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 10_080, description: "checkin_error_spike" }),
    ),
  },
  { additionalProperties: false },
);

const RuleBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, pattern: "^[^\\u0000-\\u001f]+$" }),
    kind: Kind,
    enabled: Type.Optional(Type.Boolean()),
    thresholds: Type.Optional(Thresholds),
    emails: Type.Optional(Type.Array(Email, { maxItems: 20 })),
    webhook: Type.Optional(
      Type.Union([
        Type.Object(
          {
            url: Type.String({ minLength: 9, maxLength: 2000 }),
            secret: Type.Optional(
              Type.String({
                minLength: 16,
                maxLength: 200,
                description: "Signs every request (HMAC-SHA256); stored sealed, never shown again.",
              }),
            ),
          },
          { additionalProperties: false },
        ),
        Type.Null(),
      ]),
    ),
  },
  { additionalProperties: false },
);

const Rule = Type.Object({
  id: Type.String(),
  name: Type.String(),
  kind: Type.String(),
  enabled: Type.Boolean(),
  thresholds: Type.Object({
    hours: Type.Optional(Type.Integer()),
    count: Type.Optional(Type.Integer()),
    windowMinutes: Type.Optional(Type.Integer()),
  }),
  emails: Type.Array(Type.String()),
  webhook: Type.Union([Type.Object({ url: Type.String(), hasSecret: Type.Boolean() }), Type.Null()]),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  openAlert: Type.Union([
    Type.Object({ id: Type.String(), summary: Type.String(), raisedAt: Type.String() }),
    Type.Null(),
  ]),
});

const Alert = Type.Object({
  id: Type.String(),
  ruleId: Type.String(),
  kind: Type.String(),
  state: Type.String(),
  summary: Type.String(),
  details: Type.Object({}, { additionalProperties: true }),
  raisedAt: Type.String(),
  resolvedAt: Type.Union([Type.String(), Type.Null()]),
  deliveries: Type.Array(
    Type.Object({
      event: Type.String(),
      channel: Type.String(),
      state: Type.String(),
      attempts: Type.Integer(),
      lastError: Type.Union([Type.String(), Type.Null()]),
    }),
  ),
});

const RuleParams = Type.Object({ orgId: Uuid, ruleId: Uuid }, { additionalProperties: false });

const EXAMPLE = {
  name: "Devices offline for a day",
  kind: "device_offline" as const,
  thresholds: { hours: 24 },
  emails: ["ops@example.com"],
};

export function alertRoutes(deps: AlertRulesDeps): RouteDefinition[] {
  return [
    defineRoute({
      method: "GET",
      url: "/api/v1/orgs/:orgId/alert-rules",
      summary: "The organisation's alert rules (webhook secrets are never shown)",
      tags: ["alerts"],
      permission: "alert_rules.read",
      schema: { params: OrgParams, response: { 200: Type.Object({ items: Type.Array(Rule) }) } },
      handler: async ({ ctx }) => ({ items: await listAlertRules(deps, ctx) }),
    }),
    defineRoute({
      method: "POST",
      url: "/api/v1/orgs/:orgId/alert-rules",
      summary: "Create an alert rule",
      tags: ["alerts"],
      permission: "alert_rules.manage",
      successStatus: 201,
      schema: { params: OrgParams, body: RuleBody, response: { 201: Rule } },
      example: EXAMPLE,
      handler: async ({ ctx, body }) => createAlertRule(deps, ctx, body),
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/orgs/:orgId/alert-rules/:ruleId",
      summary: "One alert rule",
      tags: ["alerts"],
      permission: "alert_rules.read",
      schema: { params: RuleParams, response: { 200: Rule } },
      handler: async ({ ctx, params }) => getAlertRule(deps, ctx, params.ruleId),
    }),
    defineRoute({
      method: "PUT",
      url: "/api/v1/orgs/:orgId/alert-rules/:ruleId",
      summary: "Change an alert rule (its kind stays; a webhook secret left out is kept)",
      tags: ["alerts"],
      permission: "alert_rules.manage",
      schema: { params: RuleParams, body: RuleBody, response: { 200: Rule } },
      example: EXAMPLE,
      handler: async ({ ctx, params, body }) => updateAlertRule(deps, ctx, params.ruleId, body),
    }),
    defineRoute({
      method: "DELETE",
      url: "/api/v1/orgs/:orgId/alert-rules/:ruleId",
      summary: "Delete an alert rule with its alerts and undelivered notices",
      tags: ["alerts"],
      permission: "alert_rules.manage",
      successStatus: 204,
      schema: { params: RuleParams, response: { 204: NoContent } },
      handler: async ({ ctx, params }) => deleteAlertRule(deps, ctx, params.ruleId),
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/orgs/:orgId/alerts",
      summary: "Alerts raised by the organisation's rules, newest first, with their notices' delivery",
      tags: ["alerts"],
      permission: "alert_rules.read",
      schema: {
        params: OrgParams,
        querystring: Type.Object(
          {
            state: Type.Optional(Type.Union([Type.Literal("open"), Type.Literal("resolved")])),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ items: Type.Array(Alert) }) },
      },
      handler: async ({ ctx, query }) => ({ items: await listAlerts(deps, ctx, query) }),
    }),
  ];
}
