import type { Database } from "../../db/database.js";
import type { AuditContext } from "../../db/unit-of-work.js";
import { AppError } from "../../http/errors.js";
import { requirePlanFeature } from "../../organizations/plan-gate.js";
import { hit, type Limit, retryAfter } from "../rate-limit.js";
import type { SsoProtocol } from "./sso-flows.js";

/** Sign-ins started per client address: each writes a row and an audit row, so a flood is cut off. */
const START_LIMIT: Limit = { max: 100, windowSeconds: 15 * 60 };

export async function throttleSsoStart(
  db: Database,
  ip: string | null,
  protocol: SsoProtocol,
): Promise<void> {
  const key = `sso-start:${protocol}:${ip ?? "unknown"}`;
  const wait = await retryAfter(db, key, START_LIMIT);
  if (wait > 0) throw new AppError("auth.rate_limited", { retryAfterSeconds: wait });
  await hit(db, key, START_LIMIT);
}

/** The organisation's OpenID Connect settings when turned on and its plan still allows them; else 404/402. */
export async function enabledOidcSettings(db: Database, context: AuditContext, organizationId: string) {
  return db.withOrganization(organizationId, context, async (tx) => {
    const row = await tx.db
      .selectFrom("sso_oidc_configs")
      .selectAll()
      .where("enabled", "=", true)
      .executeTakeFirst();
    if (!row) throw new AppError("sso.not_configured");
    await requirePlanFeature(tx, "sso_oidc");
    return row;
  });
}

export async function enabledSamlSettings(db: Database, context: AuditContext, organizationId: string) {
  return db.withOrganization(organizationId, context, async (tx) => {
    const row = await tx.db
      .selectFrom("sso_saml_configs")
      .selectAll()
      .where("enabled", "=", true)
      .executeTakeFirst();
    if (!row) throw new AppError("sso.not_configured");
    await requirePlanFeature(tx, "sso_saml");
    return row;
  });
}
