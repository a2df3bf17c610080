import { HookCommand, PACKAGE_NAME_PATTERN, PatchTarget, REBOOT_POLICIES } from "@patchpilot/protocol";
import Type, { type Static } from "typebox";
import { Uuid } from "../http/schemas.js";

const Nullable = <T extends import("typebox").TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const HealthCheck = Type.Object(
  {
    services: Type.Array(Type.String({ pattern: "^[A-Za-z0-9@._-]{1,200}$" }), { maxItems: 50 }),
    hook: Nullable(HookCommand),
  },
  { additionalProperties: false },
);
export type HealthCheck = Static<typeof HealthCheck>;

export const Hold = Type.Array(Type.String({ pattern: PACKAGE_NAME_PATTERN }), { maxItems: 1000 });

export const RingInput = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    groupIds: Type.Array(Uuid, { minItems: 1, maxItems: 100 }),
    /** The gate: the share of the ring's devices that must succeed, in percent. */
    successPercent: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
    /** Minutes to wait after the ring's last device before it may be promoted (default 24 hours). */
    soakMinutes: Type.Optional(Type.Integer({ minimum: 0, maximum: 43_200 })),
    requireApproval: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type RingInput = Static<typeof RingInput>;

export const RolloutInput = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    mode: Type.Enum(["packages", "security", "all", "dist-upgrade"]),
    /** For mode `packages`: what to install (and to which version). */
    packages: Type.Optional(Type.Array(PatchTarget, { maxItems: 5000 })),
    /** For mode `packages`, instead of naming them: fix these vulnerabilities' open findings. */
    fixVulnerabilities: Type.Optional(
      Type.Array(Type.String({ minLength: 3, maxLength: 100, pattern: "^[A-Za-z0-9][A-Za-z0-9:._-]*$" }), {
        minItems: 1,
        maxItems: 500,
      }),
    ),
    rings: Type.Array(RingInput, { minItems: 1, maxItems: 10 }),
    hold: Type.Optional(Hold),
    preUpdate: Type.Optional(Nullable(HookCommand)),
    healthCheck: Type.Optional(Nullable(HealthCheck)),
    rollbackOnFailure: Type.Optional(Type.Boolean()),
    reboot: Type.Optional(Type.Enum(REBOOT_POLICIES)),
    maxRebootDeferrals: Type.Optional(Type.Integer({ minimum: 0, maximum: 50 })),
    windowId: Type.Optional(Nullable(Uuid)),
    maxAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 })),
    deviceTimeoutHours: Type.Optional(Type.Integer({ minimum: 1, maximum: 720 })),
  },
  { additionalProperties: false },
);
export type RolloutInput = Static<typeof RolloutInput>;

const Counts = Type.Object({
  total: Type.Integer(),
  pending: Type.Integer(),
  waitingWindow: Type.Integer(),
  queued: Type.Integer(),
  delivered: Type.Integer(),
  succeeded: Type.Integer(),
  failed: Type.Integer(),
  skipped: Type.Integer(),
  healthFailed: Type.Integer(),
  verified: Type.Integer(),
});

export const Ring = Type.Object({
  position: Type.Integer(),
  name: Type.String(),
  groupIds: Type.Array(Type.String()),
  gate: Type.Object({
    successPercent: Type.Number(),
    soakMinutes: Type.Integer(),
    requireApproval: Type.Boolean(),
  }),
  state: Type.String(),
  startedAt: Nullable(Type.String()),
  settledAt: Nullable(Type.String()),
  passedAt: Nullable(Type.String()),
  approvedAt: Nullable(Type.String()),
  measured: Type.Object({}, { additionalProperties: true }),
  counts: Counts,
});

export const Rollout = Type.Object({
  id: Type.String(),
  name: Type.String(),
  state: Type.String(),
  mode: Type.String(),
  packages: Type.Array(Type.Object({ name: Type.String(), version: Type.Optional(Type.String()) })),
  hold: Type.Array(Type.String()),
  reboot: Type.String(),
  windowId: Nullable(Type.String()),
  currentRing: Type.Integer(),
  haltedReason: Nullable(Type.String()),
  createdAt: Type.String(),
  finishedAt: Nullable(Type.String()),
  estimatedCompletionAt: Nullable(Type.String()),
  rings: Type.Array(Ring),
});

const StepView = Type.Object({ status: Type.String(), exitCode: Nullable(Type.Integer()) });

export const RolloutDevice = Type.Object({
  deviceId: Type.String(),
  hostname: Type.String(),
  ring: Type.Integer(),
  state: Type.String(),
  attempts: Type.Integer(),
  nextAttemptAt: Nullable(Type.String()),
  reason: Nullable(Type.String()),
  health: Nullable(Type.String()),
  verified: Nullable(Type.String()),
  logExcerpt: Nullable(Type.String()),
  /** Each step of the device's last job: succeeded, failed or skipped, with its exit code. */
  steps: Nullable(
    Type.Object({
      preUpdate: StepView,
      install: Type.Object({ exitCode: Nullable(Type.Integer()) }),
      healthCheck: StepView,
      rollback: StepView,
      rebootRequired: Type.Boolean(),
    }),
  ),
  packages: Type.Array(Type.Object({}, { additionalProperties: true })),
  updatedAt: Type.String(),
});
