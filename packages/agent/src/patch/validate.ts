import {
  type HookCommand,
  PACKAGE_NAME_PATTERN,
  PACKAGE_VERSION_PATTERN,
  PATCH_MODES,
  type PatchJobPayload,
  type PatchTarget,
  REBOOT_POLICIES,
} from "@patchpilot/protocol";

/** The job was refused before anything ran; the message says which field and why. */
export class PatchJobRefused extends Error {
  constructor(message: string) {
    super(`patch job refused: ${message}`);
    this.name = "PatchJobRefused";
  }
}

const NAME = new RegExp(PACKAGE_NAME_PATTERN);
const VERSION = new RegExp(PACKAGE_VERSION_PATTERN);
/** The protocol's HookCommand.hook and service patterns. */
const HOOK_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const SERVICE = /^[A-Za-z0-9@._-]{1,200}$/;

type Fields = Record<string, unknown>;

const isFields = (value: unknown): value is Fields =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Shown in a refusal: enough to find the bad value, never all of a long one. */
const quoted = (value: unknown) => JSON.stringify(typeof value === "string" ? value.slice(0, 60) : value);

function only(record: Fields, allowed: readonly string[], where: string): void {
  for (const key of Object.keys(record)) {
    if (!allowed.includes(key)) throw new PatchJobRefused(`${where} has an unknown field ${quoted(key)}`);
  }
}

function list(value: unknown, where: string, max: number): unknown[] {
  if (!Array.isArray(value)) throw new PatchJobRefused(`${where} must be a list`);
  if (value.length > max) throw new PatchJobRefused(`${where} has more than ${max} entries`);
  return value;
}

export function isPackageName(value: unknown): value is string {
  return typeof value === "string" && NAME.test(value);
}

export function isPackageVersion(value: unknown): value is string {
  return typeof value === "string" && VERSION.test(value);
}

function packageName(value: unknown, where: string): string {
  if (!isPackageName(value))
    throw new PatchJobRefused(`${where} ${quoted(value)} is not a valid package name`);
  return value;
}

function target(value: unknown, index: number): PatchTarget {
  const where = `packages[${index}]`;
  if (!isFields(value)) throw new PatchJobRefused(`${where} must be an object`);
  only(value, ["name", "version"], where);
  const name = packageName(value.name, `${where}.name`);
  if (value.version === undefined) return { name };
  if (!isPackageVersion(value.version)) {
    throw new PatchJobRefused(`${where}.version ${quoted(value.version)} is not a valid version`);
  }
  return { name, version: value.version };
}

function hook(value: unknown, where: string): HookCommand | null {
  if (value === null) return null;
  if (!isFields(value)) throw new PatchJobRefused(`${where} must be an object or null`);
  only(value, ["hook", "args", "timeoutSeconds"], where);
  if (typeof value.hook !== "string" || !HOOK_NAME.test(value.hook)) {
    throw new PatchJobRefused(`${where}.hook ${quoted(value.hook)} is not a valid hook name`);
  }
  const args = list(value.args, `${where}.args`, 20).map((arg, i) => {
    if (typeof arg !== "string" || arg.length > 500 || arg.includes("\u0000")) {
      throw new PatchJobRefused(`${where}.args[${i}] must be a string of at most 500 characters`);
    }
    return arg;
  });
  const timeout = value.timeoutSeconds;
  if (typeof timeout !== "number" || !Number.isInteger(timeout) || timeout < 1 || timeout > 7200) {
    throw new PatchJobRefused(`${where}.timeoutSeconds must be a whole number from 1 to 7200`);
  }
  return { hook: value.hook, args, timeoutSeconds: timeout };
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], where: string): T {
  const found = allowed.find((a) => a === value);
  if (found === undefined) throw new PatchJobRefused(`${where} must be one of ${allowed.join(", ")}`);
  return found;
}

/**
 * Checks a patch job's payload again on the agent, field by field, whatever the server checked:
 * a name or version that could read as anything but a package (a space, `;`, `$(`, a leading `-`)
 * refuses the whole job before any command runs.
 */
export function validatePatchPayload(payload: unknown): PatchJobPayload {
  if (!isFields(payload)) throw new PatchJobRefused("the payload must be an object");
  only(
    payload,
    [
      "rolloutId",
      "ring",
      "mode",
      "packages",
      "hold",
      "preUpdate",
      "healthCheck",
      "rollbackOnFailure",
      "reboot",
      "maxRebootDeferrals",
    ],
    "the payload",
  );
  const { rolloutId, ring } = payload;
  if (typeof rolloutId !== "string" || rolloutId.length > 36) {
    throw new PatchJobRefused("rolloutId must be a string of at most 36 characters");
  }
  if (typeof ring !== "string" || ring.length > 100) {
    throw new PatchJobRefused("ring must be a string of at most 100 characters");
  }
  const mode = oneOf(payload.mode, PATCH_MODES, "mode");
  const packages = list(payload.packages, "packages", 5000).map(target);
  const hold = list(payload.hold, "hold", 1000).map((h, i) => packageName(h, `hold[${i}]`));
  if (mode === "packages" && packages.length === 0) {
    throw new PatchJobRefused('mode "packages" needs at least one package');
  }
  if (mode !== "packages" && packages.length > 0) {
    throw new PatchJobRefused(`mode "${mode}" installs a class of updates and takes no package list`);
  }
  const names = new Set<string>();
  for (const p of packages) {
    if (names.has(p.name)) throw new PatchJobRefused(`package ${quoted(p.name)} is listed twice`);
    names.add(p.name);
  }
  let healthCheck: PatchJobPayload["healthCheck"] = null;
  if (payload.healthCheck !== null) {
    const check = payload.healthCheck;
    if (!isFields(check)) throw new PatchJobRefused("healthCheck must be an object or null");
    only(check, ["services", "hook"], "healthCheck");
    const services = list(check.services, "healthCheck.services", 50).map((s, i) => {
      if (typeof s !== "string" || !SERVICE.test(s) || s.startsWith("-")) {
        throw new PatchJobRefused(`healthCheck.services[${i}] ${quoted(s)} is not a valid service name`);
      }
      return s;
    });
    healthCheck = { services, hook: hook(check.hook, "healthCheck.hook") };
  }
  if (typeof payload.rollbackOnFailure !== "boolean") {
    throw new PatchJobRefused("rollbackOnFailure must be true or false");
  }
  return {
    rolloutId,
    ring,
    mode,
    packages,
    hold,
    preUpdate: hook(payload.preUpdate, "preUpdate"),
    healthCheck,
    rollbackOnFailure: payload.rollbackOnFailure,
    reboot: oneOf(payload.reboot, REBOOT_POLICIES, "reboot"),
    ...(payload.maxRebootDeferrals === undefined
      ? {}
      : { maxRebootDeferrals: deferralCap(payload.maxRebootDeferrals) }),
  };
}

function deferralCap(value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 50) {
    throw new PatchJobRefused("maxRebootDeferrals must be a whole number from 0 to 50");
  }
  return value;
}
