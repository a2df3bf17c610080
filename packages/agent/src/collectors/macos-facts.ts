import os from "node:os";
import type { DeviceFacts, PatchSource } from "@patchpilot/protocol";
import { archName } from "./arch-names.js";
import { isValidHardwareId } from "./hardware-id.js";
import { firstLine } from "./text.js";
import type { CommandRunner } from "./types.js";

export interface SwVers {
  productName: string;
  productVersion: string;
  buildVersion: string;
}

/** Parses `sw_vers`: `ProductName:\tmacOS`, `ProductVersion:\t14.4.1`, `BuildVersion:\t23E224`. */
export function parseSwVers(text: string): SwVers {
  const fields = new Map<string, string>();
  for (const line of text.split("\n")) {
    const match = /^(\w+):\s*(.*?)\s*$/.exec(line);
    if (match) fields.set(match[1]!, match[2]!);
  }
  const productVersion = fields.get("ProductVersion") ?? "";
  if (!/^\d+(\.\d+)*$/.test(productVersion)) throw new Error("sw_vers: no ProductVersion");
  return {
    productName: fields.get("ProductName") || "macOS",
    productVersion,
    buildVersion: fields.get("BuildVersion") ?? "",
  };
}

/** `macos:14`. Before macOS 11 the second number was the release (10.15 Catalina), so `macos:10.15`. */
export function macosRelease(productVersion: string): string {
  const [major = "", minor = "0"] = productVersion.split(".");
  return major === "10" ? `macos:10.${minor}` : `macos:${major}`;
}

/** `"IOPlatformUUID" = "0A1B2C3D-..."` from `ioreg -rd1 -c IOPlatformExpertDevice`. */
export function parseIoregPlatformUuid(text: string): string | null {
  return /"IOPlatformUUID"\s*=\s*"([^"]+)"/.exec(text)?.[1] ?? null;
}

const QUICK = { timeoutMs: 30_000, maxOutputBytes: 1024 * 1024 };

async function readDefault(runner: CommandRunner, domain: string, key: string): Promise<string | null> {
  try {
    const result = await runner("/usr/bin/defaults", ["read", domain, key], QUICK);
    return result.code === 0 ? result.stdout.trim() : null;
  } catch {
    return null;
  }
}

/**
 * A configuration profile's setting (Managed Preferences) wins over the local one. A key that is
 * not set leaves macOS's default, which depends on the version, so the answer is null.
 */
async function preferencePatchSource(
  runner: CommandRunner,
  mechanism: string,
  domain: string,
  key: string,
): Promise<PatchSource> {
  for (const dir of ["/Library/Managed Preferences", "/Library/Preferences"]) {
    const value = await readDefault(runner, `${dir}/${domain}`, key);
    if (value === "1" || value === "0") {
      return { mechanism, automaticInstall: value === "1", detail: `${key} = ${value} (${dir})` };
    }
  }
  return { mechanism, automaticInstall: null, detail: `${key} not set` };
}

async function run(runner: CommandRunner, file: string, args: string[]): Promise<string> {
  const result = await runner(file, args, QUICK);
  if (result.code !== 0) throw new Error(`${file} exited with ${result.code}: ${firstLine(result.stderr)}`);
  return result.stdout;
}

export async function readSwVers(runner: CommandRunner): Promise<SwVers> {
  return parseSwVers(await run(runner, "/usr/bin/sw_vers", []));
}

export async function collectMacosFacts(
  runner: CommandRunner,
  agentVersion: string,
): Promise<{ facts: DeviceFacts; hardwareId: string }> {
  const vers = await readSwVers(runner);
  const uuid = parseIoregPlatformUuid(
    await run(runner, "/usr/sbin/ioreg", ["-rd1", "-c", "IOPlatformExpertDevice"]),
  );
  if (uuid === null || !isValidHardwareId(uuid)) throw new Error("macos: no IOPlatformUUID");
  const facts: DeviceFacts = {
    hostname: os.hostname(),
    os: {
      family: "macos",
      name: vers.productName,
      version: vers.productVersion,
      build: vers.buildVersion,
      release: macosRelease(vers.productVersion),
    },
    kernel: os.release(),
    arch: archName(os.arch(), "macos"),
    uptimeSeconds: Math.max(0, Math.floor(os.uptime())),
    // macOS keeps no "reboot pending" marker; updates that need a restart say so when installed.
    rebootRequired: false,
    agentVersion,
    patchSources: [
      await preferencePatchSource(
        runner,
        "macos-softwareupdate",
        "com.apple.SoftwareUpdate",
        "AutomaticallyInstallMacOSUpdates",
      ),
      await preferencePatchSource(runner, "app-store", "com.apple.commerce", "AutoUpdate"),
    ],
  };
  return { facts, hardwareId: uuid };
}
