import { PLATFORM_ORGANIZATION_ID } from "../audit/chain.js";
import type { SystemTransaction } from "../db/database.js";
import type { AuditEventInput } from "../db/unit-of-work.js";

/**
 * Events about a person rather than one organisation (signing in, changing a password) are
 * recorded in the audit chain of every organisation they belong to, so each organisation's
 * auditors see them; a person with no organisation is recorded in the platform chain.
 */
export async function auditForPerson(
  tx: SystemTransaction,
  userId: string | null,
  event: AuditEventInput,
): Promise<void> {
  const memberships = userId
    ? await tx.db.selectFrom("memberships").select("organization_id").where("user_id", "=", userId).execute()
    : [];
  if (memberships.length === 0) tx.audit(PLATFORM_ORGANIZATION_ID, event);
  for (const m of memberships) tx.audit(m.organization_id, event);
}
