import { randomUUID } from "node:crypto";
import type { Selectable } from "kysely";
import type { Database } from "../../db/database.js";
import type { AlertKind, AlertRulesTable } from "../../db/schema.js";
import { AppError } from "../../http/errors.js";
import { type RequestContext, scopeOf } from "../../http/route.js";
import type { SecretBox } from "../../secrets/secret-box.js";
import { type Thresholds, thresholdColumns, thresholdsOf } from "./kinds.js";
import { checkWebhookUrl } from "./webhook-target.js";

export interface AlertRuleInput {
  name: string;
  kind: AlertKind;
  enabled?: boolean;
  thresholds?: Thresholds;
  emails?: string[];
  /** The secret may be left out when changing a rule that has one: it is kept. */
  webhook?: { url: string; secret?: string } | null;
}

export interface AlertRuleView {
  id: string;
  name: string;
  kind: AlertKind;
  enabled: boolean;
  thresholds: Thresholds;
  emails: string[];
  webhook: { url: string; hasSecret: boolean } | null;
  createdAt: string;
  updatedAt: string;
  openAlert: { id: string; summary: string; raisedAt: string } | null;
}

export interface AlertRulesDeps {
  db: Database;
  secrets: SecretBox;
  /** Whether webhooks may go to loopback addresses (configuration). */
  webhookLoopback: boolean;
}

/** The sealed secret is bound to its rule: moved to another rule's row, it does not open. */
export function webhookSecretContext(organizationId: string, ruleId: string): string {
  return `alert-webhook:${organizationId}:${ruleId}`;
}

type RuleRow = Selectable<AlertRulesTable>;

function view(
  row: RuleRow,
  open: { id: string; summary: string; raised_at: Date } | undefined,
): AlertRuleView {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    enabled: row.enabled,
    thresholds: thresholdsOf(row),
    emails: row.emails,
    webhook: row.webhook_url ? { url: row.webhook_url, hasSecret: row.sealed_webhook_secret !== null } : null,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    openAlert: open ? { id: open.id, summary: open.summary, raisedAt: open.raised_at.toISOString() } : null,
  };
}

/** What an audit row says about a rule: never the secret, and recipients only by number. */
function auditDetails(
  input: AlertRuleInput,
  columns: { threshold: number | null; window_minutes: number | null },
  emails: string[],
) {
  return {
    name: input.name,
    kind: input.kind,
    enabled: input.enabled ?? true,
    threshold: columns.threshold,
    windowMinutes: columns.window_minutes,
    emailRecipients: emails.length,
    webhookHost: input.webhook ? new URL(input.webhook.url).host : null,
  };
}

function checkChannels(input: AlertRuleInput, allowLoopback: boolean): string[] {
  const emails = [...new Set((input.emails ?? []).map((e) => e.trim().toLowerCase()))];
  if (emails.length === 0 && !input.webhook) {
    throw new AppError("request.invalid", {
      field: "emails",
      message: "A rule needs at least one channel: e-mail recipients or a webhook.",
    });
  }
  if (input.webhook) checkWebhookUrl(input.webhook.url, allowLoopback);
  return emails;
}

export async function listAlertRules(deps: AlertRulesDeps, ctx: RequestContext): Promise<AlertRuleView[]> {
  const { organizationId } = scopeOf(ctx);
  return deps.db.withOrganization(organizationId, ctx, async (tx) => {
    const rows = await tx.db
      .selectFrom("alert_rules")
      .selectAll()
      .orderBy("created_at")
      .orderBy("id")
      .execute();
    const open = await tx.db
      .selectFrom("alerts")
      .select(["id", "rule_id", "summary", "raised_at"])
      .where("state", "=", "open")
      .execute();
    return rows.map((r) =>
      view(
        r,
        open.find((a) => a.rule_id === r.id),
      ),
    );
  });
}

export async function getAlertRule(
  deps: AlertRulesDeps,
  ctx: RequestContext,
  ruleId: string,
): Promise<AlertRuleView> {
  const { organizationId } = scopeOf(ctx);
  return deps.db.withOrganization(organizationId, ctx, async (tx) => {
    const row = await tx.db.selectFrom("alert_rules").selectAll().where("id", "=", ruleId).executeTakeFirst();
    if (!row) throw new AppError("alerts.rule_not_found");
    const open = await tx.db
      .selectFrom("alerts")
      .select(["id", "summary", "raised_at"])
      .where("rule_id", "=", ruleId)
      .where("state", "=", "open")
      .executeTakeFirst();
    return view(row, open);
  });
}

export async function createAlertRule(
  deps: AlertRulesDeps,
  ctx: RequestContext,
  input: AlertRuleInput,
): Promise<AlertRuleView> {
  const { organizationId } = scopeOf(ctx);
  const columns = thresholdColumns(input.kind, input.thresholds ?? {});
  const emails = checkChannels(input, deps.webhookLoopback);
  if (input.webhook && input.webhook.secret === undefined) {
    throw new AppError("request.invalid", {
      field: "webhook.secret",
      message: "A webhook needs a secret to sign its requests with (16 to 200 characters).",
    });
  }
  const id = randomUUID();
  await deps.db.withOrganization(organizationId, ctx, async (tx) => {
    await tx.db
      .insertInto("alert_rules")
      .values({
        id,
        name: input.name,
        kind: input.kind,
        enabled: input.enabled ?? true,
        ...columns,
        emails,
        webhook_url: input.webhook?.url ?? null,
        sealed_webhook_secret:
          input.webhook?.secret !== undefined
            ? deps.secrets.seal(input.webhook.secret, webhookSecretContext(organizationId, id))
            : null,
        created_by: ctx.user?.id ?? null,
      })
      .execute();
    tx.audit({
      action: "alert_rules.created",
      target: { type: "alert_rule", id },
      details: auditDetails(input, columns, emails),
    });
  });
  return getAlertRule(deps, ctx, id);
}

/** Replaces a rule's settings; a webhook secret left out is kept (when the rule has one). */
export async function updateAlertRule(
  deps: AlertRulesDeps,
  ctx: RequestContext,
  ruleId: string,
  input: AlertRuleInput,
): Promise<AlertRuleView> {
  const { organizationId } = scopeOf(ctx);
  const columns = thresholdColumns(input.kind, input.thresholds ?? {});
  const emails = checkChannels(input, deps.webhookLoopback);
  await deps.db.withOrganization(organizationId, ctx, async (tx) => {
    const current = await tx.db
      .selectFrom("alert_rules")
      .select(["id", "kind", "sealed_webhook_secret"])
      .where("id", "=", ruleId)
      .forUpdate()
      .executeTakeFirst();
    if (!current) throw new AppError("alerts.rule_not_found");
    if (current.kind !== input.kind) {
      throw new AppError("request.invalid", {
        field: "kind",
        message: "A rule's kind cannot change; make a new rule instead.",
      });
    }
    let sealed: string | null = null;
    if (input.webhook) {
      if (input.webhook.secret !== undefined) {
        sealed = deps.secrets.seal(input.webhook.secret, webhookSecretContext(organizationId, ruleId));
      } else if (current.sealed_webhook_secret) {
        sealed = current.sealed_webhook_secret;
      } else {
        throw new AppError("request.invalid", {
          field: "webhook.secret",
          message: "A webhook needs a secret to sign its requests with (16 to 200 characters).",
        });
      }
    }
    await tx.db
      .updateTable("alert_rules")
      .set({
        name: input.name,
        enabled: input.enabled ?? true,
        ...columns,
        emails,
        webhook_url: input.webhook?.url ?? null,
        sealed_webhook_secret: sealed,
        updated_at: new Date(),
      })
      .where("id", "=", ruleId)
      .execute();
    tx.audit({
      action: "alert_rules.updated",
      target: { type: "alert_rule", id: ruleId },
      details: {
        ...auditDetails(input, columns, emails),
        webhookSecret: input.webhook?.secret ? "changed" : "kept",
      },
    });
  });
  return getAlertRule(deps, ctx, ruleId);
}

/** Removes a rule with its alerts and their undelivered notices; the audit chain keeps their history. */
export async function deleteAlertRule(
  deps: AlertRulesDeps,
  ctx: RequestContext,
  ruleId: string,
): Promise<null> {
  const { organizationId } = scopeOf(ctx);
  await deps.db.withOrganization(organizationId, ctx, async (tx) => {
    const rule = await tx.db
      .selectFrom("alert_rules")
      .select(["id", "name", "kind"])
      .where("id", "=", ruleId)
      .forUpdate()
      .executeTakeFirst();
    if (!rule) throw new AppError("alerts.rule_not_found");
    const alerts = tx.db.selectFrom("alerts").select("id").where("rule_id", "=", ruleId);
    await tx.db.deleteFrom("alert_deliveries").where("alert_id", "in", alerts).execute();
    await tx.db.deleteFrom("alerts").where("rule_id", "=", ruleId).execute();
    await tx.db.deleteFrom("alert_rules").where("id", "=", ruleId).execute();
    tx.audit({
      action: "alert_rules.deleted",
      target: { type: "alert_rule", id: ruleId },
      details: { name: rule.name, kind: rule.kind },
    });
  });
  return null;
}

export interface AlertView {
  id: string;
  ruleId: string;
  kind: AlertKind;
  state: "open" | "resolved";
  summary: string;
  details: Record<string, unknown>;
  raisedAt: string;
  resolvedAt: string | null;
  deliveries: { event: string; channel: string; state: string; attempts: number; lastError: string | null }[];
}

/** The organisation's alerts, newest first, with the state of each notice. */
export async function listAlerts(
  deps: AlertRulesDeps,
  ctx: RequestContext,
  query: { state?: "open" | "resolved"; limit?: number },
): Promise<AlertView[]> {
  const { organizationId } = scopeOf(ctx);
  return deps.db.withOrganization(organizationId, ctx, async (tx) => {
    let q = tx.db
      .selectFrom("alerts")
      .selectAll()
      .orderBy("raised_at", "desc")
      .orderBy("id")
      .limit(query.limit ?? 100);
    if (query.state) q = q.where("state", "=", query.state);
    const alerts = await q.execute();
    const deliveries =
      alerts.length === 0
        ? []
        : await tx.db
            .selectFrom("alert_deliveries")
            .select(["alert_id", "event", "channel", "state", "attempts", "last_error"])
            .where(
              "alert_id",
              "in",
              alerts.map((a) => a.id),
            )
            .orderBy("created_at")
            .execute();
    return alerts.map((a) => ({
      id: a.id,
      ruleId: a.rule_id,
      kind: a.kind,
      state: a.state,
      summary: a.summary,
      details: a.details,
      raisedAt: a.raised_at.toISOString(),
      resolvedAt: a.resolved_at?.toISOString() ?? null,
      deliveries: deliveries
        .filter((d) => d.alert_id === a.id)
        .map((d) => ({
          event: d.event,
          channel: d.channel,
          state: d.state,
          attempts: d.attempts,
          lastError: d.last_error,
        })),
    }));
  });
}
