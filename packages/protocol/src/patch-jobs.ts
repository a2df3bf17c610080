/**
 * The patch job: what the server asks an agent to install, how to make it safe (a step before,
 * a health check after, rollback), and what the agent reports back per package. Commands are argv
 * arrays, never shell text; the agent runs only hooks installed in its own hooks directory.
 */
import Type, { type Static } from "typebox";

/** Package names as the package managers spell them: no spaces, no shell metacharacters. */
export const PACKAGE_NAME_PATTERN = "^[A-Za-z0-9][A-Za-z0-9+._:@/-]{0,199}$";
/** A version or KB id: the same, plus `~` and `^` (dpkg and rpm orderings). */
export const PACKAGE_VERSION_PATTERN = "^[A-Za-z0-9][A-Za-z0-9+.~^_:-]{0,199}$";

export const PACKAGE_MANAGERS = [
  "apt",
  "dnf",
  "yum",
  "zypper",
  "apk",
  "windows-update",
  "winget",
  "softwareupdate",
] as const;
export type PackageManager = (typeof PACKAGE_MANAGERS)[number];

/** What to install: named packages (to a version, or the newest), or a class of updates. */
export const PATCH_MODES = ["packages", "security", "all", "dist-upgrade"] as const;
export type PatchMode = (typeof PATCH_MODES)[number];

export const REBOOT_POLICIES = ["never", "if_required", "always"] as const;
export type RebootPolicy = (typeof REBOOT_POLICIES)[number];

export const PatchTarget = Type.Object(
  {
    name: Type.String({ pattern: PACKAGE_NAME_PATTERN }),
    /** The version to install; absent: the newest the repositories offer. For Windows, the KB. */
    version: Type.Optional(Type.String({ pattern: PACKAGE_VERSION_PATTERN })),
  },
  { additionalProperties: false },
);
export type PatchTarget = Static<typeof PatchTarget>;

/** A hook: a program in the agent's hooks directory, by file name, with arguments. */
export const HookCommand = Type.Object(
  {
    hook: Type.String({ pattern: "^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$" }),
    args: Type.Array(Type.String({ maxLength: 500, pattern: "^[^\\u0000]*$" }), { maxItems: 20 }),
    timeoutSeconds: Type.Integer({ minimum: 1, maximum: 7200 }),
  },
  { additionalProperties: false },
);
export type HookCommand = Static<typeof HookCommand>;

export const PatchJobPayload = Type.Object(
  {
    rolloutId: Type.String({ maxLength: 36 }),
    ring: Type.String({ maxLength: 100 }),
    mode: Type.Enum(PATCH_MODES),
    packages: Type.Array(PatchTarget, { maxItems: 5000 }),
    /** Never touched, whatever the mode (held). */
    hold: Type.Array(Type.String({ pattern: PACKAGE_NAME_PATTERN }), { maxItems: 1000 }),
    /** Before installing: a snapshot or backup. If it fails, nothing is installed. */
    preUpdate: Type.Union([HookCommand, Type.Null()]),
    /** After installing: services that must be active, and a hook that must succeed. */
    healthCheck: Type.Union([
      Type.Object(
        {
          services: Type.Array(Type.String({ pattern: "^[A-Za-z0-9@._-]{1,200}$" }), { maxItems: 50 }),
          hook: Type.Union([HookCommand, Type.Null()]),
        },
        { additionalProperties: false },
      ),
      Type.Null(),
    ]),
    /** On a failed install or health check: restore the previous versions (where the manager can). */
    rollbackOnFailure: Type.Boolean(),
    reboot: Type.Enum(REBOOT_POLICIES),
    /**
     * How many times in a row the device may put off a reboot the policy calls for (its
     * `defer-reboot` hook says now is a bad time); the next one after that is not put off.
     */
    maxRebootDeferrals: Type.Optional(Type.Integer({ minimum: 0, maximum: 50 })),
  },
  { additionalProperties: false },
);
export type PatchJobPayload = Static<typeof PatchJobPayload>;

export const PACKAGE_RESULTS = ["installed", "unchanged", "failed", "rolled_back", "skipped"] as const;
export type PackageResult = (typeof PACKAGE_RESULTS)[number];

const Excerpt = Type.String({ maxLength: 4096 });

export const PackageOutcome = Type.Object(
  {
    name: Type.String({ maxLength: 200 }),
    fromVersion: Type.Union([Type.String({ maxLength: 200 }), Type.Null()]),
    toVersion: Type.Union([Type.String({ maxLength: 200 }), Type.Null()]),
    result: Type.Enum(PACKAGE_RESULTS),
    reason: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: false },
);
export type PackageOutcome = Static<typeof PackageOutcome>;

export const StepOutcome = Type.Object(
  {
    status: Type.Enum(["succeeded", "failed", "skipped"]),
    exitCode: Type.Union([Type.Integer(), Type.Null()]),
    log: Excerpt,
  },
  { additionalProperties: false },
);
export type StepOutcome = Static<typeof StepOutcome>;

/** What the agent reports of a patch job, beside the job's outcome. */
export const PatchJobResult = Type.Object(
  {
    packageManager: Type.Enum(PACKAGE_MANAGERS),
    preUpdate: StepOutcome,
    install: Type.Object(
      { exitCode: Type.Union([Type.Integer(), Type.Null()]), log: Excerpt },
      { additionalProperties: false },
    ),
    healthCheck: StepOutcome,
    rollback: StepOutcome,
    packages: Type.Array(PackageOutcome, { maxItems: 5000 }),
    rebootRequired: Type.Boolean(),
    rebooting: Type.Boolean(),
    /** Set when the reboot was put off: the deferrals in a row so far, this one included. */
    rebootDeferrals: Type.Optional(Type.Integer({ minimum: 1, maximum: 50 })),
  },
  { additionalProperties: false },
);
export type PatchJobResult = Static<typeof PatchJobResult>;
