import type { PatchJobResult } from "@patchpilot/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addTestMember,
  call,
  createTestOrg,
  startTestApp,
  type TestApp,
  type TestOrg,
} from "../../testing/app.js";
import { SYSTEM_CONTEXT } from "../../testing/database.js";
import {
  callAsAgent,
  createTestEnrollmentToken,
  enrollTestDevice,
  type TestDevice,
} from "../../testing/devices.js";
import { stepRollout } from "./rollout-engine.js";

let t: TestApp;
let org: TestOrg;
let other: TestOrg;

beforeAll(async () => {
  // Rollouts are stepped by the test; devices learn of their jobs as in production (signals).
  t = await startTestApp({ backgroundWork: false });
  t.app.devices.start();
  org = await createTestOrg(t.db, "Rollouts Ltd");
  other = await createTestOrg(t.db, "Elsewhere Ltd");
});
afterAll(async () => {
  await t.app.devices.stop();
  await t.close();
});

async function group(
  o: TestOrg,
  name: string,
  devices: number,
): Promise<{ id: string; devices: TestDevice[] }> {
  const id = await t.db.withOrganization(o.organizationId, SYSTEM_CONTEXT, async (tx) => {
    const row = await tx.db
      .insertInto("device_groups")
      .values({ name })
      .returning("id")
      .executeTakeFirstOrThrow();
    tx.audit({ action: "device_groups.created", target: { type: "device_group", id: row.id } });
    return row.id;
  });
  const token = (await createTestEnrollmentToken(t.db, o.organizationId, { groupId: id })).token;
  const list: TestDevice[] = [];
  for (let i = 0; i < devices; i++) {
    list.push(
      await enrollTestDevice(t.db, o.organizationId, {
        enrollmentToken: token,
        hostname: `${name}-${i}.example.test`,
      }),
    );
  }
  return { id, devices: list };
}

const api = (method: "GET" | "POST", url: string, body?: unknown) =>
  call(t.app, {
    method,
    url: `/api/v1/orgs/${org.organizationId}${url}`,
    as: org.owner,
    ...(body ? { body } : {}),
  });

/** Steps the rollout until it has nothing more to do now. */
async function step(rolloutId: string, now?: Date): Promise<void> {
  for (let i = 0; i < 20 && (await stepRollout(t.db, org.organizationId, rolloutId, now)); i++);
}

/** The device's queued jobs, fetched as its agent would. */
async function jobsOf(
  device: TestDevice,
): Promise<{ id: string; kind: string; payload: Record<string, unknown> }[]> {
  const response = await callAsAgent(t.app, {
    method: "GET",
    url: `/api/v1/agent/devices/${device.deviceId}/jobs?waitSeconds=0`,
    token: device.token,
  });
  expect(response.statusCode, response.body).toBe(200);
  return response.json().jobs;
}

function patchResult(overrides: Partial<PatchJobResult> = {}): PatchJobResult {
  return {
    packageManager: "apt",
    preUpdate: { status: "skipped", exitCode: null, log: "" },
    install: { exitCode: 0, log: "Setting up openssl (3.0.11-1~deb12u2) ..." },
    healthCheck: { status: "succeeded", exitCode: 0, log: "nginx: active" },
    rollback: { status: "skipped", exitCode: null, log: "" },
    packages: [
      {
        name: "openssl",
        fromVersion: "3.0.11-1~deb12u1",
        toVersion: "3.0.11-1~deb12u2",
        result: "installed",
      },
    ],
    rebootRequired: false,
    rebooting: false,
    ...overrides,
  };
}

async function report(
  device: TestDevice,
  jobId: string,
  patch: PatchJobResult,
  outcome: "succeeded" | "failed" = "succeeded",
) {
  const response = await callAsAgent(t.app, {
    method: "POST",
    url: `/api/v1/agent/devices/${device.deviceId}/job-results`,
    token: device.token,
    body: {
      reportId: crypto.randomUUID(),
      jobId,
      outcome,
      startedAt: new Date().toISOString(),
      finishedAt: new Date().toISOString(),
      summary: outcome,
      patch,
    },
  });
  expect(response.statusCode, response.body).toBe(200);
}

const rolloutBody = (
  rings: {
    name: string;
    groupIds: string[];
    successPercent?: number;
    soakMinutes?: number;
    requireApproval?: boolean;
  }[],
  extra = {},
) => ({
  name: "OpenSSL fixes",
  mode: "packages",
  packages: [{ name: "openssl", version: "3.0.11-1~deb12u2" }],
  rings,
  healthCheck: { services: ["nginx"], hook: null },
  ...extra,
});

describe("rollouts through rings", () => {
  it("patches the test ring first, measures its gate, then promotes to production, and tells the story", async () => {
    const test = await group(org, "test", 2);
    const prod = await group(org, "prod", 3);
    const created = await api(
      "POST",
      "/rollouts",
      rolloutBody([
        { name: "test", groupIds: [test.id], successPercent: 100, soakMinutes: 0 },
        { name: "production", groupIds: [prod.id], soakMinutes: 0 },
      ]),
    );
    expect(created.statusCode, created.body).toBe(201);
    const rollout = created.json();
    expect(rollout.rings.map((r: { counts: { total: number } }) => r.counts.total)).toEqual([2, 3]);

    await step(rollout.id);
    // Only the test ring's devices have work; production's learn nothing yet.
    const testJobs = await Promise.all(test.devices.map(jobsOf));
    expect(testJobs.map((j) => j.map((x) => x.kind))).toEqual([["patch"], ["patch"]]);
    expect(testJobs[0]?.[0]?.payload).toMatchObject({
      mode: "packages",
      packages: [{ name: "openssl", version: "3.0.11-1~deb12u2" }],
      ring: "test",
    });
    expect((await Promise.all(prod.devices.map(jobsOf))).flat()).toEqual([]);

    for (const [i, device] of test.devices.entries())
      await report(device, testJobs[i]?.[0]?.id ?? "", patchResult());
    await step(rollout.id);
    const promoted = (await api("GET", `/rollouts/${rollout.id}`)).json();
    expect(promoted.rings[0]).toMatchObject({
      state: "passed",
      measured: { total: 2, succeeded: 2, successPercent: 100 },
    });
    expect(promoted.currentRing).toBe(1);

    const prodJobs = await Promise.all(prod.devices.map(jobsOf));
    for (const [i, device] of prod.devices.entries())
      await report(device, prodJobs[i]?.[0]?.id ?? "", patchResult());
    await step(rollout.id);
    const done = (await api("GET", `/rollouts/${rollout.id}`)).json();
    expect(done.state).toBe("completed");

    const story = await t.db.owner.query<{ action: string }>(
      "SELECT action FROM audit_events WHERE target_id = $1 ORDER BY seq",
      [rollout.id],
    );
    expect(story.map((e) => e.action)).toEqual([
      "rollouts.created",
      "rollouts.ring_started",
      "rollouts.ring_settled",
      "rollouts.ring_promoted",
      "rollouts.ring_started",
      "rollouts.ring_settled",
      "rollouts.completed",
    ]);
    const events = await t.db.owner.query<{ event_type: string }>(
      "SELECT event_type FROM device_events WHERE device_id = $1 ORDER BY seq",
      [test.devices[0]?.deviceId],
    );
    expect(events.map((e) => e.event_type)).toEqual(
      expect.arrayContaining(["job.queued", "job.succeeded", "rollout.device_succeeded"]),
    );
  });

  it("halts when a device fails its health check: nothing reaches production", async () => {
    const test = await group(org, "canary", 2);
    const prod = await group(org, "fleet", 2);
    const rollout = (
      await api(
        "POST",
        "/rollouts",
        rolloutBody([
          { name: "test", groupIds: [test.id], successPercent: 50, soakMinutes: 0 },
          { name: "production", groupIds: [prod.id] },
        ]),
      )
    ).json();
    await step(rollout.id);
    const jobs = await Promise.all(test.devices.map(jobsOf));
    await report(test.devices[0] as TestDevice, jobs[0]?.[0]?.id ?? "", patchResult());
    await report(
      test.devices[1] as TestDevice,
      jobs[1]?.[0]?.id ?? "",
      patchResult({
        healthCheck: { status: "failed", exitCode: 3, log: "nginx: failed" },
        rollback: { status: "succeeded", exitCode: 0, log: "restored 3.0.11-1~deb12u1" },
        packages: [
          {
            name: "openssl",
            fromVersion: "3.0.11-1~deb12u1",
            toVersion: "3.0.11-1~deb12u1",
            result: "rolled_back",
          },
        ],
      }),
      "failed",
    );
    await step(rollout.id);
    const halted = (await api("GET", `/rollouts/${rollout.id}`)).json();
    expect(halted.state).toBe("halted");
    expect(halted.haltedReason).toMatch(/1 device\(s\) failed the health check/);
    expect(halted.rings.map((r: { state: string }) => r.state)).toEqual(["failed", "pending"]);
    expect((await Promise.all(prod.devices.map(jobsOf))).flat()).toEqual([]);
    const devices = (await api("GET", `/rollouts/${rollout.id}/devices?state=failed`)).json();
    expect(devices.items).toHaveLength(1);
    expect(devices.items[0]).toMatchObject({
      health: "failed",
      reason: expect.stringMatching(/health check failed: nginx: failed/),
    });
    const audit = await t.db.owner.query<{ action: string; result: string }>(
      "SELECT action, result FROM audit_events WHERE target_id = $1 AND action = 'rollouts.halted'",
      [rollout.id],
    );
    expect(audit).toEqual([{ action: "rollouts.halted", result: "failure" }]);
  });

  it("does not believe a success whose version did not change, and retries a failure later with backoff", async () => {
    const ring = await group(org, "truth", 2);
    const rollout = (
      await api("POST", "/rollouts", {
        ...rolloutBody([{ name: "only", groupIds: [ring.id], soakMinutes: 0 }]),
        maxAttempts: 2,
      })
    ).json();
    await step(rollout.id);
    const jobs = await Promise.all(ring.devices.map(jobsOf));
    await report(
      ring.devices[0] as TestDevice,
      jobs[0]?.[0]?.id ?? "",
      patchResult({
        packages: [
          {
            name: "openssl",
            fromVersion: "3.0.11-1~deb12u1",
            toVersion: "3.0.11-1~deb12u1",
            result: "installed",
          },
        ],
      }),
    );
    await report(
      ring.devices[1] as TestDevice,
      jobs[1]?.[0]?.id ?? "",
      patchResult({
        packages: [
          {
            name: "openssl",
            fromVersion: "3.0.11-1~deb12u1",
            toVersion: null,
            result: "failed",
            reason: "dpkg was interrupted",
          },
        ],
      }),
      "failed",
    );
    const devices = (await api("GET", `/rollouts/${rollout.id}/devices`)).json().items as {
      deviceId: string;
      state: string;
      reason: string;
      nextAttemptAt: string | null;
      attempts: number;
    }[];
    const byDevice = new Map(devices.map((d) => [d.deviceId, d]));
    // Attempt 1 of 2 for both: retried later, not now.
    expect(byDevice.get(ring.devices[0]?.deviceId ?? "")).toMatchObject({
      state: "pending",
      reason: expect.stringMatching(/still at 3.0.11-1~deb12u1 although the job reported it installed/),
    });
    expect(byDevice.get(ring.devices[1]?.deviceId ?? "")).toMatchObject({
      state: "pending",
      attempts: 1,
      reason: expect.stringMatching(/openssl: failed \(dpkg was interrupted\)/),
    });
    const retryAt = Date.parse(byDevice.get(ring.devices[1]?.deviceId ?? "")?.nextAttemptAt ?? "");
    expect(retryAt - Date.now()).toBeGreaterThan(4 * 60_000);
    await step(rollout.id);
    expect((await Promise.all(ring.devices.map(jobsOf))).flat()).toEqual([]);
    // Later, the retries go out; a second failure is final and the gate (95 %) halts the rollout.
    const later = new Date(Date.now() + 10 * 60_000);
    await step(rollout.id, later);
    const retries = await Promise.all(ring.devices.map(jobsOf));
    for (const [i, device] of ring.devices.entries()) {
      await report(
        device,
        retries[i]?.[0]?.id ?? "",
        patchResult({
          packages: [{ name: "openssl", fromVersion: "3.0.11-1~deb12u1", toVersion: null, result: "failed" }],
        }),
        "failed",
      );
    }
    await step(rollout.id, later);
    expect((await api("GET", `/rollouts/${rollout.id}`)).json()).toMatchObject({
      state: "halted",
      haltedReason: expect.stringMatching(/0 % of the ring's devices succeeded; the gate needs 95 %/),
    });
  });

  it("waits for the maintenance window and for a person's approval", async () => {
    const ring = await group(org, "windowed", 1);
    const window = await api("POST", "/maintenance-windows", {
      name: "Saturday",
      schedule: "0 2 * * 6",
      durationMinutes: 240,
      timeZone: "UTC",
    });
    expect(window.statusCode, window.body).toBe(201);
    const rollout = (
      await api("POST", "/rollouts", {
        ...rolloutBody([{ name: "only", groupIds: [ring.id], soakMinutes: 0, requireApproval: true }]),
        windowId: window.json().id,
      })
    ).json();
    const friday = new Date("2026-12-04T12:00:00Z");
    await step(rollout.id, friday);
    const waiting = (await api("GET", `/rollouts/${rollout.id}/devices`)).json().items[0];
    expect(waiting).toMatchObject({
      state: "waiting_window",
      reason: "the maintenance window opens at 2026-12-05T02:00:00.000Z",
    });
    expect(await jobsOf(ring.devices[0] as TestDevice)).toEqual([]);
    await step(rollout.id, new Date("2026-12-05T02:30:00Z"));
    const [job] = await jobsOf(ring.devices[0] as TestDevice);
    expect(job?.kind).toBe("patch");
    await report(ring.devices[0] as TestDevice, job?.id ?? "", patchResult());
    await step(rollout.id, new Date("2026-12-05T03:00:00Z"));
    expect((await api("GET", `/rollouts/${rollout.id}`)).json().rings[0].state).toBe("awaiting_approval");
    // An Operator runs rollouts but may not approve a promotion; an Admin may.
    for (const [role, status] of [
      ["operator", 403],
      ["admin", 204],
    ] as const) {
      const person = await addTestMember(t.db, org.organizationId, role);
      const approval = await call(t.app, {
        method: "POST",
        url: `/api/v1/orgs/${org.organizationId}/rollouts/${rollout.id}/approve`,
        as: person,
        body: { reason: "CAB" },
      });
      expect(approval.statusCode, role).toBe(status);
    }
    await step(rollout.id, new Date("2026-12-05T03:05:00Z"));
    expect((await api("GET", `/rollouts/${rollout.id}`)).json().state).toBe("completed");
  });

  it("pauses, resumes and cancels, withdrawing queued jobs", async () => {
    const ring = await group(org, "cancelled", 2);
    const rollout = (
      await api("POST", "/rollouts", rolloutBody([{ name: "only", groupIds: [ring.id] }]))
    ).json();
    expect((await api("POST", `/rollouts/${rollout.id}/pause`, {})).statusCode).toBe(204);
    await step(rollout.id);
    expect((await Promise.all(ring.devices.map(jobsOf))).flat()).toEqual([]);
    expect((await api("POST", `/rollouts/${rollout.id}/pause`, {})).json().error.code).toBe(
      "rollouts.not_running",
    );
    expect((await api("POST", `/rollouts/${rollout.id}/resume`, {})).statusCode).toBe(204);
    await step(rollout.id);
    expect(
      (await api("POST", `/rollouts/${rollout.id}/cancel`, { reason: "wrong package" })).statusCode,
    ).toBe(204);
    expect((await Promise.all(ring.devices.map(jobsOf))).flat()).toEqual([]);
    const states = await t.db.owner.query<{ state: string }>(
      "SELECT j.state FROM device_jobs j JOIN rollout_devices rd ON rd.job_id = j.id WHERE rd.rollout_id = $1",
      [rollout.id],
    );
    expect(states.map((s) => s.state)).toEqual(["canceled", "canceled"]);
    expect((await api("POST", `/rollouts/${rollout.id}/resume`, {})).json().error.code).toBe(
      "rollouts.finished",
    );
  });
});

describe("bad rollout input", () => {
  it("refuses another organisation's group, an empty ring, a gate outside 0–100 %, shell metacharacters and an impossible window, writing nothing", async () => {
    const mine = await group(org, "mine", 1);
    const theirs = await group(other, "theirs", 1);
    const empty = await group(org, "empty", 0);
    const before = await t.db.owner.query<{ n: number }>("SELECT count(*)::int AS n FROM rollouts");
    const cases: [unknown, number, string][] = [
      [rolloutBody([{ name: "x", groupIds: [theirs.id] }]), 400, "rollouts.group_not_found"],
      [
        rolloutBody([
          { name: "x", groupIds: [mine.id] },
          { name: "y", groupIds: [empty.id] },
        ]),
        400,
        "rollouts.empty_ring",
      ],
      [rolloutBody([{ name: "x", groupIds: [mine.id], successPercent: 101 }]), 400, "request.invalid"],
      [rolloutBody([{ name: "x", groupIds: [mine.id], successPercent: -1 }]), 400, "request.invalid"],
      [rolloutBody([]), 400, "request.invalid"],
      [
        { ...rolloutBody([{ name: "x", groupIds: [mine.id] }]), packages: [{ name: "openssl; rm -rf /" }] },
        400,
        "request.invalid",
      ],
      [
        {
          ...rolloutBody([{ name: "x", groupIds: [mine.id] }]),
          packages: [{ name: "openssl", version: "$(reboot)" }],
        },
        400,
        "request.invalid",
      ],
      [
        { ...rolloutBody([{ name: "x", groupIds: [mine.id] }]), mode: "security" },
        400,
        "rollouts.packages_not_allowed",
      ],
      [
        { ...rolloutBody([{ name: "x", groupIds: [mine.id] }]), packages: [] },
        400,
        "rollouts.nothing_to_install",
      ],
      [
        {
          ...rolloutBody([{ name: "x", groupIds: [mine.id] }]),
          preUpdate: { hook: "../../bin/sh", args: [], timeoutSeconds: 60 },
        },
        400,
        "request.invalid",
      ],
      [{ ...rolloutBody([{ name: "x", groupIds: [mine.id] }]), surprise: true }, 400, "request.invalid"],
    ];
    for (const [body, status, code] of cases) {
      const response = await api("POST", "/rollouts", body);
      expect([response.statusCode, response.json().error?.code], JSON.stringify(body)).toEqual([
        status,
        code,
      ]);
    }
    const windows: [unknown, string][] = [
      [{ name: "never", schedule: "0 3 30 2 *", durationMinutes: 60, timeZone: "UTC" }, "windows.invalid"],
      [
        { name: "zone", schedule: "0 3 * * *", durationMinutes: 60, timeZone: "Atlantis/Lost" },
        "windows.invalid",
      ],
      [{ name: "text", schedule: "on saturdays", durationMinutes: 60, timeZone: "UTC" }, "windows.invalid"],
      [{ name: "short", schedule: "0 3 * * *", durationMinutes: 5, timeZone: "UTC" }, "request.invalid"],
    ];
    for (const [body, code] of windows) {
      const response = await api("POST", "/maintenance-windows", body);
      expect([response.statusCode, response.json().error?.code], JSON.stringify(body)).toEqual([400, code]);
    }
    expect(await t.db.owner.query("SELECT count(*)::int AS n FROM rollouts")).toEqual(before);
    expect(
      await t.db.owner.query(
        "SELECT count(*)::int AS n FROM maintenance_windows WHERE name IN ('never', 'zone', 'text', 'short')",
      ),
    ).toEqual([{ n: 0 }]);
  });

  it("answers 404 for another organisation's rollout", async () => {
    const theirs = await group(other, "their-ring", 1);
    const created = await call(t.app, {
      method: "POST",
      url: `/api/v1/orgs/${other.organizationId}/rollouts`,
      as: other.owner,
      body: rolloutBody([{ name: "x", groupIds: [theirs.id] }]),
    });
    expect(created.statusCode).toBe(201);
    for (const url of [`/rollouts/${created.json().id}`, `/rollouts/${created.json().id}/devices`]) {
      expect((await api("GET", url)).statusCode).toBe(404);
    }
    expect((await api("POST", `/rollouts/${created.json().id}/cancel`, {})).statusCode).toBe(404);
  });
});
