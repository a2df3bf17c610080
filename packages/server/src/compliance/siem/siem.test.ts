import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, RsyslogPeer } from "../../bench/common/rsyslog.js";
import { call, createTestOrg, startTestApp, type TestApp, type TestOrg } from "../../testing/app.js";
import { SYSTEM_CONTEXT } from "../../testing/database.js";
import { requirePeer } from "../../testing/peers.js";
import { formatRfc5424, octetCounted } from "./syslog-format.js";

// rsyslogd lives in /usr/sbin, which a normal user's PATH may lack.
const haveRsyslog = existsSync("/usr/sbin/rsyslogd") || requirePeer("rsyslogd", "rsyslog");
let t: TestApp;
let org: TestOrg;
let dir: string;
let rsyslog: RsyslogPeer;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "pp-rsyslog-"));
  rsyslog = new RsyslogPeer(dir, await freePort());
  if (haveRsyslog) await rsyslog.start();
  t = await startTestApp({ backgroundWork: false });
  org = await createTestOrg(t.db, "Forwarding Ltd");
});
afterAll(async () => {
  await rsyslog.stop();
  await t.close();
  await rm(dir, { recursive: true, force: true });
});

const siemUrl = () => `/api/v1/orgs/${org.organizationId}/siem`;

async function writeEvents(n: number, label: string) {
  for (let i = 0; i < n; i++) {
    await t.db.withOrganization(org.organizationId, SYSTEM_CONTEXT, async (tx) => {
      tx.audit({
        action: "test.forwarded",
        target: { type: "thing", id: `${label}-${i}` },
        details: { label, i, tricky: 'quote " bracket ] backslash \\ ünïcode' },
      });
    });
  }
}

async function until(check: () => Promise<boolean>, ms = 30_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error("timed out");
}

interface Received {
  pri: string;
  version: string;
  app: string;
  msgid: string;
  parsed: string;
  msg: string;
}

async function forwardedSeqs(): Promise<number[]> {
  return (await rsyslog.received()).map((r) => {
    const sd = JSON.parse(String(r.parsed)) as Record<string, Record<string, string>>;
    return Number(sd["patchpilot@32473"]?.seq);
  });
}

async function ownSeqs(): Promise<number[]> {
  const rows = await t.db.owner.query<{ seq: number }>(
    "SELECT seq FROM audit_events WHERE organization_id = $1 AND seq >= (SELECT coalesce(min(seq), 0) FROM audit_events WHERE organization_id = $1 AND action = 'siem.configured') ORDER BY seq",
    [org.organizationId],
  );
  return rows.map((r) => Number(r.seq));
}

describe("SIEM forwarding over syslog", () => {
  it("formats RFC 5424 with escaped structured data and octet-counted framing", () => {
    const message = formatRfc5424(
      {
        organizationId: "o",
        seq: 7,
        occurredAt: new Date("2026-12-01T00:00:00Z"),
        actorType: "user",
        actorId: "u",
        action: "users.role_changed",
        targetType: "user",
        targetId: 'x"]\\',
        result: "failure",
        errorCode: "auth.forbidden",
        details: { a: 1 },
      },
      16,
    );
    expect(message).toMatch(
      /^<132>1 2026-12-01T00:00:00.000Z \S+ patchpilot - users.role_changed \[patchpilot@32473 /,
    );
    expect(message).toContain('target="user:x\\"\\]\\\\"');
    expect(octetCounted("ü").toString("utf8")).toBe("2 ü");
  });

  it("is a Business feature: 402 naming the plan, and bad settings are refused", async () => {
    const refused = await call(t.app, {
      method: "PUT",
      url: siemUrl(),
      as: org.owner,
      body: { host: "127.0.0.1", port: rsyslog.port, transport: "tcp", facility: 16, enabled: true },
    });
    expect(refused.statusCode).toBe(402);
    expect(refused.json().error.message).toMatch(/needs the Business plan/);
    await t.db.owner.query("UPDATE organizations SET plan = 'business' WHERE id = $1", [org.organizationId]);
    for (const body of [
      { host: "127.0.0.1", port: 0, transport: "tcp", facility: 16, enabled: true },
      { host: "127.0.0.1", port: 514, transport: "smtp", facility: 16, enabled: true },
      { host: "127.0.0.1", port: 514, transport: "tcp", facility: 24, enabled: true },
      { host: "bad host", port: 514, transport: "tcp", facility: 16, enabled: true },
      { host: "127.0.0.1", port: 514, transport: "tcp", facility: 16, enabled: true, caPem: "not a cert" },
      { host: "127.0.0.1", port: 514, transport: "tcp", facility: 16, enabled: true, format: "json" },
      { host: "127.0.0.1", port: 514, transport: "tcp", facility: 16, enabled: true, format: "CEF" },
    ]) {
      const res = await call(t.app, { method: "PUT", url: siemUrl(), as: org.owner, body });
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
    }
    expect((await call(t.app, { method: "GET", url: siemUrl(), as: org.owner })).statusCode).toBe(404);
  });

  it.runIf(haveRsyslog)(
    "delivers every audit event to a real rsyslog, in order, once, including across an rsyslog restart",
    { timeout: 120_000 },
    async () => {
      const set = await call(t.app, {
        method: "PUT",
        url: siemUrl(),
        as: org.owner,
        body: { host: "127.0.0.1", port: rsyslog.port, transport: "tcp", facility: 16, enabled: true },
      });
      expect(set.statusCode, set.body).toBe(200);
      await writeEvents(40, "before");
      await t.app.compliance.siem.deliverDue();
      await until(async () => (await forwardedSeqs()).length >= 40);
      const first = await rsyslog.received();
      const sample = first.find((r) => r.msgid === "test.forwarded") as unknown as Received;
      expect(sample).toMatchObject({ pri: "134", version: "1", app: "patchpilot", msgid: "test.forwarded" });
      const sd = JSON.parse(sample.parsed)["patchpilot@32473"];
      expect(sd).toMatchObject({
        org: org.organizationId,
        actor: "system",
        action: "test.forwarded",
        result: "success",
        target: expect.stringMatching(/^thing:before-/),
      });
      expect(JSON.parse(sample.msg.replace(/^\uFEFF/, ""))).toMatchObject({
        label: "before",
        tricky: 'quote " bracket ] backslash \\ ünïcode',
      });

      // rsyslog goes down: events keep being written, delivery fails and is retried, nothing is lost.
      await rsyslog.stop();
      await writeEvents(25, "while down");
      await t.app.compliance.siem.deliverDue();
      const down = (await call(t.app, { method: "GET", url: siemUrl(), as: org.owner })).json();
      expect(down.failures).toBeGreaterThanOrEqual(1);
      expect(down.lastError).toMatch(/ECONNREFUSED/);
      expect(down.queued).toBeGreaterThanOrEqual(25);
      await rsyslog.start();
      await writeEvents(5, "after");
      await until(async () => {
        await t.app.compliance.siem.deliverDue();
        return (await forwardedSeqs()).length >= (await ownSeqs()).length;
      }, 60_000);
      // Every audit row since forwarding began arrived exactly once, in the chain's order.
      expect(await forwardedSeqs()).toEqual(await ownSeqs());
      const state = (await call(t.app, { method: "GET", url: siemUrl(), as: org.owner })).json();
      expect(state).toMatchObject({ queued: 0, failures: 0, lastError: null });
    },
  );

  it("keeps events queued and records the failure when the host does not resolve", async () => {
    const set = await call(t.app, {
      method: "PUT",
      url: siemUrl(),
      as: org.owner,
      body: { host: "siem.nonexistent.invalid", port: 6514, transport: "tcp", facility: 16, enabled: true },
    });
    expect(set.statusCode).toBe(200);
    await writeEvents(3, "unresolvable");
    await t.app.compliance.siem.deliverDue();
    const state = (await call(t.app, { method: "GET", url: siemUrl(), as: org.owner })).json();
    expect(state.failures).toBe(1);
    expect(state.lastError).toMatch(/ENOTFOUND|EAI_AGAIN/);
    expect(state.queued).toBeGreaterThanOrEqual(3);
    expect(new Date(state.nextAttemptAt).getTime()).toBeGreaterThan(Date.now());
  });
});
