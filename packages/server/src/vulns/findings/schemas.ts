import { SEVERITIES } from "@patchpilot/domain";
import Type, { type TSchema } from "typebox";
import { CursorQuery } from "../../http/pagination.js";
import { Timestamp, Uuid } from "../../http/schemas.js";

/** Request and response shapes of the findings, vulnerabilities and suppressions API. */

export const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

export const SeveritySchema = Type.Enum([...SEVERITIES]);
export const FINDING_STATUSES = ["open", "fixed", "accepted_risk", "false_positive"] as const;
export const SUPPRESSION_KINDS = ["accepted_risk", "false_positive"] as const;
/** OpenVEX's reasons why a product is not affected. */
export const JUSTIFICATIONS = [
  "component_not_present",
  "vulnerable_code_not_present",
  "vulnerable_code_not_in_execute_path",
  "vulnerable_code_cannot_be_controlled_by_adversary",
  "inline_mitigations_already_exist",
] as const;
export type Justification = (typeof JUSTIFICATIONS)[number];

/** A CVE, an alias (DSA-5532-1, GHSA-…, RHSA-2024:1234) or another source's own id. */
export const VulnerabilityId = Type.String({
  minLength: 3,
  maxLength: 100,
  pattern: "^[A-Za-z0-9][A-Za-z0-9._:+-]*$",
});
export const PackageName = Type.String({ minLength: 1, maxLength: 256 });
export const Reason = Type.String({ minLength: 1, maxLength: 2000 });
export const Owner = Type.String({ minLength: 1, maxLength: 200 });
export const JustificationSchema = Type.Enum([...JUSTIFICATIONS]);

export const FindingFilterQuery = {
  deviceId: Type.Optional(Uuid),
  groupId: Type.Optional(Uuid),
  vulnerabilityId: Type.Optional(VulnerabilityId),
  package: Type.Optional(PackageName),
  status: Type.Enum([...FINDING_STATUSES, "all"], { default: "open" }),
  severity: Type.Optional(SeveritySchema),
  kev: Type.Optional(Type.Boolean()),
  overdue: Type.Optional(Type.Boolean()),
  fixAvailable: Type.Optional(Type.Boolean()),
};
export const FindingListQuery = Type.Object(
  { ...CursorQuery, ...FindingFilterQuery },
  { additionalProperties: false },
);
export const FindingExportQuery = Type.Object(FindingFilterQuery, { additionalProperties: false });

export const ScopeSchema = Type.Object(
  {
    type: Type.Enum(["device", "group", "organization"]),
    id: Type.Optional(Uuid),
  },
  { additionalProperties: false },
);

export const SuppressionSummary = Type.Object({
  id: Type.String(),
  kind: Type.String(),
  reason: Type.String(),
  owner: Type.String(),
  justification: Nullable(Type.String()),
  expiresAt: Nullable(Type.String()),
  scope: Type.Object({ type: Type.String(), id: Nullable(Type.String()) }),
});

export const Finding = Type.Object({
  id: Type.String(),
  device: Type.Object({ id: Type.String(), hostname: Type.String() }),
  vulnerability: Type.Object({
    id: Type.String(),
    severity: Type.String(),
    cvssScore: Nullable(Type.Number()),
    epss: Nullable(Type.Number()),
    epssPercentile: Nullable(Type.Number()),
    kev: Type.Boolean(),
  }),
  severity: Type.String({ description: "The distribution's rating of this package where it gives one." }),
  package: Type.Object({ name: Type.String(), arch: Type.String() }),
  installedVersion: Type.String(),
  fixedVersion: Nullable(Type.String({ description: "Null: no fix is available yet." })),
  rangeStatus: Type.String({
    description: "What the advisory says: fixed, affected (no fix yet), will_not_fix, end_of_life, …",
  }),
  status: Type.String(),
  risk: Type.Number(),
  firstSeenAt: Type.String(),
  slaDueAt: Type.String(),
  overdue: Type.Boolean(),
  closedAt: Nullable(Type.String()),
  suppression: Nullable(SuppressionSummary),
});

export const Suppression = Type.Object({
  id: Type.String(),
  vulnerabilityId: Type.String(),
  packageName: Nullable(Type.String()),
  scope: Type.Object({ type: Type.String(), id: Nullable(Type.String()) }),
  kind: Type.String(),
  justification: Nullable(Type.String()),
  reason: Type.String(),
  owner: Type.String(),
  createdBy: Nullable(Type.String()),
  createdAt: Type.String(),
  expiresAt: Nullable(Type.String()),
  revokedAt: Nullable(Type.String()),
  state: Type.Enum(["active", "expired", "revoked"]),
  findingCount: Type.Integer({ description: "Findings this suppression decides now." }),
});

export const SuppressionInput = Type.Object(
  {
    vulnerabilityId: VulnerabilityId,
    packageName: Type.Optional(PackageName),
    scope: ScopeSchema,
    kind: Type.Enum([...SUPPRESSION_KINDS]),
    reason: Reason,
    owner: Owner,
    expiresAt: Type.Optional(Timestamp),
    justification: Type.Optional(JustificationSchema),
  },
  { additionalProperties: false },
);

export const FindingDecision = Type.Object(
  {
    status: Type.Enum(["open", ...SUPPRESSION_KINDS]),
    reason: Reason,
    owner: Type.Optional(Owner),
    expiresAt: Type.Optional(Timestamp),
    justification: Type.Optional(JustificationSchema),
  },
  { additionalProperties: false },
);

export const SlaDays = Type.Object(
  {
    critical: Type.Integer({ minimum: 1, maximum: 3650 }),
    high: Type.Integer({ minimum: 1, maximum: 3650 }),
    medium: Type.Integer({ minimum: 1, maximum: 3650 }),
    low: Type.Integer({ minimum: 1, maximum: 3650 }),
  },
  { additionalProperties: false },
);
