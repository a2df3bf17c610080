import { HookCommand, REBOOT_POLICIES } from "@patchpilot/protocol";
import Type, { type Static } from "typebox";
import { Uuid } from "../../http/schemas.js";
import { HealthCheck, Hold } from "../schemas.js";

const Nullable = <T extends import("typebox").TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** Which updates beyond the automatic class go out without a person: by severity, KEV, name. */
export const ApprovalRules = Type.Object(
  {
    minSeverity: Type.Optional(Type.Enum(["critical", "high", "medium", "low"])),
    kev: Type.Optional(Type.Boolean()),
    /** Package names, `*` as a wildcard: `openssl`, `lib*`. */
    packages: Type.Optional(
      Type.Array(Type.String({ pattern: "^[A-Za-z0-9*][A-Za-z0-9*+._:@/-]{0,199}$" }), { maxItems: 200 }),
    ),
    /** Also updates that move to a new major version. */
    allowMajor: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type ApprovalRules = Static<typeof ApprovalRules>;

export const PolicyInput = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    groupId: Uuid,
    automatic: Type.Optional(Type.Enum(["none", "security", "all", "dist-upgrade"])),
    approval: Type.Optional(ApprovalRules),
    hold: Type.Optional(Hold),
    reboot: Type.Optional(Type.Enum(REBOOT_POLICIES)),
    maxRebootDeferrals: Type.Optional(Type.Integer({ minimum: 0, maximum: 50 })),
    preUpdate: Type.Optional(Nullable(HookCommand)),
    healthCheck: Type.Optional(Nullable(HealthCheck)),
    rollbackOnFailure: Type.Optional(Type.Boolean()),
    windowId: Type.Optional(Nullable(Uuid)),
    catchUpHours: Type.Optional(Type.Integer({ minimum: 0, maximum: 720 })),
  },
  { additionalProperties: false },
);
export type PolicyInput = Static<typeof PolicyInput>;

export const Policy = Type.Object({
  id: Type.String(),
  name: Type.String(),
  groupId: Type.String(),
  automatic: Type.String(),
  approval: Type.Object({}, { additionalProperties: true }),
  hold: Type.Array(Type.String()),
  reboot: Type.String(),
  maxRebootDeferrals: Type.Integer(),
  preUpdate: Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()]),
  healthCheck: Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()]),
  rollbackOnFailure: Type.Boolean(),
  windowId: Type.Union([Type.String(), Type.Null()]),
  catchUpHours: Type.Integer(),
  updatedAt: Type.String(),
});

export const WindowInput = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    /** Five cron fields: when the window opens (`0 2 * * 6` is Saturdays at 02:00). */
    schedule: Type.String({ minLength: 9, maxLength: 200 }),
    durationMinutes: Type.Integer({ minimum: 15, maximum: 10_080 }),
    /** IANA time zone the schedule is read in: the group's or the site's. */
    timeZone: Type.String({ minLength: 1, maxLength: 64 }),
  },
  { additionalProperties: false },
);

export const Window = Type.Object({
  id: Type.String(),
  name: Type.String(),
  schedule: Type.String(),
  durationMinutes: Type.Integer(),
  timeZone: Type.String(),
  nextOpensAt: Type.String(),
  openNow: Type.Boolean(),
});
