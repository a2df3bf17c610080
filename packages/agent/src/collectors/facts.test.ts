import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import os, { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { DeviceFacts, HardwareId } from "@patchpilot/protocol";
import { Value } from "typebox/value";
import { afterAll, describe, expect, it } from "vitest";
import { collectFacts } from "./facts.js";
import { replayRunner } from "./replay-runner.js";

const roots: string[] = [];
afterAll(async () => Promise.all(roots.map((r) => rm(r, { recursive: true, force: true }))));

/** A fake filesystem root: files by path, and symlinks (path → target) as `systemctl enable` makes them. */
async function fakeRoot(files: Record<string, string>, links: Record<string, string> = {}): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "pp-facts-"));
  roots.push(root);
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
  for (const [path, target] of Object.entries(links)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await symlink(target, join(root, path));
  }
  return root;
}

const MACHINE_ID = "4c4c4544004d3510804bc4c04f4e3332";
const DEBIAN_OS =
  'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION="12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\n';
const UBUNTU_OS =
  'PRETTY_NAME="Ubuntu 22.04.4 LTS"\nNAME="Ubuntu"\nVERSION_ID="22.04"\nVERSION="22.04.4 LTS (Jammy Jellyfish)"\nVERSION_CODENAME=jammy\nID=ubuntu\nID_LIKE=debian\n';
const ALPINE_OS = 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME="Alpine Linux v3.19"\n';
const ROCKY_OS =
  'NAME="Rocky Linux"\nVERSION="9.3 (Blue Onyx)"\nID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.3"\nPRETTY_NAME="Rocky Linux 9.3 (Blue Onyx)"\n';
const UNATTENDED_INSTALLED =
  "Package: unattended-upgrades\nStatus: install ok installed\nArchitecture: all\nVersion: 2.9.1+nmu3\n\n" +
  "Package: bash\nStatus: install ok installed\nArchitecture: amd64\nVersion: 5.2.15-2+b2\n";
const AUTO_UPGRADES_ON = 'APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "1";\n';
const AUTO_UPGRADES_OFF =
  'APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "0";\n';
const noCommands = replayRunner([]);

const expectValidFacts = (facts: unknown) => expect(Value.Check(DeviceFacts, facts)).toBe(true);

describe("collectFacts on Linux (fake roots)", () => {
  it("Debian with unattended-upgrades on and a reboot pending", async () => {
    const root = await fakeRoot({
      "etc/os-release": DEBIAN_OS,
      "etc/debian_version": "12.5\n",
      "etc/machine-id": `${MACHINE_ID}\n`,
      "var/run/reboot-required": "*** System restart required ***\n",
      "var/lib/dpkg/status": UNATTENDED_INSTALLED,
      "etc/apt/apt.conf.d/20auto-upgrades": AUTO_UPGRADES_ON,
      "etc/apt/apt.conf.d/50unattended-upgrades":
        '// comments\nUnattended-Upgrade::Origins-Pattern { "origin=Debian"; };\n',
    });
    const { facts, hardwareId } = await collectFacts({
      root,
      agentVersion: "0.1.0",
      runner: noCommands,
      platform: "linux",
    });
    expect(hardwareId).toBe(MACHINE_ID);
    expect(Value.Check(HardwareId, hardwareId)).toBe(true);
    expect(facts.os).toEqual({
      family: "linux",
      name: "Debian GNU/Linux",
      version: "12",
      build: "12.5",
      release: "debian:12",
    });
    expect(facts.rebootRequired).toBe(true);
    expect(facts.patchSources).toEqual([
      {
        mechanism: "unattended-upgrades",
        automaticInstall: true,
        detail: 'APT::Periodic::Unattended-Upgrade "1"',
      },
    ]);
    expect(facts.hostname).toBe(os.hostname());
    expect(facts.kernel).toBe(os.release());
    expect(facts.arch).toBe(os.arch() === "x64" ? "amd64" : facts.arch);
    expect(facts.agentVersion).toBe("0.1.0");
    expect(noCommands.calls).toEqual([]);
    expectValidFacts(facts);
  });

  it("Debian with unattended-upgrades switched off, or overridden by a later file", async () => {
    const off = await fakeRoot({
      "etc/os-release": DEBIAN_OS,
      "etc/machine-id": MACHINE_ID,
      "var/lib/dpkg/status": UNATTENDED_INSTALLED,
      "etc/apt/apt.conf.d/20auto-upgrades": AUTO_UPGRADES_OFF,
    });
    const overridden = await fakeRoot({
      "etc/os-release": DEBIAN_OS,
      "etc/machine-id": MACHINE_ID,
      "var/lib/dpkg/status": UNATTENDED_INSTALLED,
      "etc/apt/apt.conf.d/20auto-upgrades": AUTO_UPGRADES_ON,
      "etc/apt/apt.conf.d/99local": 'APT { Periodic { Unattended-Upgrade "0"; }; };\n',
      // apt ignores files with other extensions, so this one must not turn it back on.
      "etc/apt/apt.conf.d/99local.dpkg-old": AUTO_UPGRADES_ON,
    });
    for (const root of [off, overridden]) {
      const { facts } = await collectFacts({
        root,
        agentVersion: "0.1.0",
        runner: noCommands,
        platform: "linux",
      });
      expect(facts.patchSources[0]).toMatchObject({
        mechanism: "unattended-upgrades",
        automaticInstall: false,
      });
      expect(facts.rebootRequired).toBe(false);
    }
  });

  it("Ubuntu without unattended-upgrades and without a pending reboot; machine id from D-Bus", async () => {
    const root = await fakeRoot({
      "etc/os-release": UBUNTU_OS,
      "etc/machine-id": "",
      "var/lib/dbus/machine-id": `${MACHINE_ID}\n`,
      "var/lib/dpkg/status":
        "Package: bash\nStatus: install ok installed\nArchitecture: amd64\nVersion: 5.1-6ubuntu1\n",
      "etc/apt/apt.conf.d/20auto-upgrades": AUTO_UPGRADES_ON,
    });
    const { facts, hardwareId } = await collectFacts({
      root,
      agentVersion: "0.1.0",
      runner: noCommands,
      platform: "linux",
    });
    expect(hardwareId).toBe(MACHINE_ID);
    expect(facts.os).toEqual({
      family: "linux",
      name: "Ubuntu",
      version: "22.04",
      build: "22.04.4",
      release: "ubuntu:22.04",
    });
    expect(facts.rebootRequired).toBe(false);
    expect(facts.patchSources).toEqual([
      { mechanism: "unattended-upgrades", automaticInstall: false, detail: "package not installed" },
    ]);
    expectValidFacts(facts);
  });

  it("Alpine: major.minor release, no patch source, no reboot signal", async () => {
    const root = await fakeRoot({ "etc/os-release": ALPINE_OS, "etc/machine-id": MACHINE_ID });
    const { facts } = await collectFacts({
      root,
      agentVersion: "0.1.0",
      runner: noCommands,
      platform: "linux",
    });
    expect(facts.os).toEqual({
      family: "linux",
      name: "Alpine Linux",
      version: "3.19.1",
      build: "3.19.1",
      release: "alpine:3.19",
    });
    expect(facts.patchSources).toEqual([]);
    expect(facts.rebootRequired).toBe(false);
    expect(facts.arch).toBe(os.arch() === "x64" ? "x86_64" : facts.arch);
    expectValidFacts(facts);
  });

  it("Rocky: major release, needs-restarting -r exit 1 means reboot, dnf-automatic installing", async () => {
    const root = await fakeRoot(
      {
        "etc/os-release": ROCKY_OS,
        "etc/machine-id": MACHINE_ID,
        "etc/dnf/automatic.conf":
          "[commands]\nupgrade_type = security\napply_updates = yes\n\n[emitters]\nemit_via = stdio\n",
        "usr/bin/needs-restarting": "",
      },
      {
        "etc/systemd/system/timers.target.wants/dnf-automatic.timer":
          "/usr/lib/systemd/system/dnf-automatic.timer",
      },
    );
    const runner = replayRunner([
      { program: "needs-restarting", args: ["-r"], result: { code: 1, stdout: "Reboot is required" } },
    ]);
    const { facts } = await collectFacts({ root, agentVersion: "0.1.0", runner, platform: "linux" });
    expect(facts.os).toEqual({
      family: "linux",
      name: "Rocky Linux",
      version: "9.3",
      build: "9.3",
      release: "rocky:9",
    });
    expect(facts.rebootRequired).toBe(true);
    expect(facts.patchSources).toEqual([
      { mechanism: "dnf-automatic", automaticInstall: true, detail: "apply_updates = yes" },
    ]);
    expect(facts.arch).toBe(os.arch() === "x64" ? "x86_64" : facts.arch);
    expectValidFacts(facts);
  });

  it("Rocky: dnf-automatic downloading only, or with its timer off; no reboot needed", async () => {
    const conf = {
      "etc/os-release": ROCKY_OS,
      "etc/machine-id": MACHINE_ID,
      "etc/dnf/automatic.conf": "[commands]\napply_updates = no\n",
    };
    const timer = {
      "etc/systemd/system/timers.target.wants/dnf-automatic.timer":
        "/usr/lib/systemd/system/dnf-automatic.timer",
    };
    const runner = replayRunner([{ program: "needs-restarting", args: ["-r"], result: { code: 0 } }]);
    const downloadOnly = await collectFacts({
      root: await fakeRoot(conf, timer),
      agentVersion: "0.1.0",
      runner,
      platform: "linux",
    });
    expect(downloadOnly.facts.patchSources[0]).toMatchObject({
      automaticInstall: false,
      detail: expect.stringMatching(/download/),
    });
    expect(downloadOnly.facts.rebootRequired).toBe(false);
    const timerOff = await collectFacts({
      root: await fakeRoot(conf),
      agentVersion: "0.1.0",
      runner,
      platform: "linux",
    });
    expect(timerOff.facts.patchSources[0]).toEqual({
      mechanism: "dnf-automatic",
      automaticInstall: false,
      detail: "timer not enabled",
    });
  });

  it("refuses to invent a hardware id", async () => {
    const root = await fakeRoot({ "etc/os-release": DEBIAN_OS, "etc/machine-id": "uninitialized\n" });
    await expect(
      collectFacts({ root, agentVersion: "0.1.0", runner: noCommands, platform: "linux" }),
    ).rejects.toThrow(/no usable machine id/);
  });
});
