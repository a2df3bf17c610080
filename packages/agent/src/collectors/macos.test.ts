import { readFileSync } from "node:fs";
import { DeviceFacts, HardwareId } from "@patchpilot/protocol";
import { Value } from "typebox/value";
import { describe, expect, it } from "vitest";
import { collectFacts } from "./facts.js";
import { collectMacosInventory } from "./macos.js";
import { parseSystemProfilerApps } from "./macos-apps.js";
import { macosRelease, parseIoregPlatformUuid, parseSwVers } from "./macos-facts.js";
import { parseSoftwareUpdateList, softwareUpdateToUpdates } from "./macos-softwareupdate.js";
import { replayRunner } from "./replay-runner.js";

const recorded = (name: string) => readFileSync(new URL(`./testdata/macos/${name}`, import.meta.url), "utf8");
const apps = parseSystemProfilerApps(JSON.parse(recorded("system_profiler-applications.stdout")), "macos:14");

describe("system_profiler SPApplicationsDataType -json", () => {
  it("lists versioned apps with their vendor and counts the unversioned ones", () => {
    expect(apps.packages.map((a) => [a.name, a.version, a.vendor])).toEqual([
      ["Safari", "17.4", "Apple"],
      ["Google Chrome", "123.0.6312.87", "Google LLC"],
      ["Xcode", "15.3", undefined],
      ["Python Launcher", "3.12.2", "Python Software Foundation"],
    ]);
    expect(apps.packages[0]).toMatchObject({ kind: "application", ecosystem: "macos", release: "macos:14" });
    expect(apps.problems).toEqual(["macos: 1 application(s) without a version skipped"]);
  });
});

describe("softwareupdate --list", () => {
  it("reads label, title, version and flags", () => {
    const items = parseSoftwareUpdateList(recorded("softwareupdate-list.stdout.txt"));
    expect(items).toEqual([
      {
        label: "Command Line Tools for Xcode-15.3",
        title: "Command Line Tools for Xcode",
        version: "15.3",
        recommended: true,
        restart: false,
      },
      {
        label: "Safari17.4.1SonomaAuto-17.4.1",
        title: "Safari",
        version: "17.4.1",
        recommended: true,
        restart: false,
      },
      {
        label: "macOS Sonoma 14.4.1-23E224",
        title: "macOS Sonoma 14.4.1",
        version: "14.4.1",
        recommended: true,
        restart: true,
      },
    ]);
    const updates = softwareUpdateToUpdates(items, "14.4", apps.packages);
    expect(updates.map((u) => [u.name, u.currentVersion, u.availableVersion])).toEqual([
      ["Command Line Tools for Xcode", null, "15.3"],
      ["Safari", "17.4", "17.4.1"],
      ["macOS Sonoma 14.4.1", "14.4", "14.4.1"],
    ]);
    expect(updates.every((u) => u.ecosystem === "macos" && !u.security)).toBe(true);
  });

  it("gives no updates for 'No new software available.'", () => {
    expect(parseSoftwareUpdateList(recorded("softwareupdate-none.stderr.txt"))).toEqual([]);
  });

  it("marks Apple's security-named updates", () => {
    const [update] = softwareUpdateToUpdates(
      [
        {
          label: "x",
          title: "macOS Security Response 13.3.1 (a)",
          version: "13.3.1 (a)",
          recommended: true,
          restart: true,
        },
      ],
      "13.3.1",
      [],
    );
    expect(update?.security).toBe(true);
  });
});

describe("sw_vers and ioreg", () => {
  it("reads the version and names the release", () => {
    expect(parseSwVers(recorded("sw_vers.txt"))).toEqual({
      productName: "macOS",
      productVersion: "14.4.1",
      buildVersion: "23E224",
    });
    expect(macosRelease("14.4.1")).toBe("macos:14");
    expect(macosRelease(parseSwVers(recorded("sw_vers.catalina.txt")).productVersion)).toBe("macos:10.15");
  });

  it("finds the platform UUID", () => {
    expect(parseIoregPlatformUuid(recorded("ioreg-platform-expert.txt"))).toBe(
      "5A6E5B1C-2F4D-4E8A-9C3B-1D2E3F4A5B6C",
    );
    expect(parseIoregPlatformUuid("nothing here")).toBeNull();
  });
});

const QUICK_RUNS = [
  { program: "sw_vers", args: [], result: { stdout: recorded("sw_vers.txt") } },
  {
    program: "ioreg",
    args: ["-rd1", "-c", "IOPlatformExpertDevice"],
    result: { stdout: recorded("ioreg-platform-expert.txt") },
  },
];

describe("the macOS collectors on recorded output", () => {
  it("collects applications and updates", async () => {
    const runner = replayRunner([
      ...QUICK_RUNS,
      {
        program: "system_profiler",
        args: ["SPApplicationsDataType", "-json"],
        result: { stdout: recorded("system_profiler-applications.stdout") },
      },
      {
        program: "softwareupdate",
        args: ["--list"],
        result: {
          stdout: recorded("softwareupdate-list.stdout.txt"),
          stderr: recorded("softwareupdate-list.stderr.txt"),
        },
      },
    ]);
    const output = await collectMacosInventory(runner);
    expect(output.packages).toHaveLength(5);
    expect(output.packages[0]).toEqual({
      kind: "package",
      ecosystem: "macos",
      release: "macos:14",
      name: "macos",
      version: "14.4.1",
    });
    expect(output.updates).toHaveLength(3);
    expect(output.updates[2]?.currentVersion).toBe("14.4.1");
    expect(output.warnings).toEqual(["macos: 1 application(s) without a version skipped"]);
  });

  it("collects facts with the automatic-update preferences", async () => {
    const runner = replayRunner([
      ...QUICK_RUNS,
      {
        program: "defaults",
        args: ["read", "/Library/Preferences/com.apple.SoftwareUpdate", "AutomaticallyInstallMacOSUpdates"],
        result: { stdout: "1\n" },
      },
      {
        program: "defaults",
        args: ["read", "/Library/Managed Preferences/com.apple.commerce", "AutoUpdate"],
        result: { stdout: "0\n" },
      },
    ]);
    const { facts, hardwareId } = await collectFacts({ agentVersion: "0.1.0", runner, platform: "darwin" });
    expect(hardwareId).toBe("5A6E5B1C-2F4D-4E8A-9C3B-1D2E3F4A5B6C");
    expect(Value.Check(HardwareId, hardwareId)).toBe(true);
    expect(facts.os).toEqual({
      family: "macos",
      name: "macOS",
      version: "14.4.1",
      build: "23E224",
      release: "macos:14",
    });
    expect(facts.patchSources).toEqual([
      {
        mechanism: "macos-softwareupdate",
        automaticInstall: true,
        detail: "AutomaticallyInstallMacOSUpdates = 1 (/Library/Preferences)",
      },
      {
        mechanism: "app-store",
        automaticInstall: false,
        detail: "AutoUpdate = 0 (/Library/Managed Preferences)",
      },
    ]);
    expect(Value.Check(DeviceFacts, facts)).toBe(true);
  });
});
