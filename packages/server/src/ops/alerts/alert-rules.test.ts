import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addTestMember,
  call,
  createTestOrg,
  startTestApp,
  type TestApp,
  type TestOrg,
  type TestPerson,
} from "../../testing/app.js";
import { checkWebhookUrl, mayConnectTo } from "./webhook-target.js";

let t: TestApp;
let org: TestOrg;
let other: TestOrg;
let auditor: TestPerson;
let operator: TestPerson;

beforeAll(async () => {
  t = await startTestApp({ backgroundWork: false });
  org = await createTestOrg(t.db, "Alerting Ltd");
  other = await createTestOrg(t.db, "Other Ltd");
  auditor = await addTestMember(t.db, org.organizationId, "auditor");
  operator = await addTestMember(t.db, org.organizationId, "operator");
});
afterAll(() => t.close());

const rulesUrl = (o: TestOrg = org) => `/api/v1/orgs/${o.organizationId}/alert-rules`;
const SECRET = "a webhook secret of some length";

async function auditActions(organizationId: string, action: string): Promise<Record<string, unknown>[]> {
  const rows = await t.db.owner.query<{ details: Record<string, unknown> }>(
    "SELECT details FROM audit_events WHERE organization_id = $1 AND action = $2 ORDER BY seq",
    [organizationId, action],
  );
  return rows.map((r) => r.details);
}

describe("webhook targets", () => {
  it("takes https to public hosts only", () => {
    expect(checkWebhookUrl("https://hooks.example.com/patchpilot", false).host).toBe("hooks.example.com");
    expect(checkWebhookUrl("https://203.0.114.7:8443/x", false).port).toBe("8443");
    for (const bad of [
      "http://hooks.example.com/", // clear text
      "ftp://hooks.example.com/",
      "not a url",
      "https://user:pw@hooks.example.com/", // credentials in a URL end up in logs
      "https://localhost/",
      "https://127.0.0.1/",
      "https://10.1.2.3/",
      "https://172.16.0.1/",
      "https://192.168.1.1/",
      "https://169.254.169.254/latest/meta-data/", // cloud metadata
      "https://[::1]/",
      "https://[fd00::1]/",
      "https://[::ffff:127.0.0.1]/",
      "https://intranet/",
      "https://db.internal/",
      "https://printer.local/",
    ]) {
      expect(() => checkWebhookUrl(bad, false), bad).toThrow(/webhook\.url/);
    }
  });

  it("takes loopback, over http too, only when the operator allows it", () => {
    expect(checkWebhookUrl("http://127.0.0.1:9999/hook", true).port).toBe("9999");
    expect(() => checkWebhookUrl("http://10.0.0.1/hook", true)).toThrow();
    expect(mayConnectTo("127.0.0.1", true)).toBe(true);
    expect(mayConnectTo("127.0.0.1", false)).toBe(false);
    expect(mayConnectTo("10.0.0.1", true)).toBe(false);
    expect(mayConnectTo("93.184.216.34", false)).toBe(true);
    expect(mayConnectTo("2606:2800:220:1:248:1893:25c8:1946", false)).toBe(true);
    expect(mayConnectTo("fe80::1", false)).toBe(false);
  });
});

describe("alert rules API", () => {
  it("creates, reads, changes and deletes a rule, audited, and never shows or stores the secret in the clear", async () => {
    const created = await call(t.app, {
      method: "POST",
      url: rulesUrl(),
      as: org.owner,
      body: {
        name: "Hosts offline",
        kind: "device_offline",
        thresholds: { hours: 12 },
        emails: ["Ops@Example.com", "ops@example.com", "oncall@example.com"],
        webhook: { url: "https://hooks.example.com/pp", secret: SECRET },
      },
    });
    expect(created.statusCode, created.body).toBe(201);
    const rule = created.json();
    expect(rule).toMatchObject({
      name: "Hosts offline",
      kind: "device_offline",
      enabled: true,
      thresholds: { hours: 12 },
      emails: ["ops@example.com", "oncall@example.com"],
      webhook: { url: "https://hooks.example.com/pp", hasSecret: true },
      openAlert: null,
    });
    expect(created.body).not.toContain(SECRET);
    const [stored] = await t.db.owner.query<{ sealed_webhook_secret: string }>(
      "SELECT sealed_webhook_secret FROM alert_rules WHERE id = $1",
      [rule.id],
    );
    expect(stored?.sealed_webhook_secret).toBeTruthy();
    expect(stored?.sealed_webhook_secret).not.toContain(SECRET);

    // An Auditor and an Operator read it.
    for (const person of [auditor, operator]) {
      const list = await call(t.app, { method: "GET", url: rulesUrl(), as: person });
      expect(list.statusCode).toBe(200);
      expect(list.json().items.map((r: { id: string }) => r.id)).toContain(rule.id);
      expect(list.body).not.toContain(SECRET);
    }

    // Changed without the secret: the secret is kept.
    const changed = await call(t.app, {
      method: "PUT",
      url: `${rulesUrl()}/${rule.id}`,
      as: org.owner,
      body: {
        name: "Hosts offline a day",
        kind: "device_offline",
        enabled: false,
        thresholds: { hours: 24 },
        emails: [],
        webhook: { url: "https://hooks.example.com/pp2" },
      },
    });
    expect(changed.statusCode, changed.body).toBe(200);
    expect(changed.json()).toMatchObject({
      enabled: false,
      thresholds: { hours: 24 },
      emails: [],
      webhook: { url: "https://hooks.example.com/pp2", hasSecret: true },
    });
    const [kept] = await t.db.owner.query<{ sealed_webhook_secret: string }>(
      "SELECT sealed_webhook_secret FROM alert_rules WHERE id = $1",
      [rule.id],
    );
    expect(kept?.sealed_webhook_secret).toBe(stored?.sealed_webhook_secret);

    const removed = await call(t.app, { method: "DELETE", url: `${rulesUrl()}/${rule.id}`, as: org.owner });
    expect(removed.statusCode).toBe(204);
    expect(
      (await call(t.app, { method: "GET", url: `${rulesUrl()}/${rule.id}`, as: org.owner })).statusCode,
    ).toBe(404);

    const audited = [
      ...(await auditActions(org.organizationId, "alert_rules.created")),
      ...(await auditActions(org.organizationId, "alert_rules.updated")),
      ...(await auditActions(org.organizationId, "alert_rules.deleted")),
    ];
    expect(audited).toHaveLength(3);
    expect(JSON.stringify(audited)).not.toContain(SECRET);
    expect(audited[0]).toMatchObject({
      kind: "device_offline",
      emailRecipients: 2,
      webhookHost: "hooks.example.com",
    });
  });

  it("refuses bad input with a 400 naming the field, and changes nothing", async () => {
    const before = await t.db.owner.query(
      "SELECT count(*)::int AS n FROM alert_rules WHERE organization_id = $1",
      [org.organizationId],
    );
    const good = { name: "SLA", kind: "sla_breach", emails: ["sec@example.com"] };
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...good, colour: "red" }, /colour|additional/i], // unknown field
      [{ ...good, kind: "earthquake" }, /kind/],
      [{ ...good, name: "" }, /name/],
      [{ ...good, emails: ["not an address"] }, /emails/],
      [{ ...good, emails: [] }, /emails/], // no channel at all
      [{ ...good, thresholds: { count: 0 } }, /thresholds/],
      [{ ...good, thresholds: { count: "many" } }, /thresholds/],
      [{ ...good, thresholds: { hours: 3 } }, /thresholds\.hours/], // not a threshold of this kind
      [{ ...good, thresholds: { count: 1, extra: 1 } }, /thresholds/],
      [{ name: "Offline", kind: "device_offline", emails: ["a@example.com"] }, /thresholds\.hours/], // missing
      [
        { name: "Offline", kind: "device_offline", thresholds: { hours: 721 }, emails: ["a@example.com"] },
        /hours/,
      ],
      [
        { name: "Spike", kind: "checkin_error_spike", thresholds: { count: 5 }, emails: ["a@example.com"] },
        /windowMinutes/,
      ],
      [
        { name: "Backups", kind: "backup_failed", thresholds: { hours: 1 }, emails: ["a@example.com"] },
        /thresholds\.hours/,
      ],
      [{ ...good, webhook: { url: "http://hooks.example.com/x", secret: SECRET } }, /webhook\.url/],
      [{ ...good, webhook: { url: "https://169.254.169.254/x", secret: SECRET } }, /webhook\.url/],
      [{ ...good, webhook: { url: "https://hooks.example.com/x" } }, /webhook\.secret/], // no secret
      [{ ...good, webhook: { url: "https://hooks.example.com/x", secret: "short" } }, /secret/],
    ];
    for (const [body, field] of cases) {
      const response = await call(t.app, { method: "POST", url: rulesUrl(), as: org.owner, body });
      expect(response.statusCode, JSON.stringify(body)).toBe(400);
      expect(JSON.stringify(response.json().error), JSON.stringify(body)).toMatch(field);
    }
    const after = await t.db.owner.query(
      "SELECT count(*)::int AS n FROM alert_rules WHERE organization_id = $1",
      [org.organizationId],
    );
    expect(after).toEqual(before);
  });

  it("answers 404 for another organisation's rule, and lets an Auditor or Operator change nothing", async () => {
    const body = { name: "Theirs", kind: "sla_breach", emails: ["them@example.com"] };
    const theirs = await call(t.app, { method: "POST", url: rulesUrl(other), as: other.owner, body });
    expect(theirs.statusCode).toBe(201);
    const theirId = theirs.json().id as string;
    const mine = await call(t.app, {
      method: "POST",
      url: rulesUrl(),
      as: org.owner,
      body: { ...body, name: "Mine" },
    });
    const myId = mine.json().id as string;

    // Their rule's id under my organisation: as missing.
    for (const method of ["GET", "PUT", "DELETE"] as const) {
      const response = await call(t.app, {
        method,
        url: `${rulesUrl()}/${theirId}`,
        as: org.owner,
        ...(method === "PUT" ? { body } : {}),
      });
      expect(response.statusCode, method).toBe(404);
      expect(response.json().error.code).toBe("alerts.rule_not_found");
    }
    // My organisation's URL for a stranger: 404 too.
    expect((await call(t.app, { method: "GET", url: rulesUrl(), as: other.owner })).statusCode).toBe(404);

    for (const person of [auditor, operator]) {
      expect(
        (await call(t.app, { method: "POST", url: rulesUrl(), as: person, body: { ...body, name: "Nope" } }))
          .statusCode,
      ).toBe(403);
      expect(
        (await call(t.app, { method: "PUT", url: `${rulesUrl()}/${myId}`, as: person, body })).statusCode,
      ).toBe(403);
      expect(
        (await call(t.app, { method: "DELETE", url: `${rulesUrl()}/${myId}`, as: person })).statusCode,
      ).toBe(403);
    }
    const [row] = await t.db.owner.query<{ name: string }>("SELECT name FROM alert_rules WHERE id = $1", [
      myId,
    ]);
    expect(row?.name).toBe("Mine");
    const [theirRow] = await t.db.owner.query<{ name: string }>(
      "SELECT name FROM alert_rules WHERE id = $1",
      [theirId],
    );
    expect(theirRow?.name).toBe("Theirs");
  });
});

describe("alert settings", () => {
  it("reads the SMTP server once, keeps its password out of printing, and refuses a wrong scheme", async () => {
    const { loadConfig } = await import("../../config/config.js");
    const base = { PATCHPILOT_DATA_DIR: "/nonexistent" };
    const config = loadConfig({
      ...base,
      PATCHPILOT_SMTP_URL: "smtps://alerts:hunter2-secret@mail.example.com:465",
    });
    expect(config.smtpUrl?.reveal()).toBe("smtps://alerts:hunter2-secret@mail.example.com:465");
    expect(JSON.stringify(config)).not.toContain("hunter2");
    expect(config.alertEvaluationSeconds).toBe(60);
    expect(config.alertWebhookLoopback).toBe(false);
    expect(loadConfig({ ...base, PATCHPILOT_SMTP_HOST: "relay.example.com" }).smtpUrl?.reveal()).toBe(
      "smtp://relay.example.com:587",
    );
    expect(() =>
      loadConfig({ ...base, PATCHPILOT_SMTP_URL: "http://user:hunter2@mail.example.com" }),
    ).toThrow(/smtp:\/\/ or smtps:\/\//);
    expect(() => loadConfig({ ...base, PATCHPILOT_SMTP_URL: "::hunter2::" })).toThrow(/^(?!.*hunter2)/);
    expect(() => loadConfig({ ...base, PATCHPILOT_ALERT_EVALUATION_SECONDS: "5" })).toThrow(/60/);
  });
});
