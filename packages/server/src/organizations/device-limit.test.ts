import { randomUUID } from "node:crypto";
import { PLAN_TABLE } from "@patchpilot/domain";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestOrg, startTestApp, type TestApp } from "../testing/app.js";
import { callAsAgent, createTestEnrollmentToken, enrollTestDevice, sampleFacts } from "../testing/devices.js";

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ backgroundWork: false });
});
afterAll(() => t.close());

async function liveDevices(organizationId: string): Promise<number> {
  const rows = await t.db.owner.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM devices WHERE organization_id = $1 AND retired_at IS NULL",
    [organizationId],
  );
  return rows[0]?.n ?? 0;
}

describe("device limits per plan", () => {
  it("refuses the enrolment past the plan's limit with a 402 naming the plan that allows more", async () => {
    const org = await createTestOrg(t.db, "Small Shop");
    const limit = PLAN_TABLE.free.deviceLimit ?? 0;
    const token = (await createTestEnrollmentToken(t.db, org.organizationId)).token;
    for (let i = 0; i < limit; i++)
      await enrollTestDevice(t.db, org.organizationId, { enrollmentToken: token });
    expect(await liveDevices(org.organizationId)).toBe(limit);

    const refused = await callAsAgent(t.app, {
      method: "POST",
      url: "/api/v1/agent/enroll",
      token,
      body: { hardwareId: randomUUID(), facts: sampleFacts({ hostname: "one-too-many.example.test" }) },
    });
    expect(refused.statusCode).toBe(402);
    expect(refused.json().error.code).toBe("plans.device_limit_reached");
    expect(refused.json().error.message).toMatch(
      /Free plan allows 25 devices.*Starter plan allows 250 devices/,
    );
    expect(await liveDevices(org.organizationId)).toBe(limit);
    const audited = await t.db.owner.query<{ error_code: string }>(
      "SELECT error_code FROM audit_events WHERE organization_id = $1 AND action = 'devices.enrollment_refused'",
      [org.organizationId],
    );
    expect(audited.map((a) => a.error_code)).toEqual(["plans.device_limit_reached"]);

    // A retired device frees its place; an upgrade raises the limit.
    const [first] = await t.db.owner.query<{ id: string }>(
      "SELECT id FROM devices WHERE organization_id = $1 ORDER BY enrolled_at LIMIT 1",
      [org.organizationId],
    );
    await t.db.owner.query("UPDATE devices SET retired_at = now() WHERE id = $1", [first?.id]);
    await enrollTestDevice(t.db, org.organizationId, { enrollmentToken: token });
    await expect(enrollTestDevice(t.db, org.organizationId, { enrollmentToken: token })).rejects.toThrow(
      /allows 25 devices/,
    );
    await t.db.owner.query("UPDATE organizations SET plan = 'starter' WHERE id = $1", [org.organizationId]);
    await enrollTestDevice(t.db, org.organizationId, { enrollmentToken: token });
    expect(await liveDevices(org.organizationId)).toBe(limit + 1);
  });

  it("does not limit plans without a device limit", async () => {
    const org = await createTestOrg(t.db, "Big Corp");
    await t.db.owner.query("UPDATE organizations SET plan = 'enterprise' WHERE id = $1", [
      org.organizationId,
    ]);
    await enrollTestDevice(t.db, org.organizationId);
    expect(await liveDevices(org.organizationId)).toBe(1);
  });
});
