import { SOURCE_VERSION } from "../../ops/backup/version.js";
import { type ForwardedEvent, syslogHeader } from "./syslog-format.js";

/**
 * CEF header fields (ArcSight "Implementing ArcSight CEF", rev. 25): a pipe and a backslash are
 * escaped with a backslash. The header has no escape for line breaks, so they become spaces (a
 * line break would end the event for a receiver reading lines).
 */
export function cefHeaderField(value: string): string {
  return value.replace(/[\\|]/g, (c) => `\\${c}`).replace(/\r\n|[\r\n]/g, " ");
}

/**
 * CEF extension values: a backslash and an equals sign are escaped with a backslash, and line
 * breaks are written as `\n` and `\r`. Pipes need no escape there.
 */
export function cefExtensionValue(value: string): string {
  return value.replace(/[\\=\r\n]/g, (c) => (c === "\n" ? "\\n" : c === "\r" ? "\\r" : `\\${c}`));
}

/**
 * One audit event as a CEF:0 line: vendor and product PatchPilot, the action as the event class
 * and name, severity 3 for a success and 6 for a failure, and the same fields as the RFC 5424
 * structured data in standard extension keys (custom strings labelled), the details as JSON in
 * `msg`. Extension keys are fixed ASCII names, so only values need escaping.
 */
export function formatCef(e: ForwardedEvent): string {
  const header = [
    "CEF:0",
    "PatchPilot",
    "PatchPilot",
    SOURCE_VERSION,
    e.action,
    e.action,
    e.result === "success" ? "3" : "6",
  ].map((field, i) => (i === 0 ? field : cefHeaderField(field)));
  const ext: [string, string][] = [
    ["rt", String(e.occurredAt.getTime())],
    ["cs1Label", "organization"],
    ["cs1", e.organizationId],
    ["cn1Label", "seq"],
    ["cn1", String(e.seq)],
    ["suser", e.actorId ? `${e.actorType}:${e.actorId}` : e.actorType],
    ["act", e.action],
    ["cs2Label", "target"],
    ["cs2", e.targetType && e.targetId ? `${e.targetType}:${e.targetId}` : "-"],
    ["outcome", e.result],
  ];
  if (e.errorCode) ext.push(["reason", e.errorCode]);
  ext.push(["msg", JSON.stringify(e.details)]);
  return `${header.join("|")}|${ext.map(([k, v]) => `${k}=${cefExtensionValue(v)}`).join(" ")}`;
}

/** A CEF line carried in an RFC 5424 syslog message (no structured data), as SIEMs receive CEF over syslog. */
export function formatCefSyslog(e: ForwardedEvent, facility: number): string {
  return `${syslogHeader(e, facility)} - ${formatCef(e)}`;
}
