/**
 * The whole patch story on real parts: a local apt repository built in the test, two sandbox roots
 * with their own dpkg databases, two real agents enrolled over pinned TLS, an advisory imported in
 * its published format (OSV), and rollouts through a test ring and a production ring. The agents
 * install with the real apt and dpkg into their roots; the server learns what happened from their
 * results and proves it with their next inventories.
 */
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AptSandbox,
  aptSandboxAvailable,
  createAptSandbox,
} from "../../../../agent/src/testing/apt-sandbox.js";
import { verifyChain } from "../../audit/verify.js";
import { type AgentProcess, eventually, runAgentCli, spawnAgent } from "../../testing/agent-cli.js";
import { call, createTestOrg, type TestOrg } from "../../testing/app.js";
import { type RealServer, startRealServer } from "../../testing/real-server.js";
import { importFeedBundle } from "../../vulns/feeds/import/import-feeds.js";

const CVE = "CVE-2099-4711";
const available = aptSandboxAvailable();

interface Machine {
  name: string;
  sandbox: AptSandbox;
  deviceId: string;
  agent: AgentProcess;
}

interface RolloutView {
  id: string;
  state: string;
  rings: { name: string; state: string; counts: Record<string, number> }[];
}

interface DeviceRow {
  deviceId: string;
  state: string;
  reason: string | null;
  verified: string;
  health: string | null;
  logExcerpt: string | null;
  steps: {
    preUpdate: { status: string };
    healthCheck: { status: string };
    rollback: { status: string };
  } | null;
  packages: { name: string; fromVersion: string | null; toVersion: string | null; result: string }[];
}

describe.skipIf(!available)("patching with the real apt, end to end", () => {
  let server: RealServer;
  let org: TestOrg;
  let work: string;
  let hooksDir: string;
  const machines: Machine[] = [];
  let testGroup: string;
  let productionGroup: string;

  const api = async (method: "GET" | "POST" | "PUT", url: string, body?: unknown) => {
    const reply = await call(server.server.app, {
      method,
      url: `/api/v1/orgs/${org.organizationId}${url}`,
      as: org.owner,
      ...(body === undefined ? {} : { body }),
    });
    expect(reply.statusCode, `${method} ${url}: ${reply.body}`).toBeLessThan(300);
    return reply.statusCode === 204 ? null : reply.json();
  };

  async function machine(name: string, groupId: string): Promise<Machine> {
    const sandbox = await createAptSandbox({
      available: [
        { name: "foo", version: "1.0" },
        { name: "foo", version: "1.1" },
        { name: "bar", version: "1.0" },
        { name: "bar", version: "1.1" },
      ],
      installed: [
        { name: "foo", version: "1.0" },
        { name: "bar", version: "1.0" },
      ],
      suite: "bookworm-security",
    });
    const stateDir = path.join(work, `${name}-state`);
    const token = await api("POST", "/enrollment-tokens", { name, groupId });
    const enrolled = await runAgentCli(
      [
        "enroll",
        "--server",
        server.url,
        "--ca-pin",
        server.caPin,
        "--state-dir",
        stateDir,
        ...sandbox.agentArgs,
      ],
      { ...sandbox.env, PATCHPILOT_ENROLLMENT_TOKEN: token.token },
    );
    expect(enrolled.code, enrolled.output).toBe(0);
    const { deviceId } = JSON.parse(enrolled.output.trim().split("\n").at(-1) ?? "{}") as {
      deviceId: string;
    };
    const agent = spawnAgent(
      [
        "run",
        "--state-dir",
        stateDir,
        "--interval",
        "2",
        "--job-wait",
        "5",
        "--hooks-dir",
        hooksDir,
        ...sandbox.agentArgs,
      ],
      sandbox.env,
    );
    const made = { name, sandbox, deviceId, agent };
    machines.push(made);
    return made;
  }

  beforeAll(async () => {
    server = await startRealServer();
    org = await createTestOrg(server.server.db, "Apt End To End Ltd");
    work = await mkdtemp(path.join(tmpdir(), "pp-apt-e2e-"));
    hooksDir = path.join(work, "hooks");
    await mkdir(hooksDir);
    const hook = async (name: string, script: string) => {
      await writeFile(path.join(hooksDir, name), script);
      await chmod(path.join(hooksDir, name), 0o755);
    };
    // The snapshot hook leaves a mark in the root it protects, so the test can see it ran first.
    await hook(
      "snapshot",
      '#!/bin/sh\necho "snapshot of $PATCHPILOT_ROOT taken"\ntouch "$PATCHPILOT_ROOT/snapshot-taken"\n',
    );
    await hook(
      "snapshot-fails",
      "#!/bin/sh\necho 'lvcreate: volume group vg0 has insufficient free space' >&2\nexit 5\n",
    );
    await hook("foo-works", '#!/bin/sh\ntest -s "$PATCHPILOT_ROOT/usr/share/foo/VERSION"\n');
    await hook(
      "bar-broken",
      "#!/bin/sh\necho 'GET http://127.0.0.1/health: 503 Service Unavailable'\nexit 1\n",
    );

    testGroup = (await api("POST", "/device-groups", { name: "test" })).id;
    productionGroup = (await api("POST", "/device-groups", { name: "production" })).id;
    await machine("canary", testGroup);
    await machine("web", productionGroup);

    // The advisory, as OSV publishes Debian's: foo before 1.1 is affected in this release.
    const osRelease = await import("node:fs/promises").then((fs) => fs.readFile("/etc/os-release", "utf8"));
    const release = /^VERSION_ID="?([^"\n]*)"?$/m.exec(osRelease)?.[1] ?? "12";
    const bundle = path.join(work, "feeds");
    await mkdir(bundle);
    await writeFile(
      path.join(bundle, "osv-debian.json"),
      JSON.stringify([
        {
          schema_version: "1.6.0",
          id: `DEBIAN-${CVE}`,
          modified: "2026-11-30T00:00:00Z",
          published: "2026-11-29T00:00:00Z",
          aliases: [CVE],
          summary: "foo: remote code execution in the request parser",
          severity: [{ type: "CVSS_V3", score: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" }],
          affected: [
            {
              package: { ecosystem: `Debian:${release}`, name: "foo" },
              ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed: "1.1" }] }],
            },
          ],
        },
      ]),
    );
    const imported = await importFeedBundle(server.server.db, bundle);
    expect(imported.failed).toEqual([]);
  }, 180_000);

  afterAll(async () => {
    for (const m of machines) m.agent.child.kill("SIGTERM");
    await Promise.all(machines.map((m) => m.agent.exited));
    await Promise.all(machines.map((m) => m.sandbox.remove()));
    await server?.destroy();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const openFindings = async (m: Machine) => {
    const page = await api("GET", `/findings?deviceId=${m.deviceId}&limit=100`);
    return (
      page.items as { vulnerability: { id: string }; status: string; fixedVersion: string | null }[]
    ).filter((f) => f.vulnerability.id === CVE);
  };

  const settled = (id: string, states: string[]) =>
    eventually(
      async () => {
        const rollout = (await api("GET", `/rollouts/${id}`)) as RolloutView;
        return states.includes(rollout.state) ? rollout : undefined;
      },
      120_000,
      () =>
        `rollout ${id} to reach ${states.join(" or ")}\n${machines.map((m) => m.agent.output()).join("\n")}`,
    );

  const devicesOf = async (id: string): Promise<DeviceRow[]> =>
    (await api("GET", `/rollouts/${id}/devices`)).items;

  it("fixes the finding in the test ring, measures the gate, then production; the inventory proves it", {
    timeout: 240_000,
  }, async () => {
    // Both agents reported foo 1.0: each device has the open finding, fixed in 1.1.
    for (const m of machines) {
      const found = await eventually(
        async () => ((await openFindings(m)).length > 0 ? openFindings(m) : undefined),
        60_000,
        () => `the finding on ${m.name}\n${m.agent.output()}`,
      );
      expect(found[0]).toMatchObject({ status: "open", fixedVersion: "1.1" });
    }

    const created = await api("POST", "/rollouts", {
      name: `Fix ${CVE}`,
      mode: "packages",
      fixVulnerabilities: [CVE],
      rings: [
        { name: "test", groupIds: [testGroup], successPercent: 100, soakMinutes: 0 },
        { name: "production", groupIds: [productionGroup], successPercent: 95, soakMinutes: 0 },
      ],
      preUpdate: { hook: "snapshot", args: [], timeoutSeconds: 60 },
      healthCheck: { services: [], hook: { hook: "foo-works", args: [], timeoutSeconds: 30 } },
      rollbackOnFailure: true,
      reboot: "never",
    });
    const rollout = await settled(created.id, ["completed", "halted"]);
    expect(rollout.state).toBe("completed");
    expect(rollout.rings.map((r) => r.state)).toEqual(["passed", "passed"]);

    for (const m of machines) {
      expect(await m.sandbox.installedVersion("foo"), m.name).toBe("1.1");
      expect(await m.sandbox.installedVersion("bar"), `${m.name}: bar was not asked for`).toBe("1.0");
    }
    const rows = await devicesOf(created.id);
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row).toMatchObject({ state: "succeeded", verified: "verified" });
      expect(row.steps?.preUpdate.status).toBe("succeeded");
      expect(row.steps?.healthCheck.status).toBe("succeeded");
      expect(row.packages).toEqual([
        expect.objectContaining({ name: "foo", fromVersion: "1.0", toVersion: "1.1", result: "installed" }),
      ]);
    }

    // The next inventory closed the finding on both devices.
    for (const m of machines) {
      await eventually(
        async () => ((await openFindings(m)).every((f) => f.status !== "open") ? true : undefined),
        30_000,
        `the finding on ${m.name} to close`,
      );
    }

    // The story, from the audit trail and the device events.
    const audit = await server.server.db.owner.query<{ action: string }>(
      "SELECT action FROM audit_events WHERE organization_id = $1 AND target_id = $2 ORDER BY seq",
      [org.organizationId, created.id],
    );
    expect(audit.map((e) => e.action)).toEqual([
      "rollouts.created",
      "rollouts.ring_started",
      "rollouts.ring_settled",
      "rollouts.ring_promoted",
      "rollouts.ring_started",
      "rollouts.ring_settled",
      "rollouts.completed",
    ]);
    for (const m of machines) {
      const events = await server.server.db.owner.query<{ event_type: string }>(
        "SELECT event_type FROM device_events WHERE organization_id = $1 AND device_id = $2 ORDER BY seq",
        [org.organizationId, m.deviceId],
      );
      const types = events.map((e) => e.event_type);
      // Queued, then the inventory the agent read after installing, then the result (the job and the
      // rollout device in one transaction) and its proof against that inventory.
      const queued = types.indexOf("job.queued");
      const inventory = types.findIndex(
        (t, i) => i > queued && (t === "inventory.changed" || t === "inventory.received"),
      );
      const order = [
        queued,
        inventory,
        types.indexOf("rollout.device_succeeded"),
        types.indexOf("rollout.verified"),
      ];
      expect(types).toContain("job.succeeded");
      expect(
        order.every((i) => i >= 0),
        `${m.name}: ${types.join(", ")}`,
      ).toBe(true);
      expect([...order].sort((a, b) => a - b)).toEqual(order);
    }
    for (const chain of ["audit", "device"] as const) {
      expect((await verifyChain(server.server.db.systemReader, org.organizationId, chain)).valid).toBe(true);
    }
  });

  it("installs nothing when the pre-update step fails, and production never sees the job", {
    timeout: 180_000,
  }, async () => {
    const created = await api("POST", "/rollouts", {
      name: "bar 1.1 behind a failing snapshot",
      mode: "packages",
      packages: [{ name: "bar", version: "1.1" }],
      rings: [
        { name: "test", groupIds: [testGroup], successPercent: 100, soakMinutes: 0 },
        { name: "production", groupIds: [productionGroup], soakMinutes: 0 },
      ],
      preUpdate: { hook: "snapshot-fails", args: [], timeoutSeconds: 60 },
      maxAttempts: 1,
    });
    const rollout = await settled(created.id, ["halted", "completed"]);
    expect(rollout.state).toBe("halted");
    expect(rollout.rings.map((r) => r.state)).toEqual(["failed", "pending"]);
    for (const m of machines) expect(await m.sandbox.installedVersion("bar"), m.name).toBe("1.0");
    const rows = await devicesOf(created.id);
    const canary = rows.find((r) => r.deviceId === machines[0]?.deviceId);
    expect(canary).toMatchObject({ state: "failed" });
    expect(canary?.steps?.preUpdate.status).toBe("failed");
    expect(canary?.logExcerpt).toContain("insufficient free space");
    expect(canary?.packages.every((p) => p.result === "skipped")).toBe(true);
    expect(rows.find((r) => r.deviceId === machines[1]?.deviceId)?.state).toBe("pending");
  });

  it("rolls back to the previous version when the health check fails, and halts promotion", {
    timeout: 180_000,
  }, async () => {
    const created = await api("POST", "/rollouts", {
      name: "bar 1.1 that breaks the service",
      mode: "packages",
      packages: [{ name: "bar", version: "1.1" }],
      rings: [
        { name: "test", groupIds: [testGroup], successPercent: 0, soakMinutes: 0 },
        { name: "production", groupIds: [productionGroup], soakMinutes: 0 },
      ],
      healthCheck: { services: [], hook: { hook: "bar-broken", args: [], timeoutSeconds: 30 } },
      rollbackOnFailure: true,
      maxAttempts: 1,
    });
    const rollout = await settled(created.id, ["halted", "completed"]);
    // Even a 0 % success threshold does not pass a ring where a health check failed.
    expect(rollout.state).toBe("halted");
    expect(rollout.rings.map((r) => r.state)).toEqual(["failed", "pending"]);
    const [canary, web] = machines;
    expect(await canary?.sandbox.installedVersion("bar")).toBe("1.0");
    expect(await canary?.sandbox.dpkgStatus("bar")).toBe("install ok installed");
    expect(await web?.sandbox.installedVersion("bar")).toBe("1.0");
    const rows = await devicesOf(created.id);
    const row = rows.find((r) => r.deviceId === canary?.deviceId);
    expect(row).toMatchObject({ state: "failed", health: "failed" });
    expect(row?.steps?.rollback.status).toBe("succeeded");
    expect(row?.packages).toEqual([
      expect.objectContaining({ name: "bar", fromVersion: "1.0", toVersion: "1.0", result: "rolled_back" }),
    ]);
    expect(rows.find((r) => r.deviceId === web?.deviceId)?.state).toBe("pending");
    const halted = await server.server.db.owner.query<{ action: string }>(
      "SELECT action FROM audit_events WHERE organization_id = $1 AND target_id = $2 ORDER BY seq",
      [org.organizationId, created.id],
    );
    expect(halted.map((e) => e.action)).toContain("rollouts.halted");
    expect(halted.map((e) => e.action)).not.toContain("rollouts.ring_promoted");
  });
});
