import QRCode from "qrcode";
import type { Database, SystemTransaction } from "../../db/database.js";
import { AppError } from "../../http/errors.js";
import type { RequestContext } from "../../http/route.js";
import type { SecretBox } from "../../secrets/secret-box.js";
import { verifyPassword } from "../passwords.js";
import { accountKey, hit, retryAfter, SIGN_IN_LIMITS } from "../rate-limit.js";
import { auditForPerson } from "../user-audit.js";
import { consumeSecondFactor, totpSecretContext } from "./second-factor.js";
import { hashRecoveryCode, matchTotp, newRecoveryCodes, newTotpSecret, otpauthUri } from "./totp.js";

function person(ctx: RequestContext): { id: string; email: string } {
  if (!ctx.user || !ctx.session) throw new AppError("auth.required");
  return ctx.user;
}

/**
 * Wrong codes count towards the same per-account limit as wrong passwords, so guessing codes
 * locks the account's sign-in exactly as guessing passwords does.
 */
async function assertNotThrottled(db: Database, email: string): Promise<void> {
  const wait = await retryAfter(db, accountKey(email), SIGN_IN_LIMITS.account);
  if (wait > 0) throw new AppError("auth.rate_limited", { retryAfterSeconds: wait });
}

async function recordWrongCode(
  db: Database,
  ctx: RequestContext,
  user: { id: string; email: string },
  action: string,
  errorCode: string,
): Promise<void> {
  await hit(db, accountKey(user.email), SIGN_IN_LIMITS.account);
  await db.system(ctx, async (tx) => {
    await auditForPerson(tx, user.id, {
      action,
      target: { type: "user", id: user.id },
      result: "failure",
      errorCode,
    });
  });
}

export async function twoFactorStatus(db: Database, ctx: RequestContext) {
  const user = person(ctx);
  const row = await db.systemReader
    .selectFrom("user_totp")
    .select(["confirmed_at"])
    .where("user_id", "=", user.id)
    .executeTakeFirst();
  const left = await db.systemReader
    .selectFrom("user_recovery_codes")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("user_id", "=", user.id)
    .where("used_at", "is", null)
    .executeTakeFirstOrThrow();
  return {
    enabled: row?.confirmed_at != null,
    enrollmentPending: row !== undefined && row.confirmed_at === null,
    enabledAt: row?.confirmed_at?.toISOString() ?? null,
    recoveryCodesLeft: row?.confirmed_at ? Number(left.n) : 0,
  };
}

/** Starts (or restarts) enrolment: a new key, shown once as a QR code and as text to type. */
export async function startEnrollment(db: Database, secrets: SecretBox, ctx: RequestContext) {
  const user = person(ctx);
  const secret = newTotpSecret();
  await db.system(ctx, async (tx) => {
    const existing = await tx.db
      .selectFrom("user_totp")
      .select("confirmed_at")
      .where("user_id", "=", user.id)
      .forUpdate()
      .executeTakeFirst();
    if (existing?.confirmed_at) throw new AppError("two_factor.already_enabled");
    const sealed = secrets.seal(secret, totpSecretContext(user.id));
    await tx.db
      .insertInto("user_totp")
      .values({ user_id: user.id, secret_sealed: sealed })
      .onConflict((oc) =>
        oc
          .column("user_id")
          .doUpdateSet({ secret_sealed: sealed, created_at: new Date(), last_used_step: null }),
      )
      .execute();
    await auditForPerson(tx, user.id, {
      action: "two_factor.enrollment_started",
      target: { type: "user", id: user.id },
    });
  });
  const uri = otpauthUri(secret, user.email);
  return { secret, otpauthUri: uri, qrCode: await QRCode.toDataURL(uri, { errorCorrectionLevel: "M" }) };
}

/** Turns the second factor on once a code from the new authenticator proves it was set up. */
export async function confirmEnrollment(
  db: Database,
  secrets: SecretBox,
  ctx: RequestContext,
  code: string,
): Promise<{ recoveryCodes: string[] }> {
  const user = person(ctx);
  await assertNotThrottled(db, user.email);
  const row = await db.systemReader
    .selectFrom("user_totp")
    .select(["secret_sealed", "confirmed_at"])
    .where("user_id", "=", user.id)
    .executeTakeFirst();
  if (!row) throw new AppError("two_factor.not_enrolled");
  if (row.confirmed_at) throw new AppError("two_factor.already_enabled");
  const secret = secrets.open(row.secret_sealed, totpSecretContext(user.id));
  const step = await matchTotp(secret, code.trim(), Date.now() / 1000, null);
  if (step === null) {
    await recordWrongCode(db, ctx, user, "two_factor.confirmation_failed", "two_factor.code_incorrect");
    throw new AppError("two_factor.code_incorrect", { field: "body/code" });
  }
  const recoveryCodes = newRecoveryCodes();
  await db.system(ctx, async (tx) => {
    const updated = await tx.db
      .updateTable("user_totp")
      .set({ confirmed_at: new Date(), last_used_step: step })
      .where("user_id", "=", user.id)
      .where("confirmed_at", "is", null)
      .where("secret_sealed", "=", row.secret_sealed)
      .executeTakeFirst();
    // Another request confirmed or restarted the enrolment meanwhile.
    if (updated.numUpdatedRows !== 1n) throw new AppError("two_factor.not_enrolled");
    await replaceRecoveryCodes(tx, user.id, recoveryCodes);
    await auditForPerson(tx, user.id, {
      action: "two_factor.enabled",
      target: { type: "user", id: user.id },
    });
  });
  return { recoveryCodes };
}

async function replaceRecoveryCodes(tx: SystemTransaction, userId: string, codes: string[]): Promise<void> {
  await tx.db.deleteFrom("user_recovery_codes").where("user_id", "=", userId).execute();
  await tx.db
    .insertInto("user_recovery_codes")
    .values(codes.map((code) => ({ user_id: userId, code_hash: hashRecoveryCode(code) })))
    .execute();
}

/**
 * Checks the password and a current code (or a recovery code), then runs `work` in the same
 * transaction that used the code up. A wrong password or code is counted and audited.
 */
async function withProvenFactors<T>(
  db: Database,
  secrets: SecretBox,
  ctx: RequestContext,
  input: { password?: string; code: string },
  failedAction: string,
  work: (tx: SystemTransaction, user: { id: string; email: string }) => Promise<T>,
): Promise<T> {
  const user = person(ctx);
  await assertNotThrottled(db, user.email);
  if (input.password !== undefined) {
    const stored = await db.systemReader
      .selectFrom("users")
      .select("password_hash")
      .where("id", "=", user.id)
      .executeTakeFirstOrThrow();
    if (!(await verifyPassword(input.password, stored.password_hash))) {
      await recordWrongCode(db, ctx, user, failedAction, "auth.password_incorrect");
      throw new AppError("auth.password_incorrect", { field: "body/password" });
    }
  }
  const outcome = await db.system(ctx, async (tx) => {
    const enabled = await tx.db
      .selectFrom("user_totp")
      .select("confirmed_at")
      .where("user_id", "=", user.id)
      .executeTakeFirst();
    if (!enabled?.confirmed_at) throw new AppError("two_factor.not_enabled");
    const method = await consumeSecondFactor(tx, secrets, user.id, input.code);
    if (!method) return { ok: false as const };
    return { ok: true as const, value: await work(tx, user) };
  });
  if (!outcome.ok) {
    await recordWrongCode(db, ctx, user, failedAction, "two_factor.code_incorrect");
    throw new AppError("two_factor.code_incorrect", { field: "body/code" });
  }
  return outcome.value;
}

/** Turns the second factor off: needs the password and a code, and removes the recovery codes. */
export async function disableTwoFactor(
  db: Database,
  secrets: SecretBox,
  ctx: RequestContext,
  input: { password: string; code: string },
): Promise<void> {
  await withProvenFactors(db, secrets, ctx, input, "two_factor.disable_failed", async (tx, user) => {
    await tx.db.deleteFrom("user_recovery_codes").where("user_id", "=", user.id).execute();
    await tx.db.deleteFrom("user_totp").where("user_id", "=", user.id).execute();
    await auditForPerson(tx, user.id, {
      action: "two_factor.disabled",
      target: { type: "user", id: user.id },
    });
  });
}

/** Ten new recovery codes for a current code; the old ones stop working. */
export async function regenerateRecoveryCodes(
  db: Database,
  secrets: SecretBox,
  ctx: RequestContext,
  input: { code: string },
): Promise<{ recoveryCodes: string[] }> {
  const recoveryCodes = newRecoveryCodes();
  await withProvenFactors(db, secrets, ctx, input, "two_factor.recovery_codes_failed", async (tx, user) => {
    await replaceRecoveryCodes(tx, user.id, recoveryCodes);
    await auditForPerson(tx, user.id, {
      action: "two_factor.recovery_codes_replaced",
      target: { type: "user", id: user.id },
    });
  });
  return { recoveryCodes };
}
