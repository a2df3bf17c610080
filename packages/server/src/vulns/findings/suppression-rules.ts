import type { OrganizationTransaction } from "../../db/database.js";
import { AppError } from "../../http/errors.js";
import type { RequestContext } from "../../http/route.js";
import type { Justification } from "./schemas.js";
import { type CoverageChange, countFor, reconcileFindings } from "./suppression-coverage.js";
import { resolveVulnerability } from "./vulnerability-ids.js";

export interface SuppressionInput {
  vulnerabilityId: string;
  packageName?: string;
  scope: { type: "device" | "group" | "organization"; id?: string };
  kind: "accepted_risk" | "false_positive";
  reason: string;
  owner: string;
  expiresAt?: string;
  justification?: Justification;
}

/**
 * The rules a decision must keep before anything is read: an accepted risk is for a time (it must
 * expire, in the future), a justification explains a false positive only, and the scope names an
 * id exactly when it is a device or a group. `prefix` is where the fields sit in the request.
 */
export function checkDecision(
  input: { kind: string; reason: string; expiresAt?: string; justification?: string },
  prefix = "body",
  now = Date.now(),
): void {
  if (input.reason.trim() === "") {
    throw new AppError("request.invalid", {
      field: `${prefix}/reason`,
      message: `${prefix}/reason is empty.`,
    });
  }
  if (input.kind === "accepted_risk" && input.expiresAt === undefined) {
    throw new AppError("request.invalid", {
      field: `${prefix}/expiresAt`,
      message: `${prefix}/expiresAt is required: an accepted risk is accepted until a date, then looked at again.`,
    });
  }
  if (input.expiresAt !== undefined && Date.parse(input.expiresAt) <= now) {
    throw new AppError("request.invalid", {
      field: `${prefix}/expiresAt`,
      message: `${prefix}/expiresAt must be in the future.`,
    });
  }
  if (input.justification !== undefined && input.kind !== "false_positive") {
    throw new AppError("request.invalid", {
      field: `${prefix}/justification`,
      message: `${prefix}/justification explains a false positive only.`,
    });
  }
}

function checkScope(scope: SuppressionInput["scope"]): void {
  if ((scope.type === "organization") !== (scope.id === undefined)) {
    throw new AppError("request.invalid", {
      field: "body/scope/id",
      message:
        scope.type === "organization"
          ? "body/scope/id must be left out for the whole organisation."
          : `body/scope/id is required for a ${scope.type} scope.`,
    });
  }
}

/** The scope's device or group, looked up through the organisation's handle: another tenant's id is 404. */
async function assertScopeTarget(
  tx: OrganizationTransaction,
  scope: SuppressionInput["scope"],
): Promise<void> {
  if (scope.type === "device" && scope.id !== undefined) {
    const row = await tx.db.selectFrom("devices").select("id").where("id", "=", scope.id).executeTakeFirst();
    if (!row) throw new AppError("devices.not_found", { field: "body/scope/id" });
  }
  if (scope.type === "group" && scope.id !== undefined) {
    const row = await tx.db
      .selectFrom("device_groups")
      .select("id")
      .where("id", "=", scope.id)
      .executeTakeFirst();
    if (!row) throw new AppError("device_groups.not_found", { field: "body/scope/id" });
  }
}

/**
 * Records a decision and applies it to the findings it covers, with its audit row: who decided is
 * the request's actor; why and until when are in the details. The owner is kept on the suppression
 * only: audit rows name people by id, so erasing a person never breaks the chain.
 */
export async function insertSuppression(
  tx: OrganizationTransaction,
  ctx: RequestContext,
  input: SuppressionInput,
  via: { findingId: string } | null = null,
): Promise<{ id: string; vulnerabilityId: string; changes: CoverageChange[] }> {
  checkScope(input.scope);
  checkDecision(input);
  const vulnerabilityId = await resolveVulnerability(tx, input.vulnerabilityId, "body/vulnerabilityId");
  await assertScopeTarget(tx, input.scope);
  const row = await tx.db
    .insertInto("suppressions")
    .values({
      vulnerability_id: vulnerabilityId,
      package_name: input.packageName ?? null,
      scope_type: input.scope.type,
      scope_id: input.scope.id ?? null,
      kind: input.kind,
      justification: input.justification ?? null,
      reason: input.reason,
      owner: input.owner,
      created_by: ctx.user?.id ?? null,
      expires_at: input.expiresAt ? new Date(input.expiresAt) : null,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  const changes = await reconcileFindings(tx, [vulnerabilityId]);
  tx.audit({
    action: "suppressions.created",
    target: { type: "suppression", id: row.id },
    details: {
      vulnerabilityId,
      packageName: input.packageName ?? null,
      scope: { type: input.scope.type, id: input.scope.id ?? null },
      kind: input.kind,
      justification: input.justification ?? null,
      reason: input.reason,
      expiresAt: input.expiresAt ? new Date(input.expiresAt).toISOString() : null,
      findingsCovered: countFor(changes, row.id).covered,
      ...(via ? { findingId: via.findingId } : {}),
    },
  });
  return { id: row.id, vulnerabilityId, changes };
}

/** Revokes an active suppression; its findings fall back to a wider decision or to open. */
export async function revokeSuppressionIn(
  tx: OrganizationTransaction,
  suppressionId: string,
  via: { findingId: string; reason: string } | null = null,
): Promise<CoverageChange[]> {
  const row = await tx.db
    .updateTable("suppressions")
    .set({ revoked_at: new Date() })
    .where("id", "=", suppressionId)
    .where("revoked_at", "is", null)
    .returning(["id", "vulnerability_id", "kind", "scope_type", "scope_id", "package_name", "expires_at"])
    .executeTakeFirst();
  if (!row) {
    const exists = await tx.db
      .selectFrom("suppressions")
      .select("id")
      .where("id", "=", suppressionId)
      .executeTakeFirst();
    throw new AppError(exists ? "suppressions.already_revoked" : "suppressions.not_found");
  }
  const changes = await reconcileFindings(tx, [row.vulnerability_id]);
  tx.audit({
    action: "suppressions.revoked",
    target: { type: "suppression", id: row.id },
    details: {
      vulnerabilityId: row.vulnerability_id,
      packageName: row.package_name,
      scope: { type: row.scope_type, id: row.scope_id },
      kind: row.kind,
      expiresAt: row.expires_at?.toISOString() ?? null,
      findingsReleased: countFor(changes, row.id).released,
      ...(via ? { findingId: via.findingId, reason: via.reason } : {}),
    },
  });
  return changes;
}
