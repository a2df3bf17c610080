import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { logExcerpt, redactCredentials } from "./log-excerpt.js";
import { fileRebootDeferrals } from "./reboot.js";
import { runPatchJob } from "./run-patch-job.js";
import {
  type InstallStep,
  type PatchExecutor,
  type PatchPlan,
  PatchPlanError,
  type PlannedChange,
  type RollbackStep,
} from "./types.js";
import { PatchJobRefused, validatePatchPayload } from "./validate.js";

/**
 * A package manager in memory: `installs` says what the install leaves (per package), `restores`
 * what a rollback puts back. Records every call.
 */
class FakeExecutor implements PatchExecutor {
  readonly manager = "apt";
  readonly versionEcosystem = "dpkg";
  readonly namePattern = /^[a-z0-9][a-z0-9+.-]*$/;
  readonly calls: string[] = [];
  versions: Map<string, string | null>;

  constructor(
    installed: Record<string, string>,
    private readonly changes: PlannedChange[],
    private readonly options: {
      installs?: Record<string, string>;
      exitCode?: number;
      restores?: boolean;
      rebootRequired?: boolean;
      planError?: string;
    } = {},
  ) {
    this.versions = new Map(Object.entries(installed));
  }

  async refresh() {
    this.calls.push("refresh");
    return null;
  }
  async plan(): Promise<PatchPlan> {
    this.calls.push("plan");
    if (this.options.planError) throw new PatchPlanError(this.options.planError, "simulation output");
    return { changes: this.changes, log: "" };
  }
  async install(): Promise<InstallStep> {
    this.calls.push("install");
    for (const [name, version] of Object.entries(this.options.installs ?? {}))
      this.versions.set(name, version);
    const exitCode = this.options.exitCode ?? 0;
    return { ok: exitCode === 0, exitCode, log: "installing" };
  }
  async installedVersions(names: readonly string[]) {
    return new Map(names.map((n) => [n, this.versions.get(n) ?? null]));
  }
  async rollback(targets: readonly { name: string; fromVersion: string }[]): Promise<RollbackStep> {
    this.calls.push(`rollback ${targets.map((t) => `${t.name}=${t.fromVersion}`).join(" ")}`);
    if (this.options.restores === false) {
      return {
        ok: false,
        exitCode: 100,
        log: "E: gone",
        reasons: new Map([["foo", "previous version gone"]]),
      };
    }
    for (const t of targets) this.versions.set(t.name, t.fromVersion);
    return { ok: true, exitCode: 0, log: "restored", reasons: new Map() };
  }
  async rebootRequired() {
    return this.options.rebootRequired ?? false;
  }
}

const payload = (overrides: Record<string, unknown> = {}) => ({
  rolloutId: "r1",
  ring: "all",
  mode: "packages",
  packages: [{ name: "foo", version: "1.1" }],
  hold: [],
  preUpdate: null,
  healthCheck: null,
  rollbackOnFailure: true,
  reboot: "never",
  ...overrides,
});

const fooTo11: PlannedChange = { name: "foo", fromVersion: "1.0", toVersion: "1.1" };

async function run(
  executor: FakeExecutor,
  overrides: Record<string, unknown> = {},
  reboot = vi.fn(async () => {}),
) {
  const log = vi.fn();
  const report = await runPatchJob(payload(overrides), {
    root: "/",
    hooksDir: "/nonexistent",
    log,
    executor,
    reboot,
    serviceChecker: async () => ({ active: true, detail: "active" }),
  });
  return { report, reboot, log };
}

describe("runPatchJob's verdicts", () => {
  it("calls a package whose version did not move 'failed: version unchanged', even when the manager exited 0", async () => {
    const executor = new FakeExecutor({ foo: "1.0" }, [fooTo11]);
    const { report } = await run(executor);
    expect(report.outcome).toBe("failed");
    expect(report.result.packages).toEqual([
      {
        name: "foo",
        fromVersion: "1.0",
        toVersion: "1.0",
        result: "failed",
        reason: "version unchanged (expected 1.1)",
      },
    ]);
    expect(report.result.rollback).toMatchObject({ status: "skipped" });
    expect(report.result.rollback.log).toContain("nothing changed to roll back");
  });

  it("rolls back what moved when another package failed, and keeps the failure of the one that did not", async () => {
    const executor = new FakeExecutor(
      { foo: "1.0", bar: "2.0" },
      [fooTo11, { name: "bar", fromVersion: "2.0", toVersion: "2.1" }],
      { installs: { foo: "1.1" } },
    );
    const { report } = await run(executor, {
      packages: [
        { name: "foo", version: "1.1" },
        { name: "bar", version: "2.1" },
      ],
    });
    expect(executor.calls).toContain("rollback foo=1.0");
    expect(report.result.packages).toEqual([
      {
        name: "foo",
        fromVersion: "1.0",
        toVersion: "1.0",
        result: "rolled_back",
        reason: "the install failed; 1.1 rolled back",
      },
      {
        name: "bar",
        fromVersion: "2.0",
        toVersion: "2.0",
        result: "failed",
        reason: "version unchanged (expected 2.1)",
      },
    ]);
    expect(report.result.healthCheck.status).toBe("skipped");
    expect(report.summary).toBe("apt: 1 failed, 1 rolled back; rollback succeeded");
  });

  it("fails a job whose manager exited non-zero even when the versions moved, and rolls it back", async () => {
    const executor = new FakeExecutor({ foo: "1.0" }, [fooTo11], { installs: { foo: "1.1" }, exitCode: 100 });
    const { report } = await run(executor);
    expect(report.outcome).toBe("failed");
    expect(report.result.install.exitCode).toBe(100);
    expect(report.result.packages[0]).toMatchObject({ result: "rolled_back" });
    expect(report.summary).toContain("apt exited with 100");
  });

  it("leaves the new versions when rollback was not asked for", async () => {
    const executor = new FakeExecutor({ foo: "1.0" }, [fooTo11], { installs: { foo: "1.1" } });
    const { report } = await run(executor, {
      rollbackOnFailure: false,
      healthCheck: { services: [], hook: { hook: "missing", args: [], timeoutSeconds: 5 } },
    });
    expect(report.result.healthCheck.status).toBe("failed");
    expect(report.result.healthCheck.log).toContain("hook refused");
    expect(report.result.rollback).toMatchObject({
      status: "skipped",
      log: "not asked for (the health check failed)",
    });
    expect(report.result.packages[0]).toMatchObject({ result: "installed", toVersion: "1.1" });
    expect(executor.calls).not.toContainEqual(expect.stringMatching(/^rollback/));
  });

  it("reports a rollback that could not restore, with the manager's reason", async () => {
    const executor = new FakeExecutor({ foo: "1.0" }, [fooTo11], {
      installs: { foo: "1.1" },
      exitCode: 1,
      restores: false,
    });
    const { report } = await run(executor);
    expect(report.result.rollback).toMatchObject({ status: "failed", exitCode: 100 });
    expect(report.result.packages[0]).toEqual({
      name: "foo",
      fromVersion: "1.0",
      toVersion: "1.1",
      result: "failed",
      reason: "the install failed; rollback failed: previous version gone",
    });
  });

  it("succeeds when every package reached its target or was already there", async () => {
    const executor = new FakeExecutor(
      { foo: "1.0", baz: "3.0" },
      [
        fooTo11,
        {
          name: "baz",
          fromVersion: "3.0",
          toVersion: "3.0",
          skip: { result: "unchanged", reason: "already at this version" },
        },
        {
          name: "qux",
          fromVersion: null,
          toVersion: null,
          skip: { result: "skipped", reason: "not installed" },
        },
      ],
      { installs: { foo: "1.1" } },
    );
    const { report } = await run(executor);
    expect(report.outcome).toBe("succeeded");
    expect(report.summary).toBe("apt: 1 installed, 1 unchanged, 1 skipped");
  });

  it("installs nothing and skips every package when planning fails", async () => {
    const executor = new FakeExecutor({ foo: "1.0" }, [], {
      planError: "E: Version '9' for 'foo' was not found",
    });
    const { report } = await run(executor, { packages: [{ name: "foo", version: "9" }] });
    expect(executor.calls).toEqual(["refresh", "plan"]);
    expect(report.outcome).toBe("failed");
    expect(report.result.packages).toEqual([
      {
        name: "foo",
        fromVersion: "1.0",
        toVersion: "1.0",
        result: "skipped",
        reason: "planning failed: E: Version '9' for 'foo' was not found; 9 not installed",
      },
    ]);
    expect(report.result.install.log).toContain("simulation output");
  });

  it("refuses a name the manager would read as something else, before planning", async () => {
    const executor = new FakeExecutor({}, []);
    await expect(run(executor, { packages: [{ name: "Foo_Bar" }] })).rejects.toThrow(
      /not a package name apt accepts/,
    );
    expect(executor.calls).toEqual([]);
  });
});

describe("runPatchJob's reboots", () => {
  const installs = () =>
    new FakeExecutor({ foo: "1.0" }, [fooTo11], { installs: { foo: "1.1" }, rebootRequired: false });

  it.each([
    ["never", false, false],
    ["if_required", false, false],
    ["if_required", true, true],
    ["always", false, true],
  ] as const)("policy %s, reboot required %s: reboots %s", async (policy, required, reboots) => {
    const executor = new FakeExecutor({ foo: "1.0" }, [fooTo11], {
      installs: { foo: "1.1" },
      rebootRequired: required,
    });
    const { report, reboot } = await run(executor, { reboot: policy });
    expect(reboot).toHaveBeenCalledTimes(reboots ? 1 : 0);
    expect(report.result).toMatchObject({ rebootRequired: required, rebooting: reboots });
  });

  it("does not reboot after a job that installed nothing", async () => {
    const executor = new FakeExecutor({ foo: "1.1" }, [
      { ...fooTo11, fromVersion: "1.1", skip: { result: "unchanged", reason: "already at this version" } },
    ]);
    const { reboot } = await run(executor, { reboot: "always" });
    expect(executor.calls).not.toContain("install");
    expect(reboot).not.toHaveBeenCalled();
  });

  it("reports rebooting false, and logs why, when the reboot could not be started", async () => {
    const failing = vi.fn(async () => {
      throw new Error("shutdown: not permitted");
    });
    const { report, log } = await run(installs(), { reboot: "always" }, failing);
    expect(report.result.rebooting).toBe(false);
    expect(log).toHaveBeenCalledWith("warn", expect.stringContaining("shutdown: not permitted"));
  });

  it("puts a reboot off while the defer-reboot hook asks, at most maxRebootDeferrals times in a row", async () => {
    const dir = await mkdtemp(join(tmpdir(), "patchpilot-defer-"));
    try {
      const hooksDir = join(dir, "hooks");
      const stateDir = join(dir, "state");
      await mkdir(hooksDir, { mode: 0o755 });
      await mkdir(stateDir, { mode: 0o700 });
      await writeFile(join(hooksDir, "defer-reboot"), "#!/bin/sh\necho 'alice is logged in on tty1'\n");
      await chmod(join(hooksDir, "defer-reboot"), 0o755);
      const deferrals = fileRebootDeferrals(stateDir);
      const job = async () => {
        const reboot = vi.fn(async () => {});
        const report = await runPatchJob(payload({ reboot: "always", maxRebootDeferrals: 2 }), {
          root: "/",
          hooksDir,
          log: () => {},
          executor: installs(),
          reboot,
          rebootDeferrals: deferrals,
        });
        return { report, rebooted: reboot.mock.calls.length };
      };
      const first = await job();
      expect([first.rebooted, first.report.result.rebootDeferrals, first.report.result.rebooting]).toEqual([
        0,
        1,
        false,
      ]);
      const second = await job();
      expect([second.rebooted, second.report.result.rebootDeferrals]).toEqual([0, 2]);
      // The cap is reached: the third reboot goes ahead, whatever the hook says, and the count starts again.
      const third = await job();
      expect([third.rebooted, third.report.result.rebootDeferrals, third.report.result.rebooting]).toEqual([
        1,
        undefined,
        true,
      ]);
      expect(await deferrals.count()).toBe(0);
      // A hook that says "not now" by failing does not put it off.
      await writeFile(join(hooksDir, "defer-reboot"), "#!/bin/sh\nexit 1\n");
      expect((await job()).rebooted).toBe(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("never puts a reboot off without a cap, or without the hook", async () => {
    const reboot = vi.fn(async () => {});
    const deferrals = { count: vi.fn(async () => 0), set: vi.fn(async () => {}) };
    const report = await runPatchJob(payload({ reboot: "always", maxRebootDeferrals: 3 }), {
      root: "/",
      hooksDir: "/nonexistent",
      log: () => {},
      executor: installs(),
      reboot,
      rebootDeferrals: deferrals,
    });
    expect(reboot).toHaveBeenCalledTimes(1);
    expect(report.result.rebootDeferrals).toBeUndefined();
    expect(deferrals.set).toHaveBeenCalledWith(0);
  });
});

describe("validatePatchPayload", () => {
  it("accepts the protocol's payload and returns only its fields", () => {
    const valid = payload({
      hold: ["linux-image-amd64"],
      preUpdate: { hook: "snapshot", args: ["--volume", "root"], timeoutSeconds: 600 },
      healthCheck: { services: ["nginx.service", "getty@tty1"], hook: null },
      reboot: "if_required",
    });
    expect(validatePatchPayload(valid)).toEqual(valid);
  });

  it.each([
    ["an unknown field", { extra: 1 }, /unknown field "extra"/],
    ["a package mode without packages", { packages: [] }, /needs at least one package/],
    ["a class mode with packages", { mode: "security" }, /takes no package list/],
    ["a package listed twice", { packages: [{ name: "foo" }, { name: "foo" }] }, /listed twice/],
    [
      "a version with a space",
      { packages: [{ name: "foo", version: "1.1 && reboot" }] },
      /not a valid version/,
    ],
    [
      "a hook name with a path",
      { preUpdate: { hook: "../bin/sh", args: [], timeoutSeconds: 5 } },
      /not a valid hook name/,
    ],
    ["a hook without a timeout", { preUpdate: { hook: "snap", args: [] } }, /timeoutSeconds/],
    [
      "a service that reads as an option",
      { healthCheck: { services: ["--all"], hook: null } },
      /not a valid service/,
    ],
    ["an unknown reboot policy", { reboot: "now" }, /reboot must be one of/],
  ])("refuses %s", (_label, overrides, message) => {
    expect(() => validatePatchPayload(payload(overrides))).toThrow(PatchJobRefused);
    expect(() => validatePatchPayload(payload(overrides))).toThrow(message);
  });
});

describe("log excerpts", () => {
  it("keep the last 4 KiB, whole characters only, and mask credentials in URLs", () => {
    const long = `${"é".repeat(5000)}\nGet:1 https://deploy:s3cret@repo.example.com/debian bookworm InRelease`;
    const excerpt = logExcerpt(long);
    expect(Buffer.byteLength(excerpt)).toBeLessThanOrEqual(4096);
    expect(excerpt.startsWith("…\n")).toBe(true);
    expect(excerpt).not.toContain("\uFFFD");
    expect(excerpt).toContain("https://***@repo.example.com/debian");
    expect(redactCredentials("ftp://a:b@c/ and http://plain.example/")).toBe(
      "ftp://***@c/ and http://plain.example/",
    );
  });

  it("reduce progress redraws to what a terminal would show last", () => {
    expect(logExcerpt("Progress 10%\rProgress 50%\rProgress 100%\ndone\u001b")).toBe("Progress 100%\ndone");
  });
});
