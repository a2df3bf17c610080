import type { Role } from "@patchpilot/domain";
import type { Database } from "../../db/database.js";
import type { RequestContext } from "../../http/route.js";
import { scopeOf } from "../../http/route.js";

export type TwoFactorRequirement = "off" | "admins" | "all";

/** Whether a role must have a second factor under the organisation's requirement. */
export function requiresSecondFactor(requirement: TwoFactorRequirement, role: Role): boolean {
  if (requirement === "all") return true;
  if (requirement === "admins") return role === "owner" || role === "admin" || role === "msp_tenant_admin";
  return false;
}

export async function readSecuritySettings(db: Database, ctx: RequestContext) {
  const { organizationId } = scopeOf(ctx);
  return db.withOrganization(organizationId, ctx, async (tx) => {
    const row = await tx.db
      .selectFrom("organization_security_settings")
      .select("two_factor_required")
      .executeTakeFirst();
    return { twoFactorRequired: row?.two_factor_required ?? "off" };
  });
}

export async function updateSecuritySettings(
  db: Database,
  ctx: RequestContext,
  twoFactorRequired: TwoFactorRequirement,
) {
  const { organizationId } = scopeOf(ctx);
  return db.withOrganization(organizationId, ctx, async (tx) => {
    const before = await tx.db
      .selectFrom("organization_security_settings")
      .select("two_factor_required")
      .executeTakeFirst();
    await tx.db
      .insertInto("organization_security_settings")
      .values({ two_factor_required: twoFactorRequired })
      .onConflict((oc) =>
        oc
          .column("organization_id")
          .doUpdateSet({ two_factor_required: twoFactorRequired, updated_at: new Date() }),
      )
      .execute();
    tx.audit({
      action: "organization.security_settings_changed",
      target: { type: "organization", id: organizationId },
      details: { twoFactorRequired: { from: before?.two_factor_required ?? "off", to: twoFactorRequired } },
    });
    return { twoFactorRequired };
  });
}
