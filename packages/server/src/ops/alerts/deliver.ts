import http from "node:http";
import https from "node:https";
import { isIP } from "node:net";
import { sql } from "kysely";
import nodemailer, { type Transporter } from "nodemailer";
import type { Config } from "../../config/config.js";
import type { Database } from "../../db/database.js";
import type { SecretBox } from "../../secrets/secret-box.js";
import { ALERTS_CONTEXT } from "./evaluate.js";
import { emailSubject, emailText, type Notice, webhookBody, webhookSignature } from "./notices.js";
import { webhookSecretContext } from "./rules-service.js";
import { guardedLookup, isLoopbackAddress, mayConnectTo } from "./webhook-target.js";

const BATCH = 20;
const LEASE_SECONDS = 120;
const POLL_MS = 5000;
const TIMEOUT_MS = 10_000;
/** After this many failed attempts (about a day and a half of backoff) a notice is given up, and audited. */
export const MAX_DELIVERY_ATTEMPTS = 12;

/** Seconds before the next attempt after `failures` failed ones: 15 s doubling, at most 4 h. */
export function alertBackoffSeconds(failures: number): number {
  return Math.min(14_400, 15 * 2 ** Math.min(Math.max(failures - 1, 0), 12));
}

export interface AlertLog {
  warn(message: string, details?: Record<string, unknown>): void;
}

interface Leased {
  id: string;
  organization_id: string;
  event: "raised" | "resolved";
  channel: "email" | "webhook";
  attempts: number;
  alert_id: string;
  kind: string;
  summary: string;
  details: Record<string, unknown>;
  raised_at: Date;
  resolved_at: Date | null;
  rule_id: string;
  rule_name: string;
  emails: string[];
  webhook_url: string | null;
  sealed_webhook_secret: string | null;
  organization_name: string;
}

/**
 * Delivers the alert outbox: each notice is leased (no transaction is held over the network), sent,
 * and marked delivered, or retried with exponential backoff. A resolved notice waits for its raised
 * one on the same channel. A crash between sending and marking sends that notice again: webhook
 * receivers drop the repeat by its X-PatchPilot-Delivery id.
 */
export class AlertDeliverer {
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #mailer: Transporter | null = null;

  constructor(
    private readonly db: Database,
    private readonly secrets: SecretBox,
    private readonly config: Config,
    private readonly log: AlertLog,
  ) {}

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => this.kick(), POLL_MS);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#running;
    this.#mailer?.close();
    this.#mailer = null;
  }

  kick(): void {
    if (this.#running) return;
    this.#running = this.deliverDue()
      .then(() => {})
      .catch((error: unknown) => this.log.warn("alert delivery failed", { error: String(error) }))
      .finally(() => {
        this.#running = null;
      });
  }

  /** Sends every notice due by `now`; returns how many were delivered. */
  async deliverDue(now = new Date()): Promise<number> {
    let delivered = 0;
    for (;;) {
      const batch = await this.#lease(now);
      for (const notice of batch) if (await this.#deliver(notice, now)) delivered++;
      if (batch.length < BATCH) return delivered;
    }
  }

  async #lease(now: Date): Promise<Leased[]> {
    const ids = await this.db.system(
      ALERTS_CONTEXT,
      async (tx) =>
        (
          await sql<{ id: string }>`
            UPDATE alert_deliveries SET leased_until = now() + make_interval(secs => ${LEASE_SECONDS}),
                                        attempts = attempts + 1
             WHERE id IN (
               SELECT d.id FROM alert_deliveries d
                WHERE d.state = 'pending' AND d.next_attempt_at <= ${now}
                  AND (d.leased_until IS NULL OR d.leased_until < now())
                  AND NOT (d.event = 'resolved' AND EXISTS (
                        SELECT 1 FROM alert_deliveries r
                         WHERE r.alert_id = d.alert_id AND r.channel = d.channel
                           AND r.event = 'raised' AND r.state = 'pending'))
                ORDER BY d.created_at, d.id LIMIT ${BATCH} FOR UPDATE SKIP LOCKED)
            RETURNING id`.execute(tx.db)
        ).rows.map((r) => r.id),
      { unaudited: "leasing an alert notice for delivery is bookkeeping" },
    );
    if (ids.length === 0) return [];
    const rows = await sql<Leased>`
      SELECT d.id, d.organization_id, d.event, d.channel, d.attempts, a.id AS alert_id, a.kind, a.summary,
             a.details, a.raised_at, a.resolved_at, r.id AS rule_id, r.name AS rule_name, r.emails,
             r.webhook_url, r.sealed_webhook_secret, o.name AS organization_name
        FROM alert_deliveries d
        JOIN alerts a ON a.id = d.alert_id
        JOIN alert_rules r ON r.id = a.rule_id
        JOIN organizations o ON o.id = d.organization_id
       WHERE d.id = ANY(${ids}::uuid[])
       ORDER BY d.created_at, d.id`.execute(this.db.systemReader);
    return rows.rows;
  }

  async #deliver(row: Leased, now: Date): Promise<boolean> {
    const notice: Notice = {
      deliveryId: row.id,
      event: row.event,
      organization: { id: row.organization_id, name: row.organization_name },
      rule: { id: row.rule_id, name: row.rule_name, kind: row.kind },
      alert: {
        id: row.alert_id,
        summary: row.summary,
        details: row.details,
        raisedAt: new Date(row.raised_at).toISOString(),
        resolvedAt: row.resolved_at ? new Date(row.resolved_at).toISOString() : null,
      },
    };
    let error: string | null = null;
    try {
      if (row.channel === "email") await this.#sendEmail(row, notice);
      else await this.#sendWebhook(row, notice);
    } catch (e) {
      error = (e instanceof Error ? e.message : String(e)).slice(0, 500);
      this.log.warn("an alert notice could not be delivered; it is retried", {
        organizationId: row.organization_id,
        deliveryId: row.id,
        channel: row.channel,
        attempt: row.attempts,
        error,
      });
    }
    await this.#settle(row, error, now);
    return error === null;
  }

  async #sendEmail(row: Leased, notice: Notice): Promise<void> {
    if (row.emails.length === 0) throw new Error("the rule has no e-mail recipients any more");
    const mailer = this.#transport();
    await mailer.sendMail({
      from: this.config.smtpFrom,
      to: row.emails,
      subject: emailSubject(notice),
      text: emailText(notice, this.config.publicUrl.toString()),
      headers: { "X-PatchPilot-Delivery": notice.deliveryId },
    });
  }

  #transport(): Transporter {
    if (this.#mailer) return this.#mailer;
    if (!this.config.smtpUrl) throw new Error("no SMTP server is configured (set PATCHPILOT_SMTP_URL)");
    const url = this.config.smtpUrl.reveal();
    const host = new URL(url).hostname.replace(/^\[|\]$/g, "");
    this.#mailer = nodemailer.createTransport({
      url,
      // smtp:// upgrades with STARTTLS; insisting on it keeps alert mail off the wire in clear text,
      // except to a relay on this host.
      requireTLS: url.startsWith("smtp:") && !(isLoopbackAddress(host) || host === "localhost"),
      connectionTimeout: TIMEOUT_MS,
      greetingTimeout: TIMEOUT_MS,
      socketTimeout: 2 * TIMEOUT_MS,
    });
    return this.#mailer;
  }

  async #sendWebhook(row: Leased, notice: Notice): Promise<void> {
    if (!row.webhook_url || !row.sealed_webhook_secret) throw new Error("the rule has no webhook any more");
    const url = new URL(row.webhook_url);
    const allowLoopback = this.config.alertWebhookLoopback;
    const host = url.hostname.replace(/^\[|\]$/g, "");
    // An address in the URL is connected to without a lookup: it is checked here.
    if (isIP(host) !== 0 && !mayConnectTo(host, allowLoopback)) {
      throw new Error("the webhook's address is internal; not sent");
    }
    if (url.protocol === "http:" && !(allowLoopback && (isLoopbackAddress(host) || host === "localhost"))) {
      throw new Error("the webhook must use https; not sent");
    }
    const secret = this.secrets.open(
      row.sealed_webhook_secret,
      webhookSecretContext(row.organization_id, row.rule_id),
    );
    const timestamp = Math.floor(Date.now() / 1000);
    const body = webhookBody(notice, new Date(timestamp * 1000));
    const status = await post(
      url,
      body,
      {
        "content-type": "application/json",
        "user-agent": "PatchPilot-Alerts/1",
        "x-patchpilot-event": `alert.${notice.event}`,
        "x-patchpilot-delivery": notice.deliveryId,
        "x-patchpilot-timestamp": String(timestamp),
        "x-patchpilot-signature": webhookSignature(secret, timestamp, body),
      },
      guardedLookup(allowLoopback),
    );
    if (status < 200 || status >= 300) throw new Error(`the webhook answered HTTP ${status}`);
  }

  async #settle(row: Leased, error: string | null, now: Date): Promise<void> {
    const final = error !== null && row.attempts >= MAX_DELIVERY_ATTEMPTS;
    await this.db.system(
      ALERTS_CONTEXT,
      async (tx) => {
        if (error === null) {
          await sql`
            UPDATE alert_deliveries SET state = 'delivered', delivered_at = now(), leased_until = NULL, last_error = NULL
             WHERE id = ${row.id}`.execute(tx.db);
        } else if (final) {
          await sql`
            UPDATE alert_deliveries SET state = 'failed', leased_until = NULL, last_error = ${error}
             WHERE id = ${row.id}`.execute(tx.db);
          tx.audit(row.organization_id, {
            action: "alerts.delivery_failed",
            target: { type: "alert", id: row.alert_id },
            result: "failure",
            errorCode: "alerts.delivery_failed",
            details: {
              deliveryId: row.id,
              event: row.event,
              channel: row.channel,
              attempts: row.attempts,
              error,
            },
          });
        } else {
          const next = new Date(now.getTime() + alertBackoffSeconds(row.attempts) * 1000);
          await sql`
            UPDATE alert_deliveries SET leased_until = NULL, last_error = ${error}, next_attempt_at = ${next}
             WHERE id = ${row.id}`.execute(tx.db);
        }
      },
      { unaudited: "the delivery state of an alert notice; the alert itself is audited" },
    );
  }
}

/** One POST, no redirects followed, bounded in time; answers the status code. */
function post(
  url: URL,
  body: string,
  headers: Record<string, string>,
  lookup: ReturnType<typeof guardedLookup>,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = (url.protocol === "https:" ? https : http).request(
      url,
      {
        method: "POST",
        headers: { ...headers, "content-length": String(Buffer.byteLength(body)) },
        lookup,
        timeout: TIMEOUT_MS,
        minVersion: "TLSv1.2",
      },
      (response) => {
        response.resume(); // the answer's body is not needed
        response.on("end", () => resolve(response.statusCode ?? 0));
        response.on("error", reject);
      },
    );
    request.on("timeout", () => request.destroy(new Error("the webhook did not answer within 10 s")));
    request.on("error", reject);
    request.end(body);
  });
}
