import os from "node:os";
import type { DeviceFacts, PatchSource } from "@patchpilot/protocol";
import { archName } from "./arch-names.js";
import { isValidHardwareId } from "./hardware-id.js";
import { isRecord, type JsonRecord, numberField, stringField } from "./json-fields.js";
import type { CommandRunner } from "./types.js";
import { OS_INFO_SCRIPT, runPowerShellJson } from "./windows-scripts.js";

export interface WindowsOsInfo {
  name: string;
  version: string;
  build: string;
  /** Major.minor.build.revision (`10.0.22631.3007`): what Microsoft's advisories give as fixed builds. */
  fullBuild: string;
  release: string;
  rebootRequired: boolean;
  patchSource: PatchSource;
  machineGuid: string;
}

/**
 * The Automatic Updates policy (HKLM\SOFTWARE\Policies\Microsoft\Windows\WindowsUpdate\AU):
 * NoAutoUpdate=1 turns it off; AUOptions 2 notify, 3 download and notify, 4 download and install
 * on a schedule, 5 local administrator chooses, 7 notify to install and restart. Without a policy
 * the user's Settings decide, which the agent cannot read, so it reports null.
 */
export function windowsUpdatePolicy(noAutoUpdate: number | null, auOptions: number | null): PatchSource {
  const mechanism = "windows-update";
  if (noAutoUpdate === 1) return { mechanism, automaticInstall: false, detail: "policy NoAutoUpdate = 1" };
  if (auOptions === 4) return { mechanism, automaticInstall: true, detail: "policy AUOptions = 4" };
  if (auOptions === 2 || auOptions === 3 || auOptions === 7) {
    return { mechanism, automaticInstall: false, detail: `policy AUOptions = ${auOptions}` };
  }
  if (auOptions !== null)
    return { mechanism, automaticInstall: null, detail: `policy AUOptions = ${auOptions}` };
  return {
    mechanism,
    automaticInstall: null,
    detail: "no Automatic Updates policy; the user's settings decide",
  };
}

/** Parses OS_INFO_SCRIPT's output. */
export function parseWindowsOsInfo(json: unknown): WindowsOsInfo {
  if (!isRecord(json)) throw new Error("windows: OS information is not a JSON object");
  const info: JsonRecord = json;
  const build = stringField(info, "CurrentBuild");
  if (!/^\d+$/.test(build)) throw new Error("windows: CurrentBuild missing");
  const major = numberField(info, "CurrentMajorVersionNumber") ?? 10;
  const minor = numberField(info, "CurrentMinorVersionNumber") ?? 0;
  const ubr = numberField(info, "UBR");
  let name = stringField(info, "ProductName") || "Windows";
  // Windows 11 still says "Windows 10" in ProductName; build 22000 is Windows 11's first.
  if (Number(build) >= 22000 && name.startsWith("Windows 10"))
    name = `Windows 11${name.slice("Windows 10".length)}`;
  return {
    name,
    version: `${major}.${minor}.${build}`,
    build: ubr !== null ? `${build}.${ubr}` : build,
    fullBuild: `${major}.${minor}.${build}.${ubr ?? 0}`,
    release: `windows:${major}.${minor}.${build}`,
    rebootRequired: info.RebootRequired === true || info.RebootPending === true,
    patchSource: windowsUpdatePolicy(numberField(info, "NoAutoUpdate"), numberField(info, "AUOptions")),
    machineGuid: stringField(info, "MachineGuid"),
  };
}

export async function readWindowsOsInfo(runner: CommandRunner): Promise<WindowsOsInfo> {
  return parseWindowsOsInfo(await runPowerShellJson(runner, OS_INFO_SCRIPT));
}

export async function collectWindowsFacts(
  runner: CommandRunner,
  agentVersion: string,
): Promise<{ facts: DeviceFacts; hardwareId: string }> {
  const info = await readWindowsOsInfo(runner);
  if (!isValidHardwareId(info.machineGuid)) throw new Error("windows: no usable MachineGuid");
  const facts: DeviceFacts = {
    hostname: os.hostname(),
    os: {
      family: "windows",
      name: info.name,
      version: info.version,
      build: info.build,
      release: info.release,
    },
    kernel: os.release(),
    arch: archName(os.arch(), "windows"),
    uptimeSeconds: Math.max(0, Math.floor(os.uptime())),
    rebootRequired: info.rebootRequired,
    agentVersion,
    patchSources: [info.patchSource],
  };
  return { facts, hardwareId: info.machineGuid };
}
