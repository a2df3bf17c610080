import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { requirePeer } from "../../../server/src/testing/peers.js";
import { replayRunner } from "./replay-runner.js";
import {
  collectRpmInventory,
  parseRpmQuery,
  parseSourceRpmName,
  RPM_QUERY_FORMAT,
  rpmEntries,
  rpmVersionString,
} from "./rpm.js";
import { runCommand } from "./run-command.js";

// Records shaped as RPM_QUERY_FORMAT prints them on RHEL 9 (tab-separated, unset tags as "(none)").
const RECORDED = [
  "openssl-libs\t1\t3.0.7\t25.el9_3\tx86_64\topenssl-3.0.7-25.el9_3.src.rpm",
  "bash\t(none)\t5.1.8\t6.el9_1\tx86_64\tbash-5.1.8-6.el9_1.src.rpm",
  "tzdata\t(none)\t2024a\t1.el9\tnoarch\ttzdata-2024a-1.el9.src.rpm",
  "gpg-pubkey\t(none)\tfd431d51\t4ae0493b\t(none)\t(none)",
  "kernel-core\t(none)\t5.14.0\t362.24.1.el9_3\tx86_64\tkernel-5.14.0-362.24.1.el9_3.src.rpm",
  "python3-libs\t0\t3.9.18\t1.el9_3\tx86_64\tpython3.9-3.9.18-1.el9_3.src.rpm",
  "",
].join("\n");

describe("rpm query parsing", () => {
  it("reads name, epoch, version, release, arch and source RPM, skipping gpg-pubkey", () => {
    const parsed = parseRpmQuery(RECORDED);
    expect(parsed.problems).toEqual([]);
    expect(parsed.packages.map((p) => p.name)).toEqual([
      "openssl-libs",
      "bash",
      "tzdata",
      "kernel-core",
      "python3-libs",
    ]);
    expect(parsed.packages[1]).toEqual({
      name: "bash",
      epoch: null,
      version: "5.1.8",
      release: "6.el9_1",
      arch: "x86_64",
      sourceRpm: "bash-5.1.8-6.el9_1.src.rpm",
    });
  });

  it("writes [epoch:]version-release with the epoch only when set and not 0", () => {
    expect(rpmVersionString("1", "3.0.7", "25.el9_3")).toBe("1:3.0.7-25.el9_3");
    expect(rpmVersionString(null, "5.1.8", "6.el9_1")).toBe("5.1.8-6.el9_1");
    expect(rpmVersionString("0", "3.9.18", "1.el9_3")).toBe("3.9.18-1.el9_3");
  });

  it("splits source RPM names on the last two dashes", () => {
    expect(parseSourceRpmName("python3.9-3.9.18-1.el9_3.src.rpm")).toEqual({
      name: "python3.9",
      version: "3.9.18",
      release: "1.el9_3",
    });
    expect(parseSourceRpmName("java-17-openjdk-17.0.10.0.7-2.el9.src.rpm")?.name).toBe("java-17-openjdk");
    expect(parseSourceRpmName("foo-1-2.nosrc.rpm")?.name).toBe("foo");
    expect(parseSourceRpmName("not-a-source.x86_64.rpm")).toBeNull();
  });

  it("gives the source version the binary's epoch", () => {
    const [openssl, , , kernel] = rpmEntries(parseRpmQuery(RECORDED).packages, "rhel:9");
    expect(openssl).toEqual({
      kind: "package",
      ecosystem: "rpm",
      release: "rhel:9",
      name: "openssl-libs",
      version: "1:3.0.7-25.el9_3",
      arch: "x86_64",
      sourceName: "openssl",
      sourceVersion: "1:3.0.7-25.el9_3",
    });
    expect(kernel).toMatchObject({
      name: "kernel-core",
      sourceName: "kernel",
      sourceVersion: "5.14.0-362.24.1.el9_3",
    });
  });

  it("warns about a record it cannot read", () => {
    const parsed = parseRpmQuery("only\ttwo\n");
    expect(parsed.packages).toEqual([]);
    expect(parsed.problems).toHaveLength(1);
  });

  it("passes --root and --dbpath as separate arguments and fails on a non-zero exit", async () => {
    const args = [
      "--root",
      "/srv/image",
      "--dbpath",
      "/var/lib/rpm",
      "-qa",
      "--queryformat",
      RPM_QUERY_FORMAT,
    ];
    const runner = replayRunner([{ program: "rpm", args, result: { stdout: RECORDED } }]);
    const output = await collectRpmInventory({
      runner,
      release: "rhel:9",
      root: "/srv/image",
      dbPath: "/var/lib/rpm",
    });
    expect(output.packages).toHaveLength(5);
    const failing = replayRunner([
      { program: "rpm", args: args.slice(4), result: { code: 1, stderr: "rpmdb: open failed" } },
    ]);
    await expect(collectRpmInventory({ runner: failing, release: "rhel:9" })).rejects.toThrow(
      /rpmdb: open failed/,
    );
  });
});

const hasRpm = requirePeer("rpm", "rpm") && requirePeer("rpmbuild", "rpm");

const SPEC_WITH_EPOCH = `Name: patchpilot-fixture
Epoch: 2
Version: 1.4
Release: 3.el9
Summary: PatchPilot collector test package
License: MIT
BuildArch: noarch

%description
Built by the agent's rpm collector test.

%package -n patchpilot-fixture-libs
Summary: Subpackage built from the same source

%description -n patchpilot-fixture-libs
Subpackage.

%files

%files -n patchpilot-fixture-libs
`;

const SPEC_WITHOUT_EPOCH = `Name: patchpilot-plain
Version: 0.9
Release: 1
Summary: PatchPilot collector test package without an epoch
License: MIT
BuildArch: noarch

%description
Built by the agent's rpm collector test.

%files
`;

describe.skipIf(!hasRpm)("the rpm collector against a real rpm database", () => {
  const dirs: string[] = [];
  afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
  const options = { timeoutMs: 120_000, maxOutputBytes: 8 << 20 };

  it("reports packages built by rpmbuild and installed into a temporary database", async () => {
    const dir = await mkdtemp(join(tmpdir(), "pp-rpm-"));
    dirs.push(dir);
    const topdir = join(dir, "top");
    const dbPath = join(dir, "db");
    for (const [file, spec] of [
      ["epoch.spec", SPEC_WITH_EPOCH],
      ["plain.spec", SPEC_WITHOUT_EPOCH],
    ] as const) {
      await writeFile(join(dir, file), spec);
      const built = await runCommand(
        "rpmbuild",
        ["--define", `_topdir ${topdir}`, "-bb", join(dir, file)],
        options,
      );
      expect(built.code, built.stderr).toBe(0);
    }
    const rpmDir = join(topdir, "RPMS", "noarch");
    const files = (await readdir(rpmDir)).map((f) => join(rpmDir, f));
    expect(files).toHaveLength(3);
    expect((await runCommand("rpm", ["--dbpath", dbPath, "--initdb"], options)).code).toBe(0);
    const installed = await runCommand(
      "rpm",
      ["--dbpath", dbPath, "--justdb", "--nodeps", "--noscripts", "-i", ...files],
      options,
    );
    expect(installed.code, installed.stderr).toBe(0);

    const output = await collectRpmInventory({ runner: runCommand, release: "rhel:9", dbPath });
    expect(output.warnings).toEqual([]);
    const byName = (name: string) => output.packages.find((p) => p.name === name);
    expect(output.packages).toHaveLength(3);
    expect(byName("patchpilot-fixture")).toEqual({
      kind: "package",
      ecosystem: "rpm",
      release: "rhel:9",
      name: "patchpilot-fixture",
      version: "2:1.4-3.el9",
      arch: "noarch",
      sourceName: "patchpilot-fixture",
      sourceVersion: "2:1.4-3.el9",
    });
    expect(byName("patchpilot-fixture-libs")).toMatchObject({
      version: "2:1.4-3.el9",
      sourceName: "patchpilot-fixture",
      sourceVersion: "2:1.4-3.el9",
    });
    expect(byName("patchpilot-plain")).toMatchObject({ version: "0.9-1", sourceName: "patchpilot-plain" });
  });
});
