import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Job } from "@patchpilot/protocol";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { collectInventory } from "../collectors/index.js";
import { runCommand } from "../collectors/run-command.js";
import type { CommandRunner } from "../collectors/types.js";
import { InventorySource } from "../run/inventory-source.js";
import { runJob } from "../run/jobs.js";
import { ReportQueue } from "../state/report-queue.js";
import { type AptSandbox, aptSandboxAvailable, createAptSandbox } from "../testing/apt-sandbox.js";
import { missingVersions } from "./apt-executor.js";
import { aptInvocation } from "./apt-root.js";
import { type PatchJobContext, runPatchJob } from "./run-patch-job.js";
import { PatchJobRefused } from "./validate.js";

const available = aptSandboxAvailable();

const job = (overrides: Record<string, unknown> = {}) => ({
  rolloutId: "3f1c2a9e-8c1d-4c55-9a53-1f1a3f6a0b11",
  ring: "canary",
  mode: "packages",
  packages: [{ name: "foo", version: "1.1" }],
  hold: [],
  preUpdate: null,
  healthCheck: null,
  rollbackOnFailure: true,
  reboot: "never",
  ...overrides,
});

/** A runner that records every program the job ran, then runs it for real. */
function recordingRunner(): CommandRunner & { calls: string[][] } {
  const calls: string[][] = [];
  const runner: CommandRunner = (file, args, options) => {
    calls.push([file, ...args]);
    return runCommand(file, args, options);
  };
  return Object.assign(runner, { calls });
}

/** What the host's own dpkg knows of a package: the sandbox must never reach it. */
async function hostVersion(name: string): Promise<string | null> {
  const result = await runCommand("dpkg-query", ["-W", `-f=\${Version}`, name], {
    timeoutMs: 30_000,
    maxOutputBytes: 1 << 20,
  });
  return result.code === 0 ? result.stdout : null;
}

describe("apt for another root, without a sandbox", () => {
  it("finds the versions apt could not download", () => {
    const output =
      "E: Version '1.0' for 'foo' was not found\nE: Version '2:3.1-1' for 'libbar1' was not found\n";
    expect(missingVersions(output)).toEqual(new Set(["foo=1.0", "libbar1=2:3.1-1"]));
  });

  it("points apt and dpkg at the root, with a private configuration that is removed afterwards", async () => {
    const invocation = await aptInvocation("/srv/images/web01/", "/usr/bin/dpkg");
    expect(invocation.options).toEqual([
      "-o",
      "Dir=/srv/images/web01/",
      "-o",
      "Dir::State::status=/srv/images/web01/var/lib/dpkg/status",
      "-o",
      "Dir::Bin::dpkg=/usr/bin/dpkg",
      "-o",
      "DPkg::Options::=--root=/srv/images/web01",
      "-o",
      "DPkg::Options::=--log=/srv/images/web01/var/log/dpkg.log",
    ]);
    const config = invocation.env.APT_CONFIG ?? "";
    expect(await readFile(config, "utf8")).toContain('Dir "/srv/images/web01/";');
    expect(invocation.env.DEBIAN_FRONTEND).toBe("noninteractive");
    await invocation.dispose();
    await expect(readFile(config, "utf8")).rejects.toThrow(/ENOENT/);
  });

  it("adds nothing on the live system, and refuses a root apt's configuration syntax cannot hold", async () => {
    expect((await aptInvocation("/", "/usr/bin/dpkg")).options).toEqual([]);
    await expect(aptInvocation('/srv/a"b', "/usr/bin/dpkg")).rejects.toThrow(/cannot be given to apt/);
  });
});

describe.skipIf(!available)("the apt executor installing into a sandbox", () => {
  const sandboxes: AptSandbox[] = [];
  let hooksDir: string;
  let hostLogBefore: string;
  const reboot = vi.fn(async () => {});
  const services = vi.fn(async (service: string) => ({
    active: service !== "stopped-app",
    detail: "checked",
  }));

  beforeAll(async () => {
    hooksDir = await mkdtemp(join(tmpdir(), "patchpilot-hooks-"));
    const hook = async (name: string, script: string) => {
      await writeFile(join(hooksDir, name), script);
      await chmod(join(hooksDir, name), 0o755);
    };
    await hook("snapshot-fails", "#!/bin/sh\necho 'snapshot: volume group full' >&2\nexit 3\n");
    await hook("snapshot-ok", "#!/bin/sh\necho snapshot taken\n");
    await hook("check-fails", "#!/bin/sh\necho 'GET /health: 503'\nexit 1\n");
    // Checks the upgraded file inside the root the agent patched.
    await hook("check-version", '#!/bin/sh\ntest "$(cat "$PATCHPILOT_ROOT/usr/share/foo/VERSION")" = "$1"\n');
    hostLogBefore = await readFile("/var/log/dpkg.log", "utf8").catch(() => "");
  });
  afterEach(() => {
    reboot.mockClear();
    services.mockClear();
  });
  afterAll(async () => {
    await Promise.all(sandboxes.map((s) => s.remove()));
    if (hooksDir) await rm(hooksDir, { recursive: true, force: true });
  });

  async function sandbox(options: Parameters<typeof createAptSandbox>[0] = {}) {
    const made = await createAptSandbox(options);
    sandboxes.push(made);
    return made;
  }

  const context = (s: AptSandbox, extra: Partial<PatchJobContext> = {}): PatchJobContext => ({
    root: s.root,
    hooksDir,
    log: () => {},
    serviceChecker: services,
    reboot,
    ...extra,
  });

  it("upgrades foo 1.0 to 1.1 in the sandbox, runs its postinst there, and leaves the host alone", async () => {
    const s = await sandbox({
      available: [
        { name: "foo", version: "1.0" },
        {
          name: "foo",
          version: "1.1",
          postinst:
            '#!/bin/sh\nset -e\necho configured > "$DPKG_ROOT/var/lib/foo-postinst"\ntouch "$DPKG_ROOT/var/run/reboot-required"\n',
        },
      ],
    });
    expect(await s.installedVersion("foo")).toBe("1.0");

    const report = await runPatchJob(
      job({
        preUpdate: { hook: "snapshot-ok", args: [], timeoutSeconds: 30 },
        healthCheck: {
          services: ["app"],
          hook: { hook: "check-version", args: ["1.1"], timeoutSeconds: 30 },
        },
        reboot: "if_required",
      }),
      context(s),
    );

    expect(report.outcome, report.summary).toBe("succeeded");
    expect(report.result.packageManager).toBe("apt");
    expect(report.result.packages).toEqual([
      { name: "foo", fromVersion: "1.0", toVersion: "1.1", result: "installed" },
    ]);
    expect(report.result.preUpdate).toMatchObject({ status: "succeeded", exitCode: 0 });
    expect(report.result.preUpdate.log).toContain("snapshot taken");
    expect(report.result.install.exitCode).toBe(0);
    expect(report.result.install.log).toContain("Unpacking foo (1.1) over (1.0)");
    expect(report.result.healthCheck).toMatchObject({ status: "succeeded", exitCode: 0 });
    expect(services).toHaveBeenCalledWith("app");
    expect(report.result.rollback.status).toBe("skipped");
    // The postinst ran inside the root (chrootless, DPKG_ROOT) and asked for a reboot there.
    expect(await readFile(join(s.root, "var/lib/foo-postinst"), "utf8")).toBe("configured\n");
    expect(report.result).toMatchObject({ rebootRequired: true, rebooting: true });
    expect(reboot).toHaveBeenCalledTimes(1);

    expect(await s.installedVersion("foo")).toBe("1.1");
    expect(await s.dpkgStatus("foo")).toBe("install ok installed");
    expect(await readFile(join(s.root, "usr/share/foo/VERSION"), "utf8")).toBe("1.1\n");
    expect(await hostVersion("foo")).toBeNull();
    const hostLog = await readFile("/var/log/dpkg.log", "utf8").catch(() => "");
    expect(hostLog.slice(hostLogBefore.length)).not.toMatch(/ foo:all /);
    expect(await readFile(join(s.root, "var/log/dpkg.log"), "utf8")).toMatch(/status installed foo:all 1\.1/);
    // The collectors read the same root: the inventory now says 1.1 and offers nothing newer.
    const { inventory } = await collectInventory({ root: s.root });
    expect(inventory.packages.find((p) => p.name === "foo")).toMatchObject({
      ecosystem: "dpkg",
      version: "1.1",
    });
    expect(inventory.updates.filter((u) => u.name === "foo")).toEqual([]);
  });

  it("installs nothing when the pre-update hook fails", async () => {
    const s = await sandbox();
    const runner = recordingRunner();
    const report = await runPatchJob(
      job({ preUpdate: { hook: "snapshot-fails", args: [], timeoutSeconds: 30 } }),
      context(s, { runner }),
    );

    expect(report.outcome).toBe("failed");
    expect(report.summary).toContain("pre-update hook failed");
    expect(report.result.preUpdate).toMatchObject({ status: "failed", exitCode: 3 });
    expect(report.result.preUpdate.log).toContain("volume group full");
    expect(report.result.packages).toEqual([
      {
        name: "foo",
        fromVersion: "1.0",
        toVersion: "1.0",
        result: "skipped",
        reason: "the pre-update hook failed; 1.1 not installed",
      },
    ]);
    expect(report.result.install.exitCode).toBeNull();
    expect(report.result.healthCheck.status).toBe("skipped");
    // Only the list refresh and the simulation ran; no install, no hold.
    expect(runner.calls.map((c) => c.filter((a) => !a.includes("=") && a !== "-o"))).toEqual([
      ["apt-get", "update"],
      ["apt-get", "-s", "install", "--only-upgrade"],
    ]);
    expect(await s.installedVersion("foo")).toBe("1.0");
  });

  it("rolls back to 1.0 when the health check fails, and the package stays installed", async () => {
    const s = await sandbox();
    const report = await runPatchJob(
      job({
        healthCheck: { services: ["app"], hook: { hook: "check-fails", args: [], timeoutSeconds: 30 } },
      }),
      context(s),
    );

    expect(report.outcome).toBe("failed");
    expect(report.result.healthCheck).toMatchObject({ status: "failed", exitCode: 1 });
    expect(report.result.healthCheck.log).toContain("GET /health: 503");
    expect(report.result.rollback).toMatchObject({ status: "succeeded", exitCode: 0 });
    expect(report.result.rollback.log).toContain("--allow-downgrades");
    expect(report.result.packages).toEqual([
      {
        name: "foo",
        fromVersion: "1.0",
        toVersion: "1.0",
        result: "rolled_back",
        reason: "the health check failed; 1.1 rolled back",
      },
    ]);
    expect(await s.installedVersion("foo")).toBe("1.0");
    expect(await s.dpkgStatus("foo")).toBe("install ok installed");
    expect(await readFile(join(s.root, "usr/share/foo/VERSION"), "utf8")).toBe("1.0\n");
  });

  it("rolls back when a health-check service is not active", async () => {
    const s = await sandbox();
    const report = await runPatchJob(
      job({ healthCheck: { services: ["stopped-app"], hook: null } }),
      context(s),
    );
    expect(report.result.healthCheck.log).toContain("service stopped-app: NOT active");
    expect(report.result.packages[0]).toMatchObject({ result: "rolled_back" });
    expect(await s.installedVersion("foo")).toBe("1.0");
  });

  it("reports a failed rollback, with why, when the previous version can no longer be downloaded", async () => {
    // 1.0 is installed, but the repository only has 1.1 now.
    const s = await sandbox({ available: [{ name: "foo", version: "1.1" }] });
    const report = await runPatchJob(
      job({ healthCheck: { services: [], hook: { hook: "check-fails", args: [], timeoutSeconds: 30 } } }),
      context(s),
    );
    expect(report.result.rollback.status).toBe("failed");
    expect(report.result.packages).toEqual([
      {
        name: "foo",
        fromVersion: "1.0",
        toVersion: "1.1",
        result: "failed",
        reason: "the health check failed; rollback failed: previous version 1.0 is no longer downloadable",
      },
    ]);
    expect(await s.installedVersion("foo")).toBe("1.1");
  });

  it("keeps a held package at its version, and releases the hold after the job", async () => {
    const s = await sandbox({
      available: ["1.0", "1.1"].flatMap((version) => [
        { name: "foo", version },
        { name: "bar", version },
      ]),
      installed: [
        { name: "foo", version: "1.0" },
        { name: "bar", version: "1.0" },
      ],
    });
    const runner = recordingRunner();
    const report = await runPatchJob(
      job({ mode: "all", packages: [], hold: ["bar"] }),
      context(s, { runner }),
    );

    expect(report.outcome, report.summary).toBe("succeeded");
    expect(report.result.packages).toEqual([
      { name: "bar", fromVersion: "1.0", toVersion: "1.0", result: "skipped", reason: "held by the job" },
      { name: "foo", fromVersion: "1.0", toVersion: "1.1", result: "installed" },
    ]);
    expect(await s.installedVersion("foo")).toBe("1.1");
    expect(await s.installedVersion("bar")).toBe("1.0");
    // Held with apt-mark for the install only: afterwards bar is an ordinary installed package again.
    const programs = runner.calls.map((c) => [
      c[0],
      c.find((a) => ["hold", "unhold", "upgrade"].includes(a)),
    ]);
    expect(programs).toContainEqual(["apt-mark", "hold"]);
    expect(programs).toContainEqual(["apt-mark", "unhold"]);
    expect(await s.dpkgStatus("bar")).toBe("install ok installed");
  });

  it("a security job upgrades only packages whose candidate comes from a -security suite", async () => {
    const s = await sandbox({
      available: [
        { name: "foo", version: "1.0" },
        { name: "bar", version: "1.0" },
        { name: "bar", version: "1.1" },
      ],
      installed: [
        { name: "foo", version: "1.0" },
        { name: "bar", version: "1.0" },
      ],
    });
    await s.addRepository("security", [{ name: "foo", version: "1.1" }], "sandbox-security");
    await s.aptUpdate();

    const report = await runPatchJob(job({ mode: "security", packages: [] }), context(s));
    expect(report.result.packages).toEqual([
      { name: "foo", fromVersion: "1.0", toVersion: "1.1", result: "installed" },
    ]);
    expect(await s.installedVersion("foo")).toBe("1.1");
    expect(await s.installedVersion("bar")).toBe("1.0");
  });

  it("reports a package that is not installed, or already current, without failing the job", async () => {
    const s = await sandbox();
    const report = await runPatchJob(
      job({
        packages: [
          { name: "foo", version: "1.0" },
          { name: "notinstalled", version: "2.0" },
        ],
      }),
      context(s),
    );
    expect(report.outcome).toBe("succeeded");
    expect(report.result.packages).toEqual([
      {
        name: "foo",
        fromVersion: "1.0",
        toVersion: "1.0",
        result: "unchanged",
        reason: "already at this version",
      },
      {
        name: "notinstalled",
        fromVersion: null,
        toVersion: null,
        result: "skipped",
        reason: "not installed",
      },
    ]);
  });

  it("fails the job, installing nothing, when the asked-for version does not exist", async () => {
    const s = await sandbox();
    const report = await runPatchJob(job({ packages: [{ name: "foo", version: "9.9" }] }), context(s));
    expect(report.outcome).toBe("failed");
    expect(report.summary).toContain("Version '9.9' for 'foo' was not found");
    expect(report.result.packages[0]).toMatchObject({ name: "foo", fromVersion: "1.0", result: "skipped" });
    expect(await s.installedVersion("foo")).toBe("1.0");
  });

  // Security regression: a package name or version is never shell text. These must be refused
  // before any program runs, so no command line, hold or hook ever sees them.
  it.each([
    ["a name with a command separator", { packages: [{ name: "foo; touch /tmp/pwned" }] }],
    ["a name with command substitution", { packages: [{ name: "foo$(id)" }] }],
    ["a version with backticks", { packages: [{ name: "foo", version: "1.1`reboot`" }] }],
    ["a name that reads as an option", { packages: [{ name: "-oDir=/" }] }],
    ["a hold with a pipe", { hold: ["bar|sh"] }],
    ["a name with a newline", { packages: [{ name: "foo\nbar" }] }],
  ])("refuses %s before anything runs", async (_label, overrides) => {
    const s = await sandbox();
    const runner = recordingRunner();
    await expect(runPatchJob(job(overrides), context(s, { runner }))).rejects.toBeInstanceOf(PatchJobRefused);
    expect(runner.calls).toEqual([]);
    expect(await s.installedVersion("foo")).toBe("1.0");
  });

  it("through runJob: queues the changed inventory ahead of the result, which carries the patch outcome", async () => {
    const s = await sandbox();
    const queueDir = await mkdtemp(join(tmpdir(), "patchpilot-queue-"));
    try {
      const queue = new ReportQueue(queueDir);
      const inventory = new InventorySource(s.root, () => {});
      const base = await inventory.fresh();
      const patchJob: Job = {
        id: "0b9a3c4e-2f51-4d2a-9c1e-7d1f0c2b5a60",
        kind: "patch",
        payload: job(),
        createdAt: new Date().toISOString(),
        expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
      };
      await runJob(patchJob, {
        queue,
        device: "/api/v1/agent/devices/d1",
        inventory,
        log: () => {},
        acknowledgedInventory: async () => ({ hash: "base", inventory: base }),
        patch: { root: s.root, hooksDir, reboot },
      });
      const pending = (await queue.pending()).map((e) => e.report);
      expect(pending.map((r) => r.kind)).toEqual(["inventory_changes", "job_result"]);
      const [changes, result] = pending;
      expect(JSON.stringify(changes?.body)).toContain("foo");
      expect(result?.body).toMatchObject({
        jobId: patchJob.id,
        outcome: "succeeded",
        summary: "apt: 1 installed",
        patch: { packageManager: "apt", packages: [{ name: "foo", fromVersion: "1.0", toVersion: "1.1" }] },
      });
    } finally {
      await rm(queueDir, { recursive: true, force: true });
    }
  });
});
