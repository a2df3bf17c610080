import { readFileSync } from "node:fs";
import { DeviceFacts, HardwareId } from "@patchpilot/protocol";
import { Value } from "typebox/value";
import { describe, expect, it } from "vitest";
import { collectFacts } from "./facts.js";
import { type RecordedRun, replayRunner } from "./replay-runner.js";
import { collectWindowsInventory } from "./windows.js";
import { parseWindowsOsInfo, windowsUpdatePolicy } from "./windows-facts.js";
import { parseHotFixes, parseUninstallEntries } from "./windows-programs.js";
import {
  HOTFIX_SCRIPT,
  OS_INFO_SCRIPT,
  PROGRAMS_SCRIPT,
  parsePowerShellJson,
  WINDOWS_UPDATE_SCRIPT,
} from "./windows-scripts.js";
import { parseWindowsUpdateSearch } from "./windows-updates.js";

const recorded = (name: string) =>
  readFileSync(new URL(`./testdata/windows/${name}`, import.meta.url), "utf8");
const json = (name: string) => parsePowerShellJson(recorded(name));
const RELEASE = "windows:10.0.22631";

describe("installed programs (Uninstall keys)", () => {
  it("keeps named, versioned, non-system-component programs from all three keys", () => {
    const { packages, problems } = parseUninstallEntries(json("programs.stdout"), RELEASE);
    expect(packages.map((p) => p.name)).toEqual([
      "7-Zip 23.01 (x64)",
      "Git",
      "FileZilla 3.66.5",
      "Google Chrome",
      "Notepad++ (32-bit x86)",
      "Java 8 Update 401",
      "Microsoft Teams classic",
      "Zoom",
    ]);
    expect(problems).toEqual(['windows: program "Microsoft Edge Update" has no DisplayVersion; skipped']);
    expect(packages[3]).toEqual({
      kind: "application",
      ecosystem: "windows",
      release: RELEASE,
      name: "Google Chrome",
      version: "123.0.6312.86",
      arch: "x86",
      vendor: "Google LLC",
    });
    // PowerShell 5.1 escapes < and > as \u003c / \u003e; JSON.parse restores them.
    expect(packages[2]?.vendor).toBe("Tim Kosse <tim.kosse@filezilla-project.org>");
    expect(packages[0]?.arch).toBeUndefined();
  });

  it("accepts the single object ConvertTo-Json prints for one program, and no output for none", () => {
    expect(parseUninstallEntries(json("programs-single.stdout"), RELEASE).packages).toHaveLength(1);
    expect(parseUninstallEntries(parsePowerShellJson(""), RELEASE).packages).toEqual([]);
  });
});

describe("hotfixes (Get-HotFix)", () => {
  it("names each by its KB id with the KB number as version, skipping non-KB entries", () => {
    const { packages, problems } = parseHotFixes(json("hotfixes.stdout"), RELEASE);
    expect(packages.map((p) => `${p.name}=${p.version}`)).toEqual([
      "KB5034467=5034467",
      "KB5027397=5027397",
      "KB5035853=5035853",
      "KB5035942=5035942",
    ]);
    expect(packages[0]).toMatchObject({ kind: "hotfix", ecosystem: "windows-kb", release: RELEASE });
    expect(problems).toEqual(['windows: hotfix "FILE 1" is not a KB id; skipped']);
    expect(parseHotFixes(json("hotfixes-single.stdout"), RELEASE).packages).toHaveLength(1);
  });
});

describe("Windows Update search", () => {
  it("maps title, KB, classification and severity", () => {
    const updates = parseWindowsUpdateSearch(json("windows-update.stdout"));
    expect(updates[0]).toEqual({
      ecosystem: "windows-kb",
      name: "2024-03 Cumulative Update for Windows 11 Version 23H2 for x64-based Systems (KB5035853)",
      currentVersion: null,
      availableVersion: "5035853",
      kb: "KB5035853",
      origin: "Security Updates, Windows 11",
      security: true,
    });
    expect(updates.map((u) => u.security)).toEqual([true, false, false, true, false]);
    // A driver has no KB: ecosystem windows, versioned by its revision.
    expect(updates[4]).toMatchObject({ ecosystem: "windows", availableVersion: "1", origin: "Drivers" });
    expect(updates[4]?.kb).toBeUndefined();
  });

  it("reads one update printed as an object whose lists are plain strings", () => {
    expect(parseWindowsUpdateSearch(json("windows-update-single.stdout"))).toEqual([
      {
        ecosystem: "windows-kb",
        name: "2024-03 Cumulative Update for Windows Server 2022 for x64-based Systems (KB5035857)",
        currentVersion: null,
        availableVersion: "5035857",
        kb: "KB5035857",
        origin: "Security Updates",
        security: true,
      },
    ]);
  });
});

describe("OS build and policy", () => {
  it("corrects Windows 11's ProductName and reads build, UBR, reboot and AU policy", () => {
    const info = parseWindowsOsInfo(json("os-info.win11.stdout"));
    expect(info).toEqual({
      name: "Windows 11 Pro",
      version: "10.0.22631",
      build: "22631.3296",
      fullBuild: "10.0.22631.3296",
      release: "windows:10.0.22631",
      rebootRequired: true,
      patchSource: { mechanism: "windows-update", automaticInstall: true, detail: "policy AUOptions = 4" },
      machineGuid: "3f0c2f5e-8d1a-4c6b-9e2f-7a1b2c3d4e5f",
    });
    const server = parseWindowsOsInfo(json("os-info.server2022.stdout"));
    expect(server).toMatchObject({
      name: "Windows Server 2022 Datacenter",
      release: "windows:10.0.20348",
      rebootRequired: false,
    });
    expect(server.patchSource.automaticInstall).toBe(false);
  });

  it("maps every AU policy value", () => {
    expect(windowsUpdatePolicy(null, 3).automaticInstall).toBe(false);
    expect(windowsUpdatePolicy(null, 5).automaticInstall).toBeNull();
    expect(windowsUpdatePolicy(null, null).automaticInstall).toBeNull();
    expect(windowsUpdatePolicy(1, 4).automaticInstall).toBe(false);
  });
});

const POWERSHELL_ARGS = (script: string) => ["-NoProfile", "-NonInteractive", "-Command", script];
const run = (script: string, stdout: string, code = 0): RecordedRun => ({
  program: "powershell.exe",
  args: POWERSHELL_ARGS(script),
  result: { stdout, code },
});

describe("the Windows collector on recorded output", () => {
  it("collects programs, hotfixes and updates under the OS release", async () => {
    const runner = replayRunner([
      run(OS_INFO_SCRIPT, recorded("os-info.win11.stdout")),
      run(PROGRAMS_SCRIPT, recorded("programs.stdout")),
      run(HOTFIX_SCRIPT, recorded("hotfixes.stdout")),
      run(WINDOWS_UPDATE_SCRIPT, ""),
    ]);
    const output = await collectWindowsInventory(runner);
    expect(output.packages).toHaveLength(13);
    // The OS itself, by full build, for Microsoft's advisories (which name fixed builds).
    expect(output.packages[0]).toEqual({
      kind: "package",
      ecosystem: "windows",
      release: RELEASE,
      name: "windows",
      version: "10.0.22631.3296",
    });
    expect(new Set(output.packages.map((p) => p.release))).toEqual(new Set([RELEASE]));
    expect(output.updates).toEqual([]);
    expect(output.warnings).toHaveLength(2);
    // Always the full path of Windows PowerShell, never whatever powershell.exe is first on PATH.
    expect(
      runner.calls.every((c) => /\\System32\\WindowsPowerShell\\v1\.0\\powershell\.exe$/.test(c.file)),
    ).toBe(true);
  });

  it("turns a failing part into a warning", async () => {
    const runner = replayRunner([
      run(OS_INFO_SCRIPT, recorded("os-info.win11.stdout")),
      run(PROGRAMS_SCRIPT, "", 1),
      run(HOTFIX_SCRIPT, recorded("hotfixes-single.stdout")),
      run(WINDOWS_UPDATE_SCRIPT, recorded("windows-update.stdout")),
    ]);
    const output = await collectWindowsInventory(runner);
    expect(output.packages.map((p) => p.name)).toEqual(["windows", "KB5035853"]);
    expect(output.updates).toHaveLength(5);
    expect(output.warnings).toEqual([
      "windows: installed programs not collected: powershell exited with 1: ",
    ]);
  });

  it("collects facts with the MachineGuid as hardware id", async () => {
    const runner = replayRunner([run(OS_INFO_SCRIPT, recorded("os-info.win11.stdout"))]);
    const { facts, hardwareId } = await collectFacts({ agentVersion: "0.1.0", runner, platform: "win32" });
    expect(hardwareId).toBe("3f0c2f5e-8d1a-4c6b-9e2f-7a1b2c3d4e5f");
    expect(Value.Check(HardwareId, hardwareId)).toBe(true);
    expect(facts.os).toEqual({
      family: "windows",
      name: "Windows 11 Pro",
      version: "10.0.22631",
      build: "22631.3296",
      release: "windows:10.0.22631",
    });
    expect(facts.patchSources).toHaveLength(1);
    expect(Value.Check(DeviceFacts, facts)).toBe(true);
  });
});
