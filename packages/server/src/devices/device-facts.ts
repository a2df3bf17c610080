import { hash } from "node:crypto";
import type { DeviceFacts } from "@patchpilot/protocol";

/**
 * A fingerprint of what a device says about itself, leaving out uptime (which changes on every
 * check-in): when it is unchanged, a check-in writes nothing.
 */
export function factsFingerprint(facts: DeviceFacts): Buffer {
  const { os } = facts;
  const text = JSON.stringify([
    facts.hostname,
    os.family,
    os.name,
    os.version,
    os.build,
    os.release,
    facts.kernel,
    facts.arch,
    facts.rebootRequired,
    facts.agentVersion,
    facts.patchSources.map((p) => [p.mechanism, p.automaticInstall, p.detail ?? null]),
  ]);
  return hash("sha256", text, "buffer").subarray(0, 16);
}

/** The devices-table columns that hold a device's facts. */
export function factsColumns(facts: DeviceFacts) {
  return {
    hostname: facts.hostname,
    os_family: facts.os.family,
    os_name: facts.os.name,
    os_version: facts.os.version,
    os_build: facts.os.build,
    os_release: facts.os.release,
    kernel: facts.kernel,
    arch: facts.arch,
    agent_version: facts.agentVersion,
    reboot_required: facts.rebootRequired,
    patch_sources: JSON.stringify(facts.patchSources),
    facts_hash: factsFingerprint(facts),
  };
}

/** When the device booted, from its uptime. */
export function bootTime(facts: DeviceFacts, now: number): number {
  return now - facts.uptimeSeconds * 1000;
}
