import { hostname } from "node:os";

/** Our structured-data id; 32473 is the enterprise number RFC 5612 reserves for documentation. */
export const SD_ID = "patchpilot@32473";
const APP_NAME = "patchpilot";
const HOST = (hostname() || "-").replace(/[^\x21-\x7e]/g, "").slice(0, 255) || "-";

export interface ForwardedEvent {
  organizationId: string;
  seq: number;
  occurredAt: Date;
  actorType: string;
  actorId: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  result: string;
  errorCode: string | null;
  details: Record<string, unknown>;
}

/** RFC 5424 §6.3.3: inside a PARAM-VALUE, `"`, `\` and `]` are escaped with a backslash. */
function paramValue(value: string): string {
  return value.replace(/["\\\]]/g, (c) => `\\${c}`);
}

/** PRINTUSASCII only, as RFC 5424 wants for MSGID (at most 32 characters). */
function printable(value: string, max: number): string {
  return value.replace(/[^\x21-\x7e]/g, "_").slice(0, max) || "-";
}

/**
 * One audit event as an RFC 5424 message: the facility chosen per organisation, severity
 * informational for a success and warning for a failure, MSGID the action, structured data with
 * organisation, sequence number, actor, action, target and result, and the details as UTF-8 JSON.
 */
export function formatRfc5424(e: ForwardedEvent, facility: number): string {
  const params: [string, string][] = [
    ["org", e.organizationId],
    ["seq", String(e.seq)],
    ["actor", e.actorId ? `${e.actorType}:${e.actorId}` : e.actorType],
    ["action", e.action],
    ["target", e.targetType && e.targetId ? `${e.targetType}:${e.targetId}` : "-"],
    ["result", e.result],
  ];
  if (e.errorCode) params.push(["errorCode", e.errorCode]);
  const sd = `[${SD_ID} ${params.map(([k, v]) => `${k}="${paramValue(v)}"`).join(" ")}]`;
  const msg = `\uFEFF${JSON.stringify(e.details)}`;
  return `${syslogHeader(e, facility)} ${sd} ${msg}`;
}

/**
 * The RFC 5424 HEADER of an event's message: PRI from the facility and the severity
 * (informational for a success, warning for a failure), time, host, app name, no PROCID, and
 * the action as MSGID.
 */
export function syslogHeader(e: ForwardedEvent, facility: number): string {
  const severity = e.result === "success" ? 6 : 4;
  return `<${facility * 8 + severity}>1 ${e.occurredAt.toISOString()} ${HOST} ${APP_NAME} - ${printable(e.action, 32)}`;
}

/** RFC 6587 §3.4.1 / RFC 5425 §4.3 octet counting: `MSG-LEN SP SYSLOG-MSG`. */
export function octetCounted(message: string): Buffer {
  const body = Buffer.from(message, "utf8");
  return Buffer.concat([Buffer.from(`${body.length} `, "ascii"), body]);
}
