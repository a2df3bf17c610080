import { describe, expect, it } from "vitest";
import { cefExtensionValue, cefHeaderField, formatCef, formatCefSyslog } from "./cef-format.js";
import type { ForwardedEvent } from "./syslog-format.js";

const event = (over: Partial<ForwardedEvent> = {}): ForwardedEvent => ({
  organizationId: "6f1c2b7e-0000-4000-8000-000000000001",
  seq: 42,
  occurredAt: new Date("2026-12-01T10:00:00.123Z"),
  actorType: "user",
  actorId: "u-1",
  action: "users.role_changed",
  targetType: "user",
  targetId: "u-2",
  result: "success",
  errorCode: null,
  details: { a: 1 },
  ...over,
});

/**
 * Splits a CEF line as a receiver does: seven header fields separated by unescaped pipes, then
 * extensions `key=value` where a value runs to the space before the next unescaped `key=`.
 */
function parseCef(line: string): { header: string[]; ext: Record<string, string> } {
  const header: string[] = [];
  let field = "";
  let i = 0;
  for (; i < line.length && header.length < 7; i++) {
    const ch = line[i];
    if (ch === "\\" && (line[i + 1] === "|" || line[i + 1] === "\\")) {
      field += line[i + 1];
      i++;
    } else if (ch === "|") {
      header.push(field);
      field = "";
    } else field += ch;
  }
  const rest = line.slice(i);
  const ext: Record<string, string> = {};
  // Every `=` inside a value is escaped, so an unescaped one always ends a key.
  const keys = [...rest.matchAll(/(?:^| )([A-Za-z0-9]+)=/g)];
  keys.forEach((m, k) => {
    const start = (m.index ?? 0) + m[0].length;
    const end = k + 1 < keys.length ? (keys[k + 1]?.index ?? rest.length) : rest.length;
    const raw = rest.slice(start, end);
    ext[m[1] ?? ""] = raw.replace(/\\([\\=nr])/g, (_, c: string) =>
      c === "n" ? "\n" : c === "r" ? "\r" : c,
    );
  });
  return { header, ext };
}

describe("CEF", () => {
  it("escapes pipes and backslashes in header fields, and keeps line breaks out of them", () => {
    expect(cefHeaderField("a|b\\c")).toBe("a\\|b\\\\c");
    expect(cefHeaderField("x\r\ny\nz\rw")).toBe("x y z w");
    // An equals sign needs no escape in the header.
    expect(cefHeaderField("k=v")).toBe("k=v");
  });

  it("escapes backslashes, equals signs and line breaks in extension values, and leaves pipes", () => {
    expect(cefExtensionValue("a=b\\c|d")).toBe("a\\=b\\\\c|d");
    expect(cefExtensionValue("one\ntwo\rthree")).toBe("one\\ntwo\\rthree");
    // A value that ends in a backslash cannot escape the separator that follows it.
    expect(cefExtensionValue("trailing\\")).toBe("trailing\\\\");
  });

  it("writes a CEF:0 line whose fields a receiver reads back exactly, whatever the strings hold", () => {
    const hostile = 'x|y\\z=w\nFORGED=1 act=evil cs1=other|CEF:0|a|b "]\r';
    const line = formatCef(
      event({
        action: `users.${hostile}`,
        targetType: "user",
        targetId: hostile,
        actorId: hostile,
        result: "failure",
        errorCode: `auth.${hostile}`,
        details: { note: hostile },
      }),
    );
    expect(line).not.toMatch(/[\r\n]/);
    const { header, ext } = parseCef(line);
    expect(header).toEqual([
      "CEF:0",
      "PatchPilot",
      "PatchPilot",
      expect.stringMatching(/^\d+\.\d+\.\d+/),
      `users.${hostile}`.replace(/\r\n|[\r\n]/g, " "),
      `users.${hostile}`.replace(/\r\n|[\r\n]/g, " "),
      "6",
    ]);
    // The hostile text did not add or replace any extension.
    expect(Object.keys(ext)).toEqual([
      "rt",
      "cs1Label",
      "cs1",
      "cn1Label",
      "cn1",
      "suser",
      "act",
      "cs2Label",
      "cs2",
      "outcome",
      "reason",
      "msg",
    ]);
    expect(ext).toMatchObject({
      rt: String(Date.parse("2026-12-01T10:00:00.123Z")),
      cs1: "6f1c2b7e-0000-4000-8000-000000000001",
      cn1: "42",
      suser: `user:${hostile}`,
      act: `users.${hostile}`,
      cs2: `user:${hostile}`,
      outcome: "failure",
      reason: `auth.${hostile}`,
    });
    expect(JSON.parse(ext.msg ?? "")).toEqual({ note: hostile });
  });

  it("uses severity 3 for a success, omits the reason without an error code, and rides in an RFC 5424 line", () => {
    const line = formatCef(event());
    expect(line).toMatch(
      /^CEF:0\|PatchPilot\|PatchPilot\|[^|]+\|users\.role_changed\|users\.role_changed\|3\|rt=/,
    );
    expect(line).not.toContain("reason=");
    expect(formatCefSyslog(event(), 16)).toMatch(
      /^<134>1 2026-12-01T10:00:00.123Z \S+ patchpilot - users.role_changed - CEF:0\|/,
    );
  });
});
