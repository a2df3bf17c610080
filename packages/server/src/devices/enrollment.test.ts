import { randomUUID } from "node:crypto";
import { generateToken } from "@patchpilot/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PLATFORM_ORGANIZATION_ID } from "../audit/chain.js";
import {
  addTestMember,
  call,
  createTestOrg,
  startTestApp,
  type TestApp,
  type TestOrg,
} from "../testing/app.js";
import { callAsAgent, checkInBody, createTestEnrollmentToken, sampleFacts } from "../testing/devices.js";

let t: TestApp;
let org: TestOrg;
beforeAll(async () => {
  t = await startTestApp();
  org = await createTestOrg(t.db, "Enrolling Ltd");
});
afterAll(() => t.close());

function enroll(token: string | null, hardwareId: string = randomUUID(), hostname = "laptop-1.example.test") {
  return callAsAgent(t.app, {
    method: "POST",
    url: "/api/v1/agent/enroll",
    token,
    body: { hardwareId, facts: sampleFacts({ hostname }) },
  });
}

async function count(table: string, where = "true", params: unknown[] = []): Promise<number> {
  const rows = await t.db.owner.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM ${table} WHERE ${where}`,
    params,
  );
  return rows[0]?.n ?? 0;
}

describe("enrolment tokens", () => {
  it("are created by an Admin, shown once, listed without their secret, and revoked", async () => {
    const admin = await addTestMember(t.db, org.organizationId, "admin");
    const created = await call(t.app, {
      method: "POST",
      url: `/api/v1/orgs/${org.organizationId}/enrollment-tokens`,
      as: admin,
      body: { name: "Office laptops", maxUses: 3, expiresAt: new Date(Date.now() + 3_600_000).toISOString() },
    });
    expect(created.statusCode).toBe(201);
    const { token, enrollmentToken } = created.json();
    expect(token).toMatch(/^ppk_[0-9A-Za-z]{39}$/);
    expect(enrollmentToken).toMatchObject({ name: "Office laptops", status: "active", uses: 0, maxUses: 3 });
    expect(token.startsWith(enrollmentToken.hint.replace("…", ""))).toBe(true);

    const list = await call(t.app, {
      method: "GET",
      url: `/api/v1/orgs/${org.organizationId}/enrollment-tokens`,
      as: admin,
    });
    expect(list.statusCode).toBe(200);
    expect(list.body).not.toContain(token);
    expect(list.json().items.map((i: { id: string }) => i.id)).toContain(enrollmentToken.id);
    // Only the hash is stored.
    const stored = await t.db.owner.query<{ token_hash: Buffer }>(
      "SELECT token_hash FROM enrollment_tokens WHERE id = $1",
      [enrollmentToken.id],
    );
    expect(JSON.stringify(stored)).not.toContain(token);

    const revoked = await call(t.app, {
      method: "DELETE",
      url: `/api/v1/orgs/${org.organizationId}/enrollment-tokens/${enrollmentToken.id}`,
      as: admin,
    });
    expect(revoked.statusCode).toBe(204);
    expect((await enroll(token)).json().error.code).toBe("enrollment.token_revoked");
  });

  it("refuses an expiry in the past", async () => {
    const response = await call(t.app, {
      method: "POST",
      url: `/api/v1/orgs/${org.organizationId}/enrollment-tokens`,
      as: org.owner,
      body: { name: "late", expiresAt: "2020-01-01T00:00:00Z" },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.field).toBe("body/expiresAt");
  });
});

describe("enrolment", () => {
  it("makes a device and answers with its own device token", async () => {
    const { token } = await createTestEnrollmentToken(t.db, org.organizationId);
    const response = await enroll(token);
    expect(response.statusCode).toBe(201);
    const body = response.json();
    expect(body.deviceToken).toMatch(/^ppdt_/);
    expect(body).toMatchObject({
      organizationId: org.organizationId,
      checkInIntervalSeconds: 60,
      reenrolled: false,
    });
    const audit = await t.db.owner.query<{ action: string; actor_type: string; actor_id: string }>(
      "SELECT action, actor_type, actor_id FROM audit_events WHERE target_id = $1",
      [body.deviceId],
    );
    expect(audit).toEqual([{ action: "devices.enrolled", actor_type: "device", actor_id: body.deviceId }]);
    const checkIn = await callAsAgent(t.app, {
      method: "POST",
      url: `/api/v1/agent/devices/${body.deviceId}/check-in`,
      token: body.deviceToken,
      body: checkInBody(null, { hostname: "laptop-1.example.test" }),
    });
    expect(checkIn.statusCode).toBe(200);
    expect(checkIn.json().inventory).toBe("send_full");
  });

  // A mistyped or truncated token is refused by its checksum, before any lookup or write.
  it("refuses a garbled token without touching the database", async () => {
    const { token } = await createTestEnrollmentToken(t.db, org.organizationId);
    const before = await count("devices");
    for (const garbled of [
      token.slice(0, -1),
      `${token.slice(0, -1)}${token.endsWith("A") ? "B" : "A"}`,
      "ppk_short",
      null,
    ]) {
      const response = await enroll(garbled);
      expect(response.statusCode).toBe(401);
      expect(response.json().error.code).toBe("enrollment.token_invalid");
    }
    expect(await count("devices")).toBe(before);
  });

  it("refuses an unknown token and audits it in the platform chain", async () => {
    const response = await enroll(generateToken("enrollment"), "unknown-token-machine");
    expect(response.statusCode).toBe(401);
    expect(
      await count(
        "audit_events",
        "organization_id = $1 AND action = 'devices.enrollment_refused' AND details->>'hardwareId' = $2",
        [PLATFORM_ORGANIZATION_ID, "unknown-token-machine"],
      ),
    ).toBe(1);
  });

  it("refuses expired and used-up tokens with their reason, audited in the organisation", async () => {
    const expired = await createTestEnrollmentToken(t.db, org.organizationId, {
      expiresAt: new Date(Date.now() - 1000),
    });
    const once = await createTestEnrollmentToken(t.db, org.organizationId, { maxUses: 1 });
    expect((await enroll(expired.token)).json().error.code).toBe("enrollment.token_expired");
    expect((await enroll(once.token)).statusCode).toBe(201);
    const second = await enroll(once.token);
    expect(second.statusCode).toBe(403);
    expect(second.json().error.code).toBe("enrollment.token_used_up");
    expect(
      await count(
        "audit_events",
        "organization_id = $1 AND action = 'devices.enrollment_refused' AND target_id IN ($2, $3)",
        [org.organizationId, expired.id, once.id],
      ),
    ).toBe(2);
  });

  it("does not enrol the same machine twice unless an operator allows it, then takes the device over", async () => {
    const { token } = await createTestEnrollmentToken(t.db, org.organizationId);
    const hardwareId = `machine-${randomUUID()}`;
    const first = (await enroll(token, hardwareId)).json();
    const again = await enroll(token, hardwareId, "reinstalled.example.test");
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe("devices.already_enrolled");
    expect(await count("devices", "hardware_id = $1", [hardwareId])).toBe(1);

    const allowed = await call(t.app, {
      method: "POST",
      url: `/api/v1/orgs/${org.organizationId}/devices/${first.deviceId}/reenrollment`,
      as: org.owner,
    });
    expect(allowed.statusCode).toBe(200);
    const taken = await enroll(token, hardwareId, "reinstalled.example.test");
    expect(taken.statusCode).toBe(201);
    expect(taken.json()).toMatchObject({ deviceId: first.deviceId, reenrolled: true });
    // The old agent's token no longer works; the device keeps its id and history.
    const old = await callAsAgent(t.app, {
      method: "POST",
      url: `/api/v1/agent/devices/${first.deviceId}/check-in`,
      token: first.deviceToken,
      body: checkInBody(null),
    });
    expect(old.statusCode).toBe(401);
    const device = await call(t.app, {
      method: "GET",
      url: `/api/v1/orgs/${org.organizationId}/devices/${first.deviceId}`,
      as: org.owner,
    });
    expect(device.json().hostname).toBe("reinstalled.example.test");
    // The window is used up: a third install is refused again.
    expect((await enroll(token, hardwareId)).statusCode).toBe(409);
  });

  it("enrols a retired machine again as a new device", async () => {
    const { token } = await createTestEnrollmentToken(t.db, org.organizationId);
    const hardwareId = `retired-${randomUUID()}`;
    const first = (await enroll(token, hardwareId)).json();
    await call(t.app, {
      method: "DELETE",
      url: `/api/v1/orgs/${org.organizationId}/devices/${first.deviceId}`,
      as: org.owner,
    });
    const second = await enroll(token, hardwareId);
    expect(second.statusCode).toBe(201);
    expect(second.json().deviceId).not.toBe(first.deviceId);
  });

  it("validates the facts an agent sends", async () => {
    const { token } = await createTestEnrollmentToken(t.db, org.organizationId);
    const bad = [
      { hardwareId: "x", facts: sampleFacts() },
      { hardwareId: randomUUID(), facts: { ...sampleFacts(), hostname: "a".repeat(300) } },
      { hardwareId: randomUUID(), facts: { ...sampleFacts(), hostname: "evil\u001b[31mred" } },
      { hardwareId: randomUUID(), facts: { ...sampleFacts(), extra: true } },
      { hardwareId: randomUUID(), facts: { ...sampleFacts(), uptimeSeconds: "1" } },
    ];
    const before = await count("devices");
    for (const body of bad) {
      const response = await callAsAgent(t.app, { method: "POST", url: "/api/v1/agent/enroll", token, body });
      expect(response.statusCode, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(response.json().error.field).toMatch(/^body\//);
    }
    expect(await count("devices")).toBe(before);
  });
});
