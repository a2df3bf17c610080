import type { Database } from "../../db/database.js";
import type { AuditContext } from "../../db/unit-of-work.js";
import { AppError } from "../../http/errors.js";

/**
 * Password sign-in of a person whose organisation signs its members in through its identity
 * provider ("SSO required") is refused, audited in that organisation. Owners keep their password
 * as the way back in when the provider fails (break-glass); that use is audited too. Called once
 * the password was found right, so the answer tells a guesser nothing.
 */
export async function enforceSsoRequirement(
  db: Database,
  userId: string,
  context: AuditContext,
): Promise<void> {
  const rows = await db.systemReader
    .selectFrom("memberships as m")
    .select(["m.organization_id", "m.role"])
    .where("m.user_id", "=", userId)
    .where((eb) =>
      eb.or([
        eb.exists(
          eb
            .selectFrom("sso_oidc_configs as o")
            .select("o.organization_id")
            .whereRef("o.organization_id", "=", "m.organization_id")
            .where("o.enabled", "=", true)
            .where("o.sso_required", "=", true),
        ),
        eb.exists(
          eb
            .selectFrom("sso_saml_configs as s")
            .select("s.organization_id")
            .whereRef("s.organization_id", "=", "m.organization_id")
            .where("s.enabled", "=", true)
            .where("s.sso_required", "=", true),
        ),
      ]),
    )
    .execute();
  if (rows.length === 0) return;
  const refused = rows.filter((r) => r.role !== "owner");
  await db.system(context, async (tx) => {
    for (const row of rows) {
      tx.audit(
        row.organization_id,
        row.role === "owner"
          ? {
              action: "auth.sso_bypassed",
              target: { type: "user", id: userId },
              details: { method: "password", role: "owner" },
            }
          : {
              action: "auth.sign_in_failed",
              target: { type: "user", id: userId },
              result: "failure",
              errorCode: "sso.required",
              details: { method: "password" },
            },
      );
    }
  });
  if (refused.length > 0) throw new AppError("sso.required");
}
