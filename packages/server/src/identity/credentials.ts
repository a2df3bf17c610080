import type { SystemTransaction } from "../db/database.js";

/** Ends a person's sessions, all or all but one; returns how many were still open. */
export async function revokeSessionsOf(
  tx: SystemTransaction,
  userId: string,
  keepSessionId: string | null = null,
): Promise<number> {
  let q = tx.db
    .updateTable("sessions")
    .set({ revoked_at: new Date() })
    .where("user_id", "=", userId)
    .where("revoked_at", "is", null);
  if (keepSessionId) q = q.where("id", "!=", keepSessionId);
  return Number((await q.executeTakeFirst()).numUpdatedRows);
}

/**
 * Stores a new password hash and ends the person's other sessions, so a stolen cookie dies with
 * the old password. Returns how many sessions were ended.
 */
export async function replacePassword(
  tx: SystemTransaction,
  userId: string,
  passwordHash: string,
  keepSessionId: string | null,
): Promise<number> {
  const now = new Date();
  await tx.db
    .updateTable("users")
    .set({ password_hash: passwordHash, password_changed_at: now, updated_at: now })
    .where("id", "=", userId)
    .execute();
  return revokeSessionsOf(tx, userId, keepSessionId);
}
