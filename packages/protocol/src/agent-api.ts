import Type, { type Static } from "typebox";
import { DeviceFacts, HardwareId } from "./facts.js";
import { AvailableUpdate, INVENTORY_LIMITS } from "./inventory.js";
import { InventoryHashSchema } from "./inventory-hash.js";
import { EntryLine, WireInventory } from "./inventory-lines.js";
import { PatchJobResult } from "./patch-jobs.js";

/**
 * The agent⇄server messages. Every agent route lives under /api/v1/agent; a device route names
 * the device in its path and is authenticated by that device's `ppdt_` token in
 * `Authorization: Bearer`. Enrolment is authenticated by an organisation's `ppk_` token.
 */
export const AGENT_API = {
  enroll: "/api/v1/agent/enroll",
  device: (deviceId: string) => `/api/v1/agent/devices/${encodeURIComponent(deviceId)}`,
} as const;

const ReportId = Type.String({
  format: "uuid",
  maxLength: 36,
  description: "Chosen by the agent; a report sent twice is applied once.",
});

export const EnrollRequest = Type.Object(
  {
    hardwareId: HardwareId,
    facts: DeviceFacts,
  },
  { additionalProperties: false },
);
export type EnrollRequest = Static<typeof EnrollRequest>;

export const EnrollResponse = Type.Object({
  deviceId: Type.String(),
  organizationId: Type.String(),
  deviceToken: Type.String({ description: "The device's own credential (ppdt_…); shown only here." }),
  checkInIntervalSeconds: Type.Integer(),
  reenrolled: Type.Boolean({ description: "True when an existing device on this machine was taken over." }),
});
export type EnrollResponse = Static<typeof EnrollResponse>;

export const CheckInRequest = Type.Object(
  {
    facts: DeviceFacts,
    inventoryHash: InventoryHashSchema,
    /** Reports waiting in the agent's local queue (they follow the check-in). */
    queuedReports: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
  },
  { additionalProperties: false },
);
export type CheckInRequest = Static<typeof CheckInRequest>;

export const JOB_KINDS = ["inventory", "patch"] as const;
export type JobKind = (typeof JOB_KINDS)[number];

export const Job = Type.Object({
  id: Type.String(),
  kind: Type.Enum(JOB_KINDS),
  payload: Type.Object({}, { additionalProperties: true }),
  createdAt: Type.String(),
  expiresAt: Type.String(),
});
export type Job = Static<typeof Job>;

/** What the server wants of the inventory: nothing, the changes since `knownInventoryHash`, or all of it. */
export const INVENTORY_REQUESTS = ["current", "send_changes", "send_full"] as const;
export type InventoryRequest = (typeof INVENTORY_REQUESTS)[number];

export const CheckInResponse = Type.Object({
  serverTime: Type.String(),
  nextCheckInSeconds: Type.Integer(),
  inventory: Type.Enum(INVENTORY_REQUESTS),
  /** The inventory hash the server holds for this device, the base for `send_changes`. */
  knownInventoryHash: Type.Union([Type.String(), Type.Null()]),
  jobs: Type.Array(Job),
  /** The server asks the agent to rotate its device token (it is old, or an operator asked). */
  rotateToken: Type.Boolean(),
});
export type CheckInResponse = Static<typeof CheckInResponse>;

export const FullInventoryUpload = Type.Object(
  {
    reportId: ReportId,
    inventory: WireInventory,
  },
  { additionalProperties: false },
);
export type FullInventoryUpload = Static<typeof FullInventoryUpload>;

const ChangeList = <T extends import("typebox").TSchema>(item: T, max: number) =>
  Type.Object(
    {
      added: Type.Array(item, { maxItems: max }),
      removed: Type.Array(item, { maxItems: max }),
    },
    { additionalProperties: false },
  );

/**
 * The changes since the inventory the server holds (`baseHash`), as lines. Removed entries are
 * sent whole, so the server can take their digests out of the hash without keeping their text.
 */
export const InventoryChangesUpload = Type.Object(
  {
    reportId: ReportId,
    baseHash: InventoryHashSchema,
    inventoryHash: InventoryHashSchema,
    packages: ChangeList(EntryLine, INVENTORY_LIMITS.maxPackages),
    updates: ChangeList(AvailableUpdate, INVENTORY_LIMITS.maxUpdates),
  },
  { additionalProperties: false },
);
export type InventoryChangesUpload = Static<typeof InventoryChangesUpload>;

export const InventoryAccepted = Type.Object({
  inventoryHash: Type.String(),
  packageCount: Type.Integer(),
  duplicate: Type.Boolean({ description: "This report id was already applied; nothing changed." }),
});
export type InventoryAccepted = Static<typeof InventoryAccepted>;

export const JOB_OUTCOMES = ["succeeded", "failed"] as const;

export const JobResultReport = Type.Object(
  {
    reportId: ReportId,
    jobId: Type.String({ format: "uuid", maxLength: 36 }),
    outcome: Type.Enum(JOB_OUTCOMES),
    startedAt: Type.String({ format: "date-time", maxLength: 40 }),
    finishedAt: Type.String({ format: "date-time", maxLength: 40 }),
    summary: Type.String({ maxLength: 1000 }),
    /** The end of the job's output, bounded by the agent. */
    logExcerpt: Type.Optional(Type.String({ maxLength: 16_384 })),
    /** A patch job's per-package outcome and steps. */
    patch: Type.Optional(PatchJobResult),
  },
  { additionalProperties: false },
);
export type JobResultReport = Static<typeof JobResultReport>;

export const ReportAccepted = Type.Object({ duplicate: Type.Boolean() });

export const JobsResponse = Type.Object({ jobs: Type.Array(Job) });
export type JobsResponse = Static<typeof JobsResponse>;

export const TokenRotationResponse = Type.Object({
  deviceToken: Type.String({
    description: "The new token; the old one stops working once this one is used.",
  }),
});
export type TokenRotationResponse = Static<typeof TokenRotationResponse>;

/** The longest a jobs long-poll is held open. */
export const MAX_JOB_WAIT_SECONDS = 55;
