import type { SystemTransaction } from "../../db/database.js";
import { type SecretBox, SecretBoxError } from "../../secrets/secret-box.js";
import { hashRecoveryCode, looksLikeRecoveryCode, matchTotp } from "./totp.js";

export type SecondFactorMethod = "totp" | "recovery_code";

/** Where a person's TOTP key is sealed: bound to the person, so a copied value does not open. */
export function totpSecretContext(userId: string): string {
  return `totp:${userId}`;
}

/** Whether the person has a confirmed second factor. */
export async function hasSecondFactor(tx: SystemTransaction, userId: string): Promise<boolean> {
  const row = await tx.db
    .selectFrom("user_totp")
    .select("user_id")
    .where("user_id", "=", userId)
    .where("confirmed_at", "is not", null)
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * Checks a code against the person's confirmed authenticator, or one of their unused recovery
 * codes, and uses it up in the caller's transaction: the TOTP step is remembered, so the same code
 * (or an older one) is refused next time, and a recovery code is marked used. Both updates are
 * conditional, so two requests racing with one code cannot both succeed. Null when it does not match.
 */
export async function consumeSecondFactor(
  tx: SystemTransaction,
  secrets: SecretBox,
  userId: string,
  code: string,
): Promise<SecondFactorMethod | null> {
  const trimmed = code.trim();
  if (/^\d{6}$/.test(trimmed)) {
    const row = await tx.db
      .selectFrom("user_totp")
      .select(["secret_sealed", "last_used_step"])
      .where("user_id", "=", userId)
      .where("confirmed_at", "is not", null)
      .executeTakeFirst();
    if (!row) return null;
    let secret: string;
    try {
      secret = secrets.open(row.secret_sealed, totpSecretContext(userId));
    } catch (error) {
      // A key sealed under another server key (a restore without its key): only recovery codes work.
      if (error instanceof SecretBoxError) return null;
      throw error;
    }
    const step = await matchTotp(secret, trimmed, Date.now() / 1000, row.last_used_step);
    if (step === null) return null;
    const updated = await tx.db
      .updateTable("user_totp")
      .set({ last_used_step: step })
      .where("user_id", "=", userId)
      .where((eb) => eb.or([eb("last_used_step", "is", null), eb("last_used_step", "<", step)]))
      .executeTakeFirst();
    return updated.numUpdatedRows === 1n ? "totp" : null;
  }
  if (!looksLikeRecoveryCode(trimmed)) return null;
  const used = await tx.db
    .updateTable("user_recovery_codes")
    .set({ used_at: new Date() })
    .where("user_id", "=", userId)
    .where("code_hash", "=", hashRecoveryCode(trimmed))
    .where("used_at", "is", null)
    .executeTakeFirst();
  return used.numUpdatedRows === 1n ? "recovery_code" : null;
}
