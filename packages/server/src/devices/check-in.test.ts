import { generateToken, type Inventory, inventoryHash, toWireInventory } from "@patchpilot/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, createTestOrg, startTestApp, type TestApp, type TestOrg } from "../testing/app.js";
import {
  callAsAgent,
  checkInBody,
  enrollTestDevice,
  sampleInventory,
  type TestDevice,
} from "../testing/devices.js";

let t: TestApp;
let org: TestOrg;
beforeAll(async () => {
  t = await startTestApp();
  org = await createTestOrg(t.db, "Checking In Ltd");
});
afterAll(() => t.close());

function checkIn(device: TestDevice, inventory: Inventory | null, token = device.token, facts = {}) {
  return callAsAgent(t.app, {
    method: "POST",
    url: `/api/v1/agent/devices/${device.deviceId}/check-in`,
    token,
    body: checkInBody(inventory, { hostname: device.hostname, ...facts }),
  });
}

function upload(device: TestDevice, inventory: Inventory, reportId: string = crypto.randomUUID()) {
  return callAsAgent(t.app, {
    method: "PUT",
    url: `/api/v1/agent/devices/${device.deviceId}/inventory`,
    token: device.token,
    body: { reportId, inventory: toWireInventory(inventory) },
  });
}

/** Rows in the tables a check-in could write to, presence aside (it is flushed in batches). */
async function writeCount(): Promise<number> {
  const rows = await t.db.owner.query<{ n: number }>(`SELECT (
    (SELECT count(*) FROM devices WHERE updated_at > now() - interval '1 hour') +
    (SELECT count(*) FROM device_events) + (SELECT count(*) FROM audit_events) +
    (SELECT count(*) FROM device_inventories) + (SELECT count(*) FROM software) + (SELECT count(*) FROM package_sets) +
    (SELECT count(*) FROM agent_reports) + (SELECT count(*) FROM device_jobs))::int AS n`);
  return rows[0]?.n ?? 0;
}

describe("check-in", () => {
  it("asks a new device for its inventory, then answers 'current' without writing anything", async () => {
    const device = await enrollTestDevice(t.db, org.organizationId);
    const inventory = sampleInventory(30, "steady");
    expect((await checkIn(device, inventory)).json()).toMatchObject({
      inventory: "send_full",
      knownInventoryHash: null,
      jobs: [],
    });
    const stored = await upload(device, inventory);
    expect(stored.statusCode).toBe(200);
    expect(stored.json()).toEqual({
      inventoryHash: inventoryHash(inventory),
      packageCount: 30,
      duplicate: false,
    });

    const before = await writeCount();
    for (let i = 0; i < 5; i++) {
      const response = await checkIn(device, inventory);
      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({
        inventory: "current",
        knownInventoryHash: inventoryHash(inventory),
        rotateToken: false,
      });
    }
    expect(await writeCount()).toBe(before);
  });

  it("records last seen within a second, and the device shows online", async () => {
    const device = await enrollTestDevice(t.db, org.organizationId);
    const before = Date.now();
    await checkIn(device, null);
    await t.app.devices.presence.flush();
    const view = await call(t.app, {
      method: "GET",
      url: `/api/v1/orgs/${org.organizationId}/devices/${device.deviceId}`,
      as: org.owner,
    });
    expect(view.json().online).toBe(true);
    expect(Date.parse(view.json().lastSeenAt)).toBeGreaterThanOrEqual(before - 5);
    const online = await call(t.app, {
      method: "GET",
      url: `/api/v1/orgs/${org.organizationId}/devices?online=true&limit=200`,
      as: org.owner,
    });
    expect(online.json().items.map((d: { id: string }) => d.id)).toContain(device.deviceId);
  });

  it("writes changed facts with a device event naming what changed, and notices a reboot", async () => {
    const device = await enrollTestDevice(t.db, org.organizationId);
    await checkIn(device, null);
    await checkIn(device, null, device.token, { kernel: "6.1.0-99-amd64", uptimeSeconds: 60 });
    const events = await t.db.owner.query<{ event_type: string; details: Record<string, unknown> }>(
      "SELECT event_type, details FROM device_events WHERE device_id = $1 ORDER BY seq",
      [device.deviceId],
    );
    const changed = events.find((e) => e.event_type === "device.facts_changed");
    expect(changed?.details).toEqual({
      changes: { kernel: { from: "6.1.0-18-amd64", to: "6.1.0-99-amd64" } },
    });
    expect(events.map((e) => e.event_type)).toContain("device.rebooted");
    const view = await call(t.app, {
      method: "GET",
      url: `/api/v1/orgs/${org.organizationId}/devices/${device.deviceId}`,
      as: org.owner,
    });
    expect(view.json().kernel).toBe("6.1.0-99-amd64");
  });

  it("refuses a garbled, forged or missing token with 401, and another device's id with 403", async () => {
    const device = await enrollTestDevice(t.db, org.organizationId);
    const other = await enrollTestDevice(t.db, org.organizationId);
    for (const token of [
      device.token.slice(0, -2),
      generateToken("device"),
      generateToken("session"),
      null,
    ]) {
      const response = await callAsAgent(t.app, {
        method: "POST",
        url: `/api/v1/agent/devices/${device.deviceId}/check-in`,
        token,
        body: checkInBody(null),
      });
      expect(response.statusCode).toBe(401);
      expect(response.json().error.code).toBe("agent.token_invalid");
    }
    const cross = await checkIn(other, null, device.token);
    expect(cross.statusCode).toBe(403);
    expect(cross.json().error.code).toBe("agent.wrong_device");
    // The attempt is on the record of the token's own device; the other device is untouched.
    const misuse = await t.db.owner.query<{ device_id: string }>(
      "SELECT device_id FROM device_events WHERE event_type = 'device.token_misused'",
    );
    expect(misuse).toEqual([{ device_id: device.deviceId }]);
  });

  it("stops a revoked token at once, and on a second server process within a second", async () => {
    const device = await enrollTestDevice(t.db, org.organizationId);
    const second = await startTestApp({ db: t.testDb });
    try {
      expect((await checkIn(device, null)).statusCode).toBe(200);
      const onSecond = () =>
        callAsAgent(second.app, {
          method: "POST",
          url: `/api/v1/agent/devices/${device.deviceId}/check-in`,
          token: device.token,
          body: checkInBody(null, { hostname: device.hostname }),
        });
      expect((await onSecond()).statusCode).toBe(200);
      const revoked = await call(t.app, {
        method: "DELETE",
        url: `/api/v1/orgs/${org.organizationId}/devices/${device.deviceId}/token`,
        as: org.owner,
      });
      expect(revoked.statusCode).toBe(204);
      const started = Date.now();
      let status = 200;
      while (status === 200 && Date.now() - started < 3000) {
        status = (await onSecond()).statusCode;
        if (status === 200) await new Promise((r) => setTimeout(r, 50));
      }
      expect(status).toBe(401);
      expect(Date.now() - started).toBeLessThan(1000);
      expect((await checkIn(device, null)).statusCode).toBe(401);
    } finally {
      await second.app.close();
    }
  });

  it("rotates a device token: the old one works until the new one is used, then stops", async () => {
    const device = await enrollTestDevice(t.db, org.organizationId);
    const rotated = await callAsAgent(t.app, {
      method: "POST",
      url: `/api/v1/agent/devices/${device.deviceId}/token`,
      token: device.token,
    });
    expect(rotated.statusCode).toBe(201);
    const fresh: string = rotated.json().deviceToken;
    expect(fresh).toMatch(/^ppdt_/);
    expect((await checkIn(device, null)).statusCode).toBe(200);
    expect((await checkIn(device, null, fresh)).statusCode).toBe(200);
    expect((await checkIn(device, null)).statusCode).toBe(401);
    const events = await t.db.owner.query<{ event_type: string }>(
      "SELECT event_type FROM device_events WHERE device_id = $1 ORDER BY seq",
      [device.deviceId],
    );
    expect(events.map((e) => e.event_type)).toEqual(
      expect.arrayContaining(["device.token_issued", "device.token_rotated"]),
    );
  });

  it("delivers a queued job to a waiting long-poll within seconds and records its result once", async () => {
    const device = await enrollTestDevice(t.db, org.organizationId);
    const waiting = callAsAgent(t.app, {
      method: "GET",
      url: `/api/v1/agent/devices/${device.deviceId}/jobs?waitSeconds=20`,
      token: device.token,
    });
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    const queued = await call(t.app, {
      method: "POST",
      url: `/api/v1/orgs/${org.organizationId}/devices/${device.deviceId}/inventory-refresh`,
      as: org.owner,
    });
    expect(queued.statusCode).toBe(202);
    const response = await waiting;
    expect(Date.now() - started).toBeLessThan(2000);
    expect(response.json().jobs).toEqual([
      expect.objectContaining({ id: queued.json().jobId, kind: "inventory" }),
    ]);
    // The inventory was asked for: the next check-in says so.
    expect((await checkIn(device, null)).json().inventory).toBe("send_full");

    const result = {
      reportId: crypto.randomUUID(),
      jobId: queued.json().jobId,
      outcome: "succeeded",
      startedAt: new Date().toISOString(),
      finishedAt: new Date().toISOString(),
      summary: "inventory sent",
    };
    const send = () =>
      callAsAgent(t.app, {
        method: "POST",
        url: `/api/v1/agent/devices/${device.deviceId}/job-results`,
        token: device.token,
        body: result,
      });
    expect((await send()).json()).toEqual({ duplicate: false });
    expect((await send()).json()).toEqual({ duplicate: true });
    const job = await t.db.owner.query<{ state: string }>("SELECT state FROM device_jobs WHERE id = $1", [
      result.jobId,
    ]);
    expect(job[0]?.state).toBe("succeeded");
    const succeeded = await t.db.owner.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM device_events WHERE device_id = $1 AND event_type = 'job.succeeded'",
      [device.deviceId],
    );
    expect(succeeded[0]?.n).toBe(1);
  });

  it("answers a long-poll with nothing when no job comes", async () => {
    const device = await enrollTestDevice(t.db, org.organizationId);
    const started = Date.now();
    const response = await callAsAgent(t.app, {
      method: "GET",
      url: `/api/v1/agent/devices/${device.deviceId}/jobs?waitSeconds=1`,
      token: device.token,
    });
    expect(response.json()).toEqual({ jobs: [] });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });
});
