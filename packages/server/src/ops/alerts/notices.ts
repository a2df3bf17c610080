import { createHmac } from "node:crypto";

/** What one notice says, on every channel. */
export interface Notice {
  deliveryId: string;
  event: "raised" | "resolved";
  organization: { id: string; name: string };
  rule: { id: string; name: string; kind: string };
  alert: {
    id: string;
    summary: string;
    details: Record<string, unknown>;
    raisedAt: string;
    resolvedAt: string | null;
  };
}

/** Header and body text must not carry line breaks or other control characters. */
function oneLine(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
  return text.replace(/[\u0000-\u001f\u007f]+/g, " ").trim();
}

export function emailSubject(notice: Notice): string {
  const what = notice.event === "raised" ? "Alert" : "Resolved";
  return oneLine(`[PatchPilot] ${what}: ${notice.rule.name} (${notice.organization.name})`).slice(0, 250);
}

export function emailText(notice: Notice, consoleUrl: string): string {
  const lines = [
    notice.event === "raised" ? `Alert raised: ${notice.alert.summary}` : `Resolved: ${notice.alert.summary}`,
    "",
    `Organisation: ${oneLine(notice.organization.name)}`,
    `Rule: ${oneLine(notice.rule.name)} (${notice.rule.kind})`,
    `Raised: ${notice.alert.raisedAt}`,
    ...(notice.alert.resolvedAt ? [`Resolved: ${notice.alert.resolvedAt}`] : []),
    "",
    "Details:",
    JSON.stringify(notice.alert.details, null, 2),
    "",
    `PatchPilot: ${consoleUrl}`,
  ];
  return `${lines.join("\n")}\n`;
}

/** The webhook's JSON body. */
export function webhookBody(notice: Notice, sentAt: Date): string {
  return JSON.stringify({
    id: notice.deliveryId,
    event: `alert.${notice.event}`,
    sentAt: sentAt.toISOString(),
    organization: notice.organization,
    rule: notice.rule,
    alert: notice.alert,
  });
}

/**
 * The signature a receiver checks: HMAC-SHA256, under the rule's secret, of the timestamp (Unix
 * seconds, also sent as X-PatchPilot-Timestamp), a full stop, and the exact body bytes. Including
 * the timestamp lets a receiver refuse a replayed request by its age.
 */
export function webhookSignature(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}
