import type { Database } from "../../db/database.js";
import { AppError } from "../../http/errors.js";
import { type RequestContext, scopeOf } from "../../http/route.js";
import type { PolicyInput } from "./policy-schemas.js";

export interface PolicyView extends Required<Omit<PolicyInput, "approval">> {
  id: string;
  approval: PolicyInput["approval"];
  updatedAt: string;
}

type PolicyRow = {
  id: string;
  name: string;
  group_id: string;
  automatic: string;
  approval: unknown;
  hold: string[];
  reboot: string;
  max_reboot_deferrals: number;
  pre_update: unknown;
  health_check: unknown;
  rollback_on_failure: boolean;
  window_id: string | null;
  catch_up_hours: number;
  updated_at: Date;
};

export function policyView(r: PolicyRow): PolicyView {
  return {
    id: r.id,
    name: r.name,
    groupId: r.group_id,
    automatic: r.automatic as PolicyView["automatic"],
    approval: (r.approval ?? {}) as PolicyView["approval"],
    hold: r.hold,
    reboot: r.reboot as PolicyView["reboot"],
    maxRebootDeferrals: r.max_reboot_deferrals,
    preUpdate: (r.pre_update ?? null) as PolicyView["preUpdate"],
    healthCheck: (r.health_check ?? null) as PolicyView["healthCheck"],
    rollbackOnFailure: r.rollback_on_failure,
    windowId: r.window_id,
    catchUpHours: r.catch_up_hours,
    updatedAt: r.updated_at.toISOString(),
  };
}

function columns(input: PolicyInput) {
  return {
    name: input.name,
    group_id: input.groupId,
    automatic: input.automatic ?? "security",
    approval: JSON.stringify(input.approval ?? {}),
    hold: input.hold ?? [],
    reboot: input.reboot ?? "if_required",
    max_reboot_deferrals: input.maxRebootDeferrals ?? 3,
    pre_update: input.preUpdate ? JSON.stringify(input.preUpdate) : null,
    health_check: input.healthCheck ? JSON.stringify(input.healthCheck) : null,
    rollback_on_failure: input.rollbackOnFailure ?? true,
    window_id: input.windowId ?? null,
    catch_up_hours: input.catchUpHours ?? 24,
  };
}

const isUniqueViolation = (error: unknown) => (error as { code?: string }).code === "23505";

async function checkReferences(
  tx: Parameters<Parameters<Database["withOrganization"]>[2]>[0],
  input: PolicyInput,
): Promise<void> {
  const group = await tx.db
    .selectFrom("device_groups")
    .select("id")
    .where("id", "=", input.groupId)
    .executeTakeFirst();
  if (!group) throw new AppError("policies.group_not_found", { field: "body/groupId" });
  if (input.windowId) {
    const window = await tx.db
      .selectFrom("maintenance_windows")
      .select("id")
      .where("id", "=", input.windowId)
      .executeTakeFirst();
    if (!window) throw new AppError("rollouts.window_not_found", { field: "body/windowId" });
  }
}

export async function listPolicies(db: Database, ctx: RequestContext): Promise<PolicyView[]> {
  return db.withOrganization(scopeOf(ctx).organizationId, ctx, async (tx) =>
    (await tx.db.selectFrom("patch_policies").selectAll().orderBy("name").execute()).map(policyView),
  );
}

export async function savePolicy(
  db: Database,
  ctx: RequestContext,
  input: PolicyInput,
  id: string | null,
): Promise<PolicyView> {
  try {
    return await db.withOrganization(scopeOf(ctx).organizationId, ctx, async (tx) => {
      await checkReferences(tx, input);
      const row = id
        ? await tx.db
            .updateTable("patch_policies")
            .set({ ...columns(input), updated_at: new Date() })
            .where("id", "=", id)
            .returningAll()
            .executeTakeFirst()
        : await tx.db.insertInto("patch_policies").values(columns(input)).returningAll().executeTakeFirst();
      if (!row) throw new AppError("policies.not_found");
      tx.audit({
        action: id ? "patch_policies.updated" : "patch_policies.created",
        target: { type: "patch_policy", id: row.id },
        details: { ...input },
      });
      return policyView(row);
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw new AppError("policies.name_taken", { field: "body/name" });
    throw error;
  }
}

export async function deletePolicy(db: Database, ctx: RequestContext, id: string): Promise<void> {
  await db.withOrganization(scopeOf(ctx).organizationId, ctx, async (tx) => {
    const gone = await tx.db
      .deleteFrom("patch_policies")
      .where("id", "=", id)
      .returning("name")
      .executeTakeFirst();
    if (!gone) throw new AppError("policies.not_found");
    tx.audit({
      action: "patch_policies.deleted",
      target: { type: "patch_policy", id },
      details: { name: gone.name },
    });
  });
}
