import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type RecordedRun, replayRunner } from "../collectors/replay-runner.js";
import { DnfExecutor, dnfSpec, parseDnfHistoryLastId } from "./dnf-executor.js";
import { parseRpmQ, RPM_Q_FORMAT } from "./rpm-installed.js";
import type { PatchRequest } from "./types.js";

const fixture = (path: string) => readFileSync(new URL(`./testdata/${path}`, import.meta.url), "utf8");

const request = (overrides: Partial<PatchRequest> = {}): PatchRequest => ({
  mode: "packages",
  packages: [{ name: "openssl" }],
  hold: [],
  reboot: "never",
  ...overrides,
});

const rpmQ = (names: string[], stdout: string): RecordedRun => ({
  program: "rpm",
  args: ["-q", "--queryformat", RPM_Q_FORMAT, ...names],
  result: { code: 0, stdout },
});

const executor = (runs: RecordedRun[], root = "/", dnf = "/usr/bin/dnf") => {
  const runner = replayRunner(runs);
  return {
    runner,
    dnf: new DnfExecutor({
      root,
      runner,
      dnf,
      rpm: "/usr/bin/rpm",
      needsRestarting: "/usr/bin/needs-restarting",
    }),
  };
};

describe("rpm -q, recorded", () => {
  it("reads installed versions, the newest of several, with epochs, and null for what is not installed", () => {
    expect(parseRpmQ(fixture("rpm/rpm-q.txt"), ["openssl", "kernel-core", "bash", "zlib"])).toEqual(
      new Map([
        ["openssl", "1:3.0.7-24.el9"],
        ["kernel-core", "5.14.0-362.24.1.el9_3"],
        ["bash", "5.1.8-6.el9_1"],
        ["zlib", null],
      ]),
    );
  });
});

describe("dnf history list", () => {
  it.each([
    ["history-list-after.dnf4.txt", 12],
    ["history-list.dnf5.txt", 7],
    ["history-list.yum.el7.txt", 23],
  ])("finds the newest transaction in %s", (file, id) => {
    expect(parseDnfHistoryLastId(fixture(`dnf/${file}`))).toBe(id);
  });

  it("has no transaction in an empty history", () => {
    expect(parseDnfHistoryLastId("No transactions\n")).toBeNull();
  });
});

describe("the dnf executor on recorded output", () => {
  const installed = "openssl\t1\t3.0.7\t24.el9\n";

  it("plans a package job from check-update, skipping what is not installed or held", async () => {
    const { dnf } = executor([
      rpmQ(
        ["openssl", "zlib", "kernel-core"],
        `${installed}package zlib is not installed\nkernel-core\t(none)\t5.14.0\t362.18.1.el9_3\n`,
      ),
      {
        program: "dnf",
        args: ["-q", "check-update", "openssl", "zlib", "kernel-core"],
        result: { code: 100, stdout: fixture("dnf/check-update-openssl.rhel9.txt") },
      },
    ]);
    const plan = await dnf.plan(
      request({
        packages: [{ name: "openssl" }, { name: "zlib" }, { name: "kernel-core" }],
        hold: ["kernel-core"],
      }),
    );
    expect(plan.changes).toEqual([
      { name: "openssl", fromVersion: "1:3.0.7-24.el9", toVersion: "1:3.0.7-27.el9" },
      {
        name: "zlib",
        fromVersion: null,
        toVersion: null,
        skip: { result: "skipped", reason: "not installed" },
      },
      {
        name: "kernel-core",
        fromVersion: "5.14.0-362.18.1.el9_3",
        toVersion: null,
        skip: { result: "skipped", reason: "held by the job" },
      },
    ]);
  });

  it("installs a pinned version as name-epoch:version-release and keeps dnf's output as the log", async () => {
    const { dnf, runner } = executor([
      rpmQ(["openssl"], installed),
      {
        program: "dnf",
        args: ["-q", "check-update", "openssl"],
        result: { code: 100, stdout: fixture("dnf/check-update-openssl.rhel9.txt") },
      },
      {
        program: "dnf",
        args: ["-q", "history", "list"],
        result: { stdout: fixture("dnf/history-list-before.dnf4.txt") },
      },
      {
        program: "dnf",
        args: ["-y", "upgrade", "openssl-1:3.0.7-27.el9"],
        result: { stdout: fixture("dnf/upgrade-openssl.rhel9.txt") },
      },
    ]);
    const job = request({ packages: [{ name: "openssl", version: "1:3.0.7-27.el9" }] });
    const install = await dnf.install(await dnf.plan(job), job);
    expect(install).toMatchObject({ ok: true, exitCode: 0 });
    expect(install.log).toContain("Complete!");
    expect(runner.calls.map((c) => c.args.join(" "))).toEqual([
      `-q --queryformat ${RPM_Q_FORMAT} openssl`,
      "-q check-update openssl",
      "-q history list",
      "-y upgrade openssl-1:3.0.7-27.el9",
      "-q history list",
    ]);
  });

  it("undoes the transaction id the install made", async () => {
    let historyReads = 0;
    const runs = (file: string) => ({ stdout: fixture(`dnf/${file}`), code: 0, stderr: "", timedOut: false });
    const calls: string[] = [];
    const dnf = new DnfExecutor({
      root: "/",
      dnf: "/usr/bin/dnf",
      rpm: "/usr/bin/rpm",
      needsRestarting: null,
      runner: async (_file, args) => {
        calls.push(args.join(" "));
        if (args.includes("history") && args.includes("list")) {
          return runs(historyReads++ === 0 ? "history-list-before.dnf4.txt" : "history-list-after.dnf4.txt");
        }
        return { code: 0, stdout: "", stderr: "", timedOut: false };
      },
    });
    const plan = {
      changes: [{ name: "openssl", fromVersion: "1:3.0.7-24.el9", toVersion: "1:3.0.7-27.el9" }],
      log: "",
    };
    await dnf.install(plan, request());
    const rollback = await dnf.rollback([
      { name: "openssl", fromVersion: "1:3.0.7-24.el9", toVersion: "1:3.0.7-27.el9" },
    ]);
    expect(rollback).toMatchObject({ ok: true, reasons: new Map() });
    expect(calls).toEqual(["-q history list", "-y upgrade openssl", "-q history list", "-y history undo 12"]);
  });

  it("downgrades package by package when the undo fails, and reports dnf's reason", async () => {
    const calls: string[] = [];
    const dnf = new DnfExecutor({
      root: "/",
      dnf: "/usr/bin/dnf",
      rpm: "/usr/bin/rpm",
      needsRestarting: null,
      runner: async (_file, args) => {
        calls.push(args.join(" "));
        const failed = fixture("dnf/history-undo-failed.rhel9.txt");
        if (args[0] === "-q")
          return {
            code: 0,
            stdout: calls.length === 1 ? "" : "    5 | x | d | Upgrade | 1\n",
            stderr: "",
            timedOut: false,
          };
        return { code: 1, stdout: "", stderr: failed, timedOut: false };
      },
    });
    await dnf.install(
      { changes: [{ name: "openssl", fromVersion: "1:3.0.7-24.el9", toVersion: null }], log: "" },
      request(),
    );
    const rollback = await dnf.rollback([
      { name: "openssl", fromVersion: "1:3.0.7-24.el9", toVersion: "1:3.0.7-27.el9" },
    ]);
    expect(calls.slice(-2)).toEqual(["-y history undo 5", "-y downgrade openssl-1:3.0.7-24.el9"]);
    expect(rollback.ok).toBe(false);
    expect(rollback.reasons.get("openssl")).toBe(
      'The following problems occurred while running a transaction: Cannot find rpm nevra "openssl-1:3.0.7-24.el9.x86_64".',
    );
    expect(rollback.log).toContain('Cannot find rpm nevra "openssl-1:3.0.7-24.el9.x86_64"');
  });

  it("builds security, all and dist-upgrade commands with the holds as --exclude", () => {
    const { dnf } = executor([]);
    const plan = { changes: [], log: "" };
    expect(dnf.installArgs(plan, request({ mode: "security", packages: [], hold: ["kernel-core"] }))).toEqual(
      ["-y", "upgrade", "--security", "--exclude=kernel-core"],
    );
    expect(dnf.installArgs(plan, request({ mode: "all", packages: [] }))).toEqual(["-y", "upgrade"]);
    expect(dnf.installArgs(plan, request({ mode: "dist-upgrade", packages: [] }))).toEqual([
      "-y",
      "distro-sync",
    ]);
    expect(dnfSpec("openssl", "1:3.0.7-27.el9")).toBe("openssl-1:3.0.7-27.el9");
  });

  it("plans a security job from check-update --security, with the installed versions from rpm", async () => {
    const { dnf } = executor(
      [
        {
          program: "dnf",
          args: ["--installroot=/mnt/rhel", "-q", "check-update", "--security"],
          result: { code: 100, stdout: fixture("dnf/check-update-security.rhel9.txt") },
        },
        {
          program: "rpm",
          args: [
            "--root",
            "/mnt/rhel",
            "-q",
            "--queryformat",
            RPM_Q_FORMAT,
            "openssl",
            "openssl-libs",
            "kernel-core",
          ],
          result: { code: 0, stdout: fixture("rpm/rpm-q.txt") },
        },
      ],
      "/mnt/rhel",
    );
    const plan = await dnf.plan(request({ mode: "security", packages: [] }));
    expect(plan.changes).toEqual([
      { name: "openssl", fromVersion: "1:3.0.7-24.el9", toVersion: "1:3.0.7-27.el9" },
      { name: "openssl-libs", fromVersion: null, toVersion: "1:3.0.7-27.el9" },
      { name: "kernel-core", fromVersion: "5.14.0-362.24.1.el9_3", toVersion: "5.14.0-362.24.2.el9_3" },
    ]);
  });

  it("fails the plan when check-update fails, and names yum as yum", async () => {
    const { dnf } = executor(
      [
        rpmQ(["openssl"], installed),
        {
          program: "yum",
          args: ["-q", "check-update", "openssl"],
          result: { code: 1, stderr: "Error: Cannot retrieve repository metadata (repomd.xml)" },
        },
      ],
      "/",
      "/usr/bin/yum",
    );
    expect(dnf.manager).toBe("yum");
    await expect(dnf.plan(request())).rejects.toThrow(
      /yum check-update failed: Cannot retrieve repository metadata/,
    );
  });

  it("asks needs-restarting -r whether a reboot is needed (exit 1: yes)", async () => {
    const { dnf } = executor([{ program: "needs-restarting", args: ["-r"], result: { code: 1 } }]);
    expect(await dnf.rebootRequired()).toBe(true);
  });
});
