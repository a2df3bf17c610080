import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { Agent, request } from "node:https";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import type { PatchJobResult } from "@patchpilot/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyChain } from "../../audit/verify.js";
import type { Database } from "../../db/database.js";
import { openDatabase } from "../../db/open.js";
import { TEST_PASSWORD } from "../../testing/app.js";
import { runCli } from "../../testing/cli.js";
import { createTestDatabase, type TestDatabase } from "../../testing/database.js";
import { sampleFacts } from "../../testing/devices.js";

// The real server in its own process, killed with SIGKILL in the middle of a rollout and started
// again on the same data: what it had acknowledged must survive, what it had not must be taken
// again exactly once, and the rollout must carry on from the state the database holds.

const REPO_ROOT = fileURLToPath(new URL("../../../../../", import.meta.url));
const CLI = fileURLToPath(new URL("../../cli/main.ts", import.meta.url));
const OWNER = { email: "owner@crash.example.test", name: "Crash Owner" };

interface Reply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: JSON replies are read field by field in the test
  body: any;
  headers: Record<string, string | string[] | undefined>;
}

/** One run of `patchpilot serve` and an HTTPS client that trusts its CA. */
class ServerProcess {
  #output = "";
  readonly #exited: Promise<void>;
  readonly agent: Agent;

  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
    ca: string,
    output: string,
  ) {
    this.#output = output;
    this.agent = new Agent({ ca, keepAlive: true, maxSockets: 16 });
    child.stdout?.on("data", (c: Buffer) => this.#append(c));
    child.stderr?.on("data", (c: Buffer) => this.#append(c));
    this.#exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once("exit", () => resolve());
    });
  }

  #append(chunk: Buffer): void {
    this.#output += chunk.toString("utf8");
  }

  get output(): string {
    return this.#output;
  }

  static async start(env: Record<string, string>): Promise<ServerProcess> {
    const child = spawn(process.execPath, ["--conditions=source", "--import", "tsx", CLI, "serve"], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let text = "";
    const collect = (c: Buffer) => {
      text += c.toString("utf8");
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    const deadline = Date.now() + 60_000;
    let url: string | undefined;
    for (;;) {
      url = /running at (\S+)/.exec(text)?.[1];
      if (url || child.exitCode !== null || Date.now() >= deadline) break;
      await sleep(50);
    }
    child.stdout.off("data", collect);
    child.stderr.off("data", collect);
    if (!url) {
      child.kill("SIGKILL");
      throw new Error(`the server did not start:\n${text}`);
    }
    const ca = await readFile(path.join(env.PATCHPILOT_DATA_DIR ?? "", "tls", "ca.crt"), "utf8");
    return new ServerProcess(child, url, ca, text);
  }

  call(method: string, url: string, options: { headers?: Record<string, string>; body?: unknown } = {}) {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    return new Promise<Reply>((resolve, reject) => {
      const req = request(
        new URL(url, this.url),
        {
          method,
          agent: this.agent,
          headers: {
            ...(payload === undefined ? {} : { "content-type": "application/json" }),
            ...options.headers,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("error", reject);
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            resolve({
              status: res.statusCode ?? 0,
              body: text ? JSON.parse(text) : null,
              headers: res.headers,
            });
          });
        },
      );
      req.on("error", reject);
      req.end(payload);
    });
  }

  /** SIGKILL: no shutdown, no flush, no goodbye. */
  async kill(): Promise<void> {
    this.child.kill("SIGKILL");
    await this.#exited;
    this.agent.destroy();
  }

  /** SIGTERM: the orderly stop, which finishes the requests in flight. */
  async stop(): Promise<void> {
    this.child.kill("SIGTERM");
    await this.#exited;
    this.agent.destroy();
  }
}

interface SimulatedAgent {
  name: string;
  deviceId: string;
  token: string;
  ring: 0 | 1;
  jobId: string | null;
  /** One report id per result: an agent keeps its report until the server acknowledges it. */
  reportId: string;
}

const patchResult = (hostname: string): PatchJobResult => ({
  packageManager: "apt",
  preUpdate: { status: "skipped", exitCode: null, log: "" },
  install: { exitCode: 0, log: `${hostname}: Setting up openssl (3.0.11-1~deb12u2) ...` },
  healthCheck: { status: "succeeded", exitCode: 0, log: "nginx: active" },
  rollback: { status: "skipped", exitCode: null, log: "" },
  packages: [
    { name: "openssl", fromVersion: "3.0.11-1~deb12u1", toVersion: "3.0.11-1~deb12u2", result: "installed" },
  ],
  rebootRequired: false,
  rebooting: false,
});

// 23 devices: within the Free plan that `patchpilot setup` starts an organisation on.
const RING_SIZES = [15, 8] as const;
const EXPECTED_STORY = [
  "rollouts.created",
  "rollouts.ring_started",
  "rollouts.ring_settled",
  "rollouts.ring_promoted",
  "rollouts.ring_started",
  "rollouts.ring_settled",
  "rollouts.completed",
];

let dataDir: string;
let pg: TestDatabase | null = null;
let env: Record<string, string>;
let server: ServerProcess | null = null;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), "pp-crash-"));
  if (process.env.DATABASE_URL) pg = await createTestDatabase();
  env = {
    PATCHPILOT_DATA_DIR: dataDir,
    PATCHPILOT_PORT: "0",
    PATCHPILOT_FEED_SYNC: "off",
    PATCHPILOT_LOG_LEVEL: "warn",
    ...(pg?.url ? { DATABASE_URL: pg.url } : {}),
  };
});
afterAll(async () => {
  if (server) await server.kill();
  await pg?.drop();
  await rm(dataDir, { recursive: true, force: true });
});

describe(`a rollout when the server is killed (${process.env.DATABASE_URL ? "PostgreSQL" : "embedded database"})`, () => {
  it("resumes where it stopped: no device patched twice, no result lost, one story", {
    timeout: 90_000,
  }, async () => {
    const setup = await runCli(
      ["setup", "--organization", "Crash Ltd", "--email", OWNER.email, "--name", OWNER.name],
      env,
      `${TEST_PASSWORD}\n`,
    );
    expect(setup.code, setup.stderr).toBe(0);
    const orgId = /created organisation ([0-9a-f-]{36})/.exec(setup.stdout)?.[1] ?? "";

    let s = await ServerProcess.start(env);
    server = s;
    const signIn = await s.call("POST", "/api/v1/auth/sign-in", {
      body: { email: OWNER.email, password: TEST_PASSWORD },
    });
    expect(signIn.status, JSON.stringify(signIn.body)).toBe(200);
    const cookie = String(signIn.headers["set-cookie"]?.[0] ?? "").split(";")[0] ?? "";
    const person = { cookie, "x-csrf-token": signIn.body.csrfToken as string };
    const api = async (method: string, url: string, body?: unknown, expected = 200) => {
      const reply = await s.call(method, `/api/v1/orgs/${orgId}${url}`, { headers: person, body });
      expect(reply.status, `${method} ${url}: ${JSON.stringify(reply.body)}`).toBe(expected);
      return reply.body;
    };
    const asAgent = (a: SimulatedAgent, method: string, url: string, body?: unknown) =>
      s.call(method, `/api/v1/agent/devices/${a.deviceId}${url}`, {
        headers: { authorization: `Bearer ${a.token}` },
        body,
      });

    // Two groups, an enrolment token for each, and agents enrolled over HTTPS as the agent does.
    const agents: SimulatedAgent[] = [];
    const groups: string[] = [];
    for (const [ring, size] of RING_SIZES.entries()) {
      const group = await api("POST", "/device-groups", { name: `ring-${ring}` }, 201);
      groups.push(group.id);
      const token = (
        await api("POST", "/enrollment-tokens", { name: `ring ${ring}`, groupId: group.id }, 201)
      ).token as string;
      for (let i = 0; i < size; i++) {
        const name = `r${ring}-${i}.crash.example.test`;
        const enrolled = await s.call("POST", "/api/v1/agent/enroll", {
          headers: { authorization: `Bearer ${token}` },
          body: { hardwareId: randomBytes(16).toString("hex"), facts: sampleFacts({ hostname: name }) },
        });
        expect(enrolled.status, JSON.stringify(enrolled.body)).toBe(201);
        agents.push({
          name,
          deviceId: enrolled.body.deviceId,
          token: enrolled.body.deviceToken,
          ring: ring as 0 | 1,
          jobId: null,
          reportId: randomUUID(),
        });
      }
    }
    const ring0 = agents.filter((a) => a.ring === 0);
    const ring1 = agents.filter((a) => a.ring === 1);
    // A device in both rings' groups belongs to the first ring only.
    await api("PUT", `/device-groups/${groups[1]}/devices/${ring0[0]?.deviceId}`, undefined, 204);

    /** Long-polls until the agent's patch job arrives; it must be the only one. */
    const fetchJob = async (a: SimulatedAgent) => {
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        const reply = await asAgent(a, "GET", "/jobs?waitSeconds=5");
        expect(reply.status, JSON.stringify(reply.body)).toBe(200);
        const jobs = reply.body.jobs as { id: string; kind: string; payload: { rolloutId: string } }[];
        if (jobs.length === 0) continue;
        expect(jobs.map((j) => j.kind)).toEqual(["patch"]);
        a.jobId = jobs[0]?.id ?? null;
        return jobs[0];
      }
      throw new Error(`${a.name} received no job`);
    };
    const expectNoJob = async (a: SimulatedAgent) => {
      const reply = await asAgent(a, "GET", "/jobs?waitSeconds=0");
      expect([reply.status, reply.body.jobs], a.name).toEqual([200, []]);
    };
    const report = (a: SimulatedAgent) =>
      asAgent(a, "POST", "/job-results", {
        reportId: a.reportId,
        jobId: a.jobId,
        outcome: "succeeded",
        startedAt: new Date().toISOString(),
        finishedAt: new Date().toISOString(),
        summary: "openssl 3.0.11-1~deb12u2 installed",
        patch: patchResult(a.name),
      });
    const reportAccepted = async (a: SimulatedAgent) => {
      const reply = await report(a);
      expect(reply.status, `${a.name}: ${JSON.stringify(reply.body)}`).toBe(200);
    };

    const created = await api(
      "POST",
      "/rollouts",
      {
        name: "OpenSSL fixes",
        mode: "packages",
        packages: [{ name: "openssl", version: "3.0.11-1~deb12u2" }],
        rings: [
          { name: "early", groupIds: [groups[0]], successPercent: 100, soakMinutes: 0 },
          { name: "broad", groupIds: [groups[1]], successPercent: 100, soakMinutes: 0 },
        ],
      },
      201,
    );
    const rolloutId = created.id as string;
    expect(created.rings.map((r: { counts: { total: number } }) => r.counts.total)).toEqual([...RING_SIZES]);

    const jobs = await Promise.all(ring0.map(fetchJob));
    expect(new Set(jobs.map((j) => j?.payload.rolloutId))).toEqual(new Set([rolloutId]));
    await Promise.all(ring1.map(expectNoJob));

    // Half the first ring reports and is acknowledged.
    const acknowledged = ring0.slice(0, 10);
    for (const a of acknowledged) await reportAccepted(a);
    // Three reports are on the wire when the server dies: each may or may not have been stored.
    const onTheWire = ring0.slice(10, 13);
    const holding = ring0.slice(13);
    const inFlight = onTheWire.map((a) =>
      report(a).then(
        (r) => r.status,
        () => 0,
      ),
    );
    await sleep(15);
    await s.kill();
    await Promise.all(inFlight);

    s = await ServerProcess.start(env);
    server = s;
    const resumed = await api("GET", `/rollouts/${rolloutId}`);
    expect(resumed).toMatchObject({ state: "running", currentRing: 0 });
    expect(resumed.rings[0].counts.succeeded).toBeGreaterThanOrEqual(10);
    expect(resumed.rings[0].counts.succeeded).toBeLessThanOrEqual(13);
    // Agents that reported have nothing more to do; the ones holding jobs are not sent them again.
    await Promise.all([...acknowledged, ...holding, ...ring1].map(expectNoJob));
    // The agents whose answer was lost send the same report again; the others report now.
    for (const a of [...onTheWire, ...holding.slice(0, -1)]) await reportAccepted(a);

    // The last result settles the first ring: the server steps the rollout (settle, promote, start
    // the next ring, queue its devices) after answering, and dies in the middle of that.
    const last = holding.at(-1) as SimulatedAgent;
    await reportAccepted(last);
    await s.kill();

    s = await ServerProcess.start(env);
    server = s;
    await Promise.all(ring1.map(fetchJob));
    await Promise.all(agents.map(expectNoJob));
    for (const a of ring1) await reportAccepted(a);
    const deadline = Date.now() + 20_000;
    let rollout = await api("GET", `/rollouts/${rolloutId}`);
    while (rollout.state === "running" && Date.now() < deadline) {
      await sleep(100);
      rollout = await api("GET", `/rollouts/${rolloutId}`);
    }
    expect(rollout.state).toBe("completed");
    expect(rollout.rings.map((r: { state: string }) => r.state)).toEqual(["passed", "passed"]);
    expect(rollout.rings.map((r: { counts: { succeeded: number } }) => r.counts.succeeded)).toEqual([
      ...RING_SIZES,
    ]);
    await Promise.all(agents.map(expectNoJob));
    await s.stop();
    expect(s.child.exitCode, s.output).toBe(0);
    server = null;

    const db: Database = pg
      ? pg.db
      : await openDatabase({ databaseUrl: null, pgliteDir: path.join(dataDir, "pgdata") });
    try {
      await expectOneJobAndResultEach(db, rolloutId, agents);
      const story = await db.owner.query<{ action: string }>(
        "SELECT action FROM audit_events WHERE target_id = $1 ORDER BY seq",
        [rolloutId],
      );
      expect(story.map((e) => e.action)).toEqual(EXPECTED_STORY);
      for (const chain of ["audit", "device"] as const) {
        expect((await verifyChain(db.systemReader, orgId, chain)).valid, chain).toBe(true);
      }
    } finally {
      if (!pg) await db.close();
    }
  });
});

interface PatchRow {
  patch: PatchJobResult;
}

/** One patch job per device for the rollout, its result stored once, applied once. */
async function expectOneJobAndResultEach(db: Database, rolloutId: string, agents: SimulatedAgent[]) {
  const jobs = await db.owner.query<{ device_id: string; id: string; state: string; result: PatchRow }>(
    "SELECT device_id, id, state, result FROM device_jobs WHERE kind = 'patch' AND payload->>'rolloutId' = $1",
    [rolloutId],
  );
  expect(jobs).toHaveLength(agents.length);
  const byDevice = new Map(jobs.map((j) => [j.device_id, j]));
  const targeted = await db.owner.query<{
    device_id: string;
    ring: number;
    state: string;
    job_id: string;
    result: PatchJobResult;
  }>("SELECT device_id, ring, state, job_id, result FROM rollout_devices WHERE rollout_id = $1", [rolloutId]);
  const targets = new Map(targeted.map((t) => [t.device_id, t]));
  const reports = await db.owner.query<{
    device_id: string;
    report_id: string;
    outcome: { applied: boolean };
  }>("SELECT device_id, report_id, outcome FROM agent_reports WHERE kind = 'job.result'");
  const events = await db.owner.query<{ device_id: string; event_type: string; n: number }>(
    `SELECT device_id, event_type, count(*)::int AS n FROM device_events
      WHERE event_type IN ('job.queued', 'job.succeeded', 'rollout.device_succeeded') GROUP BY device_id, event_type`,
  );
  for (const a of agents) {
    const job = byDevice.get(a.deviceId);
    expect(job?.id, a.name).toBe(a.jobId);
    expect(job?.state, a.name).toBe("succeeded");
    expect(job?.result.patch.install.log, a.name).toContain(a.name);
    expect(targets.get(a.deviceId), a.name).toMatchObject({
      ring: a.ring,
      state: "succeeded",
      job_id: a.jobId,
    });
    expect(targets.get(a.deviceId)?.result.install.log, a.name).toContain(a.name);
    const mine = reports.filter((r) => r.device_id === a.deviceId);
    expect(
      mine.map((r) => [r.report_id, r.outcome.applied]),
      a.name,
    ).toEqual([[a.reportId, true]]);
    const counts = Object.fromEntries(
      events.filter((e) => e.device_id === a.deviceId).map((e) => [e.event_type, e.n]),
    );
    expect(counts, a.name).toEqual({ "job.queued": 1, "job.succeeded": 1, "rollout.device_succeeded": 1 });
  }
}
