import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, createTestOrg, startTestApp, type TestApp, type TestOrg } from "../../testing/app.js";
import { SYSTEM_CONTEXT } from "../../testing/database.js";
import { enrollTestDevice } from "../../testing/devices.js";
import { curlPackage, importFixtureAdvisories, seedFindings } from "../../testing/vulns.js";

interface Mail {
  from: string;
  to: string[];
  raw: string;
}

interface Hook {
  headers: IncomingMessage["headers"];
  body: string;
  answered: number;
}

let t: TestApp;
let smtp: SMTPServer;
let smtpPort: number;
const mails: Mail[] = [];
let receiver: Server;
let receiverUrl: string;
const hooks: Hook[] = [];
/** How many of the next webhook requests the receiver fails with a 500. */
let failNext = 0;

beforeAll(async () => {
  // A real SMTP server on loopback (plain SMTP: the relay is on this host).
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    onData(stream, session, done) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString("utf8"),
        });
        done();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, "127.0.0.1", resolve));
  smtpPort = (smtp.server.address() as AddressInfo).port;
  // A real HTTP receiver that can be told to fail.
  receiver = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (c: Buffer) => chunks.push(c));
    request.on("end", () => {
      const answered = failNext > 0 ? 500 : 204;
      if (failNext > 0) failNext--;
      hooks.push({ headers: request.headers, body: Buffer.concat(chunks).toString("utf8"), answered });
      response.writeHead(answered).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/patchpilot`;
  t = await startTestApp({
    backgroundWork: false,
    env: {
      PATCHPILOT_SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
      PATCHPILOT_SMTP_FROM: "PatchPilot <alerts@patchpilot.example.test>",
      PATCHPILOT_ALERT_WEBHOOK_LOOPBACK: "on",
    },
  });
  await importFixtureAdvisories(t.db);
});
afterAll(async () => {
  await t.close();
  await new Promise<void>((resolve) => smtp.close(() => resolve()));
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
});

const SECRET = "the receiver's shared secret";

async function newRule(org: TestOrg, body: Record<string, unknown>): Promise<string> {
  const response = await call(t.app, {
    method: "POST",
    url: `/api/v1/orgs/${org.organizationId}/alert-rules`,
    as: org.owner,
    body: { emails: ["ops@example.com"], ...body },
  });
  expect(response.statusCode, response.body).toBe(201);
  return response.json().id;
}

async function alertsOf(org: TestOrg) {
  const response = await call(t.app, {
    method: "GET",
    url: `/api/v1/orgs/${org.organizationId}/alerts`,
    as: org.owner,
  });
  expect(response.statusCode).toBe(200);
  return response.json().items as {
    id: string;
    ruleId: string;
    state: string;
    summary: string;
    details: Record<string, unknown>;
    deliveries: { event: string; channel: string; state: string }[];
  }[];
}

async function audited(org: TestOrg, action: string): Promise<number> {
  const [row] = await t.db.owner.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM audit_events WHERE organization_id = $1 AND action = $2",
    [org.organizationId, action],
  );
  return row?.n ?? 0;
}

/**
 * Evaluates, and checks the rule's alert is open (or not) with one audit row per raise and resolve.
 * Evaluating twice shows an episode is raised once.
 */
async function expectEpisode(
  org: TestOrg,
  ruleId: string,
  state: "open" | "resolved",
  episodes: number,
  now?: Date,
) {
  await t.app.alerts.evaluate(now);
  await t.app.alerts.evaluate(now);
  const alerts = (await alertsOf(org)).filter((a) => a.ruleId === ruleId);
  expect(alerts).toHaveLength(episodes);
  expect(alerts[0]?.state).toBe(state);
  expect(await audited(org, "alerts.raised")).toBe(episodes);
  expect(await audited(org, "alerts.resolved")).toBe(state === "resolved" ? episodes : episodes - 1);
  return alerts[0];
}

describe("alert rules raise once per episode and resolve", () => {
  it("device_offline: a device silent past the threshold, until it checks in", async () => {
    const org = await createTestOrg(t.db);
    const device = await enrollTestDevice(t.db, org.organizationId, { hostname: "quiet.example.test" });
    const ruleId = await newRule(org, { name: "Offline", kind: "device_offline", thresholds: { hours: 2 } });
    await t.app.alerts.evaluate();
    expect(await alertsOf(org)).toEqual([]);
    const setLastSeen = (sqlInterval: string) =>
      t.db.owner.query(
        `INSERT INTO device_presence (device_id, organization_id, last_seen_at) VALUES ($1, $2, now() - $3::interval)
         ON CONFLICT (device_id) DO UPDATE SET last_seen_at = excluded.last_seen_at`,
        [device.deviceId, org.organizationId, sqlInterval],
      );
    await setLastSeen("3 hours");
    const raised = await expectEpisode(org, ruleId, "open", 1);
    expect(raised?.summary).toBe("1 device has not checked in for 2 hours");
    expect(raised?.details).toMatchObject({
      offline: 1,
      devices: [{ id: device.deviceId, hostname: "quiet.example.test" }],
    });
    expect(raised?.deliveries).toEqual([
      expect.objectContaining({ event: "raised", channel: "email", state: "pending" }),
    ]);
    await setLastSeen("1 minute");
    await expectEpisode(org, ruleId, "resolved", 1);
    // A new episode is a new alert.
    await setLastSeen("5 hours");
    await expectEpisode(org, ruleId, "open", 2);
  });

  it("checkin_error_spike: failed agent events in the window, until the window passes", async () => {
    const org = await createTestOrg(t.db);
    const device = await enrollTestDevice(t.db, org.organizationId);
    const ruleId = await newRule(org, {
      name: "Agent errors",
      kind: "checkin_error_spike",
      thresholds: { count: 3, windowMinutes: 10 },
    });
    const failures = (n: number) =>
      t.db.withOrganization(org.organizationId, SYSTEM_CONTEXT, async (tx) => {
        for (let i = 0; i < n; i++) {
          tx.deviceEvent({
            eventType: "device.token_misused",
            deviceId: device.deviceId,
            result: "failure",
            errorCode: "agent.wrong_device",
          });
        }
      });
    await failures(2);
    await t.app.alerts.evaluate();
    expect(await alertsOf(org)).toEqual([]);
    await failures(1);
    const raised = await expectEpisode(org, ruleId, "open", 1);
    expect(raised?.details).toMatchObject({ errors: 3, byType: { "device.token_misused": 3 } });
    // Device events cannot be changed; the window moves past them instead.
    await expectEpisode(org, ruleId, "resolved", 1, new Date(Date.now() + 11 * 60_000));
  });

  it("feed_stale: a platform feed not synced within the threshold, until it syncs", async () => {
    const org = await createTestOrg(t.db);
    const ruleId = await newRule(org, { name: "Feeds", kind: "feed_stale", thresholds: { hours: 6 } });
    await t.db.owner.query(
      "INSERT INTO feed_state (feed, last_success_at) VALUES ('alerts-test', now() - interval '7 hours')",
    );
    const raised = await expectEpisode(org, ruleId, "open", 1);
    expect(JSON.stringify(raised?.details)).toContain("alerts-test");
    await t.db.owner.query("UPDATE feed_state SET last_success_at = now() WHERE feed = 'alerts-test'");
    await expectEpisode(org, ruleId, "resolved", 1);
  });

  it("backup_failed and restore_test_failed: the platform's latest run failed, until one succeeds", async () => {
    const org = await createTestOrg(t.db);
    const backupRule = await newRule(org, { name: "Backups", kind: "backup_failed" });
    const restoreRule = await newRule(org, { name: "Restore tests", kind: "restore_test_failed" });
    await t.db.owner.query(
      "INSERT INTO backup_runs (trigger, state, started_at, duration_ms, error) VALUES ('scheduled', 'failed', now(), 10, 'no space left')",
    );
    await t.db.owner.query(
      "INSERT INTO restore_tests (file, ok, started_at, duration_ms, error) VALUES ('b.ppbak', false, now(), 10, 'row counts differ')",
    );
    await t.app.alerts.evaluate();
    await t.app.alerts.evaluate();
    let alerts = await alertsOf(org);
    expect(alerts.map((a) => [a.ruleId, a.state]).sort()).toEqual(
      [
        [backupRule, "open"],
        [restoreRule, "open"],
      ].sort(),
    );
    expect(alerts.find((a) => a.ruleId === backupRule)?.details).toMatchObject({ error: "no space left" });
    await t.db.owner.query(
      "INSERT INTO backup_runs (trigger, state, started_at, duration_ms, finished_at) VALUES ('scheduled', 'succeeded', now(), 10, now() + interval '1 second')",
    );
    await t.db.owner.query(
      "INSERT INTO restore_tests (file, ok, started_at, duration_ms, finished_at) VALUES ('c.ppbak', true, now(), 10, now() + interval '1 second')",
    );
    await t.app.alerts.evaluate();
    alerts = await alertsOf(org);
    expect(alerts.map((a) => a.state)).toEqual(["resolved", "resolved"]);
    expect(await audited(org, "alerts.raised")).toBe(2);
    expect(await audited(org, "alerts.resolved")).toBe(2);
  });

  it("sla_breach: an open finding past its SLA, until it is fixed", async () => {
    const org = await createTestOrg(t.db);
    const device = await seedFindings(t, org.organizationId, [curlPackage()]);
    const ruleId = await newRule(org, { name: "SLA", kind: "sla_breach" });
    await t.app.alerts.evaluate();
    expect(await alertsOf(org)).toEqual([]);
    await t.db.owner.query("UPDATE findings SET sla_due_at = now() - interval '1 day' WHERE device_id = $1", [
      device.deviceId,
    ]);
    const raised = await expectEpisode(org, ruleId, "open", 1);
    expect(raised?.summary).toMatch(/^1 open finding is past their SLA/);
    await t.db.owner.query("UPDATE findings SET status = 'fixed', closed_at = now() WHERE device_id = $1", [
      device.deviceId,
    ]);
    await expectEpisode(org, ruleId, "resolved", 1);
  });
});

/** The receiver's side of the signature check, as docs/operations.md describes it. */
function verifySignature(hook: Hook, secret: string): boolean {
  const timestamp = String(hook.headers["x-patchpilot-timestamp"]);
  const given = String(hook.headers["x-patchpilot-signature"]);
  const expected = `sha256=${createHmac("sha256", secret).update(`${timestamp}.${hook.body}`).digest("hex")}`;
  const fresh = Math.abs(Date.now() / 1000 - Number(timestamp)) < 300;
  return (
    fresh && given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected))
  );
}

describe("alert notices", () => {
  it("arrive by e-mail at a real SMTP server with the rule's recipients and a clear subject", async () => {
    const org = await createTestOrg(t.db, "Mail Recipients Ltd");
    await newRule(org, {
      name: "Backups broken",
      kind: "backup_failed",
      emails: ["ops@example.com", "cto@example.com"],
    });
    await t.db.owner.query(
      "INSERT INTO backup_runs (trigger, state, started_at, duration_ms, error, finished_at) VALUES ('manual', 'failed', now(), 10, 'disk full', now() + interval '1 minute')",
    );
    await t.app.alerts.evaluate();
    const before = mails.length;
    expect(await t.app.alerts.deliverer.deliverDue()).toBeGreaterThanOrEqual(1);
    const mine = mails.slice(before).filter((m) => m.raw.includes("Mail Recipients Ltd"));
    expect(mine).toHaveLength(1);
    const mail = mine[0] as Mail;
    expect(mail.from).toBe("alerts@patchpilot.example.test");
    expect(mail.to.sort()).toEqual(["cto@example.com", "ops@example.com"]);
    const headers = mail.raw.split(/\r\n\r\n/)[0]?.replace(/\r\n[ \t]+/g, " ") ?? "";
    expect(headers).toMatch(/^Subject: \[PatchPilot\] Alert: Backups broken \(Mail Recipients Ltd\)$/m);
    expect(mail.raw).toContain("The platform's latest backup failed");
    const [alert] = await alertsOf(org);
    expect(alert?.deliveries).toEqual([expect.objectContaining({ channel: "email", state: "delivered" })]);
    // Delivered once: another pass sends nothing.
    await t.app.alerts.deliverer.deliverDue();
    expect(mails.slice(before).filter((m) => m.raw.includes("Mail Recipients Ltd"))).toHaveLength(1);
    // Resolution is mailed too.
    await t.db.owner.query(
      "INSERT INTO backup_runs (trigger, state, started_at, duration_ms, finished_at) VALUES ('manual', 'succeeded', now(), 10, now() + interval '2 minutes')",
    );
    await t.app.alerts.evaluate();
    await t.app.alerts.deliverer.deliverDue();
    const resolved = mails.slice(before).filter((m) => m.raw.includes("Mail Recipients Ltd"));
    expect(resolved).toHaveLength(2);
    expect(resolved[1]?.raw.replace(/\r\n[ \t]+/g, " ")).toMatch(
      /^Subject: \[PatchPilot\] Resolved: Backups broken/m,
    );
  });

  it("go to a webhook signed with the rule's secret, retried with backoff after two failures, delivered once", async () => {
    const org = await createTestOrg(t.db, "Webhook Receivers Ltd");
    const device = await enrollTestDevice(t.db, org.organizationId);
    const ruleId = await newRule(org, {
      name: "Offline hook",
      kind: "device_offline",
      thresholds: { hours: 1 },
      emails: [],
      webhook: { url: receiverUrl, secret: SECRET },
    });
    await t.db.owner.query(
      "UPDATE device_presence SET last_seen_at = now() - interval '2 hours' WHERE device_id = $1",
      [device.deviceId],
    );
    await t.app.alerts.evaluate();
    const start = hooks.length;
    const mine = () => hooks.slice(start).filter((h) => h.body.includes(org.organizationId));
    failNext = 2;
    const now = Date.now();
    await t.app.alerts.deliverer.deliverDue(new Date(now));
    expect(mine().map((h) => h.answered)).toEqual([500]);
    // Not retried before its backoff has passed.
    await t.app.alerts.deliverer.deliverDue(new Date(now + 1000));
    expect(mine()).toHaveLength(1);
    let [alert] = await alertsOf(org);
    expect(alert?.deliveries).toEqual([
      expect.objectContaining({ channel: "webhook", state: "pending", attempts: 1 }),
    ]);
    const [due1] = await t.db.owner.query<{ next_attempt_at: Date }>(
      "SELECT next_attempt_at FROM alert_deliveries WHERE organization_id = $1",
      [org.organizationId],
    );
    await t.app.alerts.deliverer.deliverDue(new Date(now + 3_600_000));
    const [due2] = await t.db.owner.query<{ next_attempt_at: Date }>(
      "SELECT next_attempt_at FROM alert_deliveries WHERE organization_id = $1",
      [org.organizationId],
    );
    // Exponential: the second wait is longer than the first.
    expect(new Date(due2?.next_attempt_at ?? 0).getTime() - (now + 3_600_000)).toBeGreaterThan(
      new Date(due1?.next_attempt_at ?? 0).getTime() - now,
    );
    await t.app.alerts.deliverer.deliverDue(new Date(now + 7_200_000));
    await t.app.alerts.deliverer.deliverDue(new Date(now + 36_000_000));
    expect(mine().map((h) => h.answered)).toEqual([500, 500, 204]);
    // The same notice each time (one delivery id), signed, and accepted once.
    const ids = new Set(mine().map((h) => h.headers["x-patchpilot-delivery"]));
    expect(ids.size).toBe(1);
    const accepted = mine().find((h) => h.answered === 204) as Hook;
    expect(verifySignature(accepted, SECRET)).toBe(true);
    expect(verifySignature(accepted, "another secret altogether")).toBe(false);
    expect(verifySignature({ ...accepted, body: accepted.body.replace("device", "Device") }, SECRET)).toBe(
      false,
    );
    expect(accepted.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(accepted.body)).toMatchObject({
      event: "alert.raised",
      organization: { id: org.organizationId, name: "Webhook Receivers Ltd" },
      rule: { id: ruleId, name: "Offline hook", kind: "device_offline" },
      alert: { summary: "1 device has not checked in for 1 hour" },
    });
    [alert] = await alertsOf(org);
    expect(alert?.deliveries).toEqual([expect.objectContaining({ state: "delivered", attempts: 3 })]);

    // Resolved: one more request, the resolved event.
    await t.db.owner.query("UPDATE device_presence SET last_seen_at = now() WHERE device_id = $1", [
      device.deviceId,
    ]);
    await t.app.alerts.evaluate();
    await t.app.alerts.deliverer.deliverDue();
    const last = mine().at(-1) as Hook;
    expect(mine()).toHaveLength(4);
    expect(JSON.parse(last.body).event).toBe("alert.resolved");
    expect(verifySignature(last, SECRET)).toBe(true);
  });

  it("refuses at delivery a webhook that points inside, even if it was stored", async () => {
    const org = await createTestOrg(t.db);
    const ruleId = await newRule(org, {
      name: "Sneaky",
      kind: "backup_failed",
      emails: [],
      webhook: { url: receiverUrl, secret: SECRET },
    });
    // As if the URL had been written before the rule existed: the deliverer checks again.
    await t.db.owner.query(
      "UPDATE alert_rules SET webhook_url = 'https://169.254.169.254/latest' WHERE id = $1",
      [ruleId],
    );
    await t.db.owner.query(
      "INSERT INTO backup_runs (trigger, state, started_at, duration_ms, error, finished_at) VALUES ('manual', 'failed', now(), 10, 'x', now() + interval '1 hour')",
    );
    await t.app.alerts.evaluate();
    await t.app.alerts.deliverer.deliverDue();
    const [alert] = await alertsOf(org);
    const [delivery] = await t.db.owner.query<{ last_error: string; state: string }>(
      "SELECT last_error, state FROM alert_deliveries WHERE alert_id = $1",
      [alert?.id],
    );
    expect(delivery).toMatchObject({ state: "pending", last_error: expect.stringMatching(/internal/) });
  });
});
