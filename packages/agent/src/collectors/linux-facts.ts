import os from "node:os";
import { join } from "node:path";
import type { DeviceFacts, PatchSource } from "@patchpilot/protocol";
import { archName } from "./arch-names.js";
import { findProgram, programToRun } from "./detect.js";
import { readLinuxMachineId } from "./hardware-id.js";
import { detectDnfAutomatic, detectUnattendedUpgrades, detectYumCron } from "./linux-patch-sources.js";
import {
  type DistroFamily,
  distroFamily,
  distroRelease,
  type OsRelease,
  readOptionalFile,
  readOsRelease,
} from "./os-release.js";
import type { CommandRunner } from "./types.js";

export interface LinuxFactsOptions {
  root: string;
  agentVersion: string;
  runner: CommandRunner;
}

const isSuse = (o: OsRelease) =>
  [o.id, ...o.idLike].some((id) => id.includes("suse") || id.startsWith("sle"));

/**
 * The point release beside the release advisories use: Debian's /etc/debian_version (`12.5`),
 * Ubuntu's VERSION (`22.04.4 LTS` → `22.04.4`), elsewhere VERSION_ID when it is more precise than
 * the release (`rhel:9` → `9.3`); empty when there is nothing more precise.
 */
async function pointRelease(root: string, o: OsRelease, release: string): Promise<string> {
  if (o.id === "debian") return (await readOptionalFile(join(root, "etc/debian_version")))?.trim() ?? "";
  if (o.id === "ubuntu") return /^\d+\.\d+(?:\.\d+)?/.exec(o.version)?.[0] ?? o.versionId;
  return release.endsWith(`:${o.versionId}`) ? "" : o.versionId;
}

async function fileExists(root: string, paths: string[]): Promise<boolean> {
  for (const path of paths) if ((await readOptionalFile(join(root, path))) !== null) return true;
  return false;
}

/**
 * Debian and Ubuntu: update-notifier's /var/run/reboot-required. SUSE: zypper's /run/reboot-needed.
 * RHEL and relatives: `needs-restarting -r` (dnf-utils) exits 1 when a reboot is needed, 0 when not;
 * without the tool the answer is no. Alpine has no such signal.
 */
async function rebootRequired(root: string, o: OsRelease, family: DistroFamily, run: CommandRunner) {
  if (family === "dpkg") return fileExists(root, ["var/run/reboot-required", "run/reboot-required"]);
  if (isSuse(o)) return fileExists(root, ["run/reboot-needed", "var/run/reboot-needed"]);
  const tool = family === "rpm" ? await findProgram(root, "needs-restarting") : null;
  if (tool === null) return false;
  try {
    const options = { timeoutMs: 60_000, maxOutputBytes: 1024 * 1024 };
    const result = await run(programToRun(tool, root), ["-r"], options);
    return result.code === 1;
  } catch {
    return false;
  }
}

async function patchSources(root: string, o: OsRelease, family: DistroFamily): Promise<PatchSource[]> {
  if (family === "dpkg") return [await detectUnattendedUpgrades(root)];
  if (family !== "rpm" || isSuse(o)) return [];
  const yumCron = await detectYumCron(root);
  return [await detectDnfAutomatic(root), ...(yumCron ? [yumCron] : [])];
}

const UNKNOWN_OS: OsRelease = {
  id: "linux",
  idLike: [],
  versionId: "",
  name: "Linux",
  prettyName: "",
  version: "",
  versionCodename: "",
};

export async function collectLinuxFacts(
  options: LinuxFactsOptions,
): Promise<{ facts: DeviceFacts; hardwareId: string }> {
  const { root } = options;
  const o = (await readOsRelease(root)) ?? UNKNOWN_OS;
  const family = distroFamily(o);
  const release = distroRelease(o) ?? `${o.id}:unknown`;
  const facts: DeviceFacts = {
    hostname: os.hostname(),
    os: {
      family: "linux",
      name: o.name,
      version: o.versionId || o.versionCodename || "unknown",
      build: await pointRelease(root, o, release),
      release,
    },
    kernel: os.release(),
    arch: archName(os.arch(), family),
    uptimeSeconds: Math.max(0, Math.floor(os.uptime())),
    rebootRequired: await rebootRequired(root, o, family, options.runner),
    agentVersion: options.agentVersion,
    patchSources: await patchSources(root, o, family),
  };
  return { facts, hardwareId: await readLinuxMachineId(root) };
}
