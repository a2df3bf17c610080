import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, runAgentCli, spawnAgent } from "../testing/agent-cli.js";
import { call, createTestOrg, type TestOrg } from "../testing/app.js";
import { requirePeer } from "../testing/peers.js";
import { type RealServer, startRealServer } from "../testing/real-server.js";

const run = promisify(execFile);

// A real agent process against the real HTTPS server: enrolment over pinned TLS, the inventory of
// this machine, jobs, revocation, and reports kept across an outage.
let server: RealServer;
let org: TestOrg;
let work: string;

beforeAll(async () => {
  server = await startRealServer();
  org = await createTestOrg(server.server.db, "Agent Fleet Ltd");
  work = await mkdtemp(path.join(tmpdir(), "pp-agent-"));
});
afterAll(async () => {
  await server?.destroy();
  await rm(work, { recursive: true, force: true });
});

async function enrollmentToken(): Promise<string> {
  const response = await call(server.server.app, {
    method: "POST",
    url: `/api/v1/orgs/${org.organizationId}/enrollment-tokens`,
    as: org.owner,
    body: { name: "agent test" },
  });
  expect(response.statusCode).toBe(201);
  return response.json().token;
}

function api(url: string, method: "GET" | "POST" | "DELETE" = "GET") {
  return call(server.server.app, { method, url: `/api/v1/orgs/${org.organizationId}${url}`, as: org.owner });
}

async function deviceInventory(deviceId: string): Promise<string[]> {
  const lines: string[] = [];
  let cursor: string | null = null;
  do {
    const page = await api(`/devices/${deviceId}/inventory?limit=1000${cursor ? `&cursor=${cursor}` : ""}`);
    if (page.statusCode !== 200) return [];
    for (const item of page.json().items) lines.push(`${item.name}\t${item.version}\t${item.arch}`);
    cursor = page.json().nextCursor;
  } while (cursor);
  return lines.sort();
}

describe("a real agent process", () => {
  it.skipIf(!requirePeer("dpkg-query", "dpkg"))(
    "enrols over pinned TLS, reports this machine's dpkg inventory exactly, runs a job, and stops when revoked",
    async () => {
      const stateDir = path.join(work, "real");
      const enrolled = await runAgentCli(
        ["enroll", "--server", server.url, "--ca-pin", server.caPin, "--state-dir", stateDir],
        { PATCHPILOT_ENROLLMENT_TOKEN: await enrollmentToken() },
      );
      expect(enrolled.code, enrolled.output).toBe(0);
      const { deviceId } = JSON.parse(enrolled.output.trim().split("\n").at(-1) ?? "{}");
      // The agent keeps its own token, readable by its user only, and no copy of the enrolment token.
      const credentials = await readFile(path.join(stateDir, "credentials.json"), "utf8");
      expect(credentials).toMatch(/"token": "ppdt_/);
      expect(credentials).not.toContain("ppk_");
      expect((await stat(path.join(stateDir, "credentials.json"))).mode & 0o777).toBe(0o600);
      expect((await stat(stateDir)).mode & 0o777).toBe(0o700);
      expect(await readFile(path.join(stateDir, "ca.pem"), "utf8")).toBe(server.caPem);

      const agent = spawnAgent(["run", "--state-dir", stateDir, "--interval", "2", "--job-wait", "5"]);
      try {
        const { stdout } = await run("dpkg-query", [
          "-W",
          "-f",
          // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own field syntax
          "${Package}\\t${Version}\\t${Architecture}\\t${db:Status-Abbrev}\\n",
        ]);
        const installed = stdout
          .split("\n")
          .filter((l) => /\tii $/.test(l) || /\t[hi]i $/.test(l))
          .map((l) => l.split("\t").slice(0, 3).join("\t"))
          .sort();
        const reported = await eventually(
          async () => {
            const lines = await deviceInventory(deviceId);
            return lines.length > 0 ? lines : undefined;
          },
          60_000,
          "the inventory to arrive",
        );
        expect(reported).toEqual(installed);

        const job = await api(`/devices/${deviceId}/inventory-refresh`, "POST");
        expect(job.statusCode).toBe(202);
        await eventually(
          async () => {
            const rows = await server.server.db.owner.query<{ state: string }>(
              "SELECT state FROM device_jobs WHERE id = $1",
              [job.json().jobId],
            );
            return rows[0]?.state === "succeeded" ? true : undefined;
          },
          30_000,
          "the job's result",
        );

        const revoked = await api(`/devices/${deviceId}/token`, "DELETE");
        expect(revoked.statusCode).toBe(204);
        const code = await Promise.race([
          agent.exited,
          new Promise((r) => setTimeout(() => r("still running"), 30_000)),
        ]);
        expect(code).toBe(3);
        expect(agent.output()).toMatch(/refused this device's token .*stopping/);
      } finally {
        agent.child.kill("SIGKILL");
      }
    },
    150_000,
  );

  it("refuses a server whose certificate comes from another CA, and a wrong pin", async () => {
    const other = await startRealServer();
    try {
      const token = await enrollmentToken();
      const wrongCa = await runAgentCli(
        [
          "enroll",
          "--server",
          other.url,
          "--ca-file",
          server.caFile,
          "--state-dir",
          path.join(work, "wrong-ca"),
        ],
        { PATCHPILOT_ENROLLMENT_TOKEN: token },
      );
      expect(wrongCa.code).toBe(1);
      expect(wrongCa.output).toMatch(/not from the PatchPilot CA this agent trusts/);
      const wrongPin = await runAgentCli(
        [
          "enroll",
          "--server",
          other.url,
          "--ca-pin",
          server.caPin,
          "--state-dir",
          path.join(work, "wrong-pin"),
        ],
        { PATCHPILOT_ENROLLMENT_TOKEN: token },
      );
      expect(wrongPin.code).toBe(1);
      expect(wrongPin.output).toMatch(/no certificate with the pinned key/);
      await expect(stat(path.join(work, "wrong-pin", "credentials.json"))).rejects.toThrow();
    } finally {
      await other.destroy();
    }
  });

  it("keeps an inventory change made while the server is down, across its own restart, and delivers it once", async () => {
    const root = path.join(work, "sandbox");
    await mkdir(path.join(root, "etc"), { recursive: true });
    await mkdir(path.join(root, "var/lib/dpkg"), { recursive: true });
    await writeFile(
      path.join(root, "etc/os-release"),
      'ID=debian\nVERSION_ID="12"\nNAME="Debian GNU/Linux"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n',
    );
    await writeFile(path.join(root, "etc/machine-id"), "0f0e0d0c0b0a09080706050403020100\n");
    const stanza = (name: string, version: string) =>
      `Package: ${name}\nStatus: install ok installed\nArchitecture: amd64\nVersion: ${version}\n\n`;
    const status = path.join(root, "var/lib/dpkg/status");
    await writeFile(status, stanza("base-files", "12.4+deb12u5") + stanza("bash", "5.2.15-2+b2"));

    const stateDir = path.join(work, "offline");
    const env = { PATCHPILOT_ENROLLMENT_TOKEN: await enrollmentToken() };
    const enrolled = await runAgentCli(
      ["enroll", "--server", server.url, "--ca-file", server.caFile, "--state-dir", stateDir, "--root", root],
      env,
    );
    expect(enrolled.code, enrolled.output).toBe(0);
    const { deviceId } = JSON.parse(enrolled.output.trim().split("\n").at(-1) ?? "{}");
    const runArgs = ["run", "--state-dir", stateDir, "--root", root, "--interval", "1", "--job-wait", "2"];
    let agent = spawnAgent(runArgs);
    try {
      await eventually(
        async () => ((await deviceInventory(deviceId)).length === 2 ? true : undefined),
        60_000,
        "the first inventory",
      );
      await eventually(async () =>
        (await readdir(path.join(stateDir, "queue"))).length === 0 ? true : undefined,
      );

      await server.stop();
      await writeFile(
        status,
        stanza("base-files", "12.4+deb12u5") + stanza("bash", "5.2.15-2+b2") + stanza("offline-pkg", "1.0-1"),
      );
      const queued = await eventually(
        async () => {
          const files = (await readdir(path.join(stateDir, "queue"))).filter((f) => f.endsWith(".json"));
          return files.length > 0 ? files : undefined;
        },
        30_000,
        () => `the change to be queued while the server is down; the agent said:\n${agent.output()}`,
      );
      // Keep a copy, to send the same report again after it was delivered.
      await copyFile(path.join(stateDir, "queue", queued[0] as string), path.join(work, "replayed.json"));
      agent.child.kill("SIGTERM");
      await agent.exited;

      await server.restart();
      agent = spawnAgent(runArgs);
      const lines = await eventually(
        async () => {
          const l = await deviceInventory(deviceId);
          return l.length === 3 ? l : undefined;
        },
        60_000,
        "the queued change to arrive",
      );
      expect(lines).toContain("offline-pkg\t1.0-1\tamd64");
      agent.child.kill("SIGTERM");
      await agent.exited;

      const changes = async () =>
        (
          await server.server.db.owner.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM device_events WHERE device_id = $1 AND event_type = 'inventory.changed'",
            [deviceId],
          )
        )[0]?.n;
      expect(await changes()).toBe(1);
      await copyFile(path.join(work, "replayed.json"), path.join(stateDir, "queue", queued[0] as string));
      const again = await runAgentCli([...runArgs, "--once"]);
      expect(again.code, again.output).toBe(0);
      expect(await readdir(path.join(stateDir, "queue"))).toEqual([]);
      expect(await changes()).toBe(1);
      expect(await deviceInventory(deviceId)).toHaveLength(3);
    } finally {
      agent.child.kill("SIGKILL");
    }
  }, 180_000);
});
