import { hashToken, isWellFormedToken } from "@patchpilot/protocol";
import type { Database } from "../../db/database.js";
import type { AuditContext } from "../../db/unit-of-work.js";
import { AppError } from "../../http/errors.js";
import type { SecretBox } from "../../secrets/secret-box.js";
import { accountKey, clear, hit, ipKey, retryAfter, SIGN_IN_LIMITS } from "../rate-limit.js";
import { openSession } from "../sessions.js";
import type { SignedIn } from "../sign-in.js";
import { auditForPerson } from "../user-audit.js";
import { consumeSecondFactor } from "./second-factor.js";

/** Wrong codes one challenge may take before the password must be given again. */
export const CHALLENGE_MAX_ATTEMPTS = 5;

/**
 * The second step of a sign-in: the challenge from the password step and a TOTP or recovery
 * code. Throttled by the same account and address limits as passwords; a wrong code counts
 * against the account, is audited, and uses up one of the challenge's attempts.
 */
export async function completeSignIn(
  db: Database,
  secrets: SecretBox,
  input: { challenge: string; code: string },
  context: AuditContext,
): Promise<SignedIn> {
  // A mistyped or forged challenge is refused before any lookup.
  if (!isWellFormedToken("signInChallenge", input.challenge))
    throw new AppError("two_factor.invalid_challenge");
  const pending = await db.systemReader
    .selectFrom("pending_sign_ins as p")
    .innerJoin("users as u", "u.id", "p.user_id")
    .select(["p.id", "p.user_id", "p.expires_at", "p.attempts", "p.used_at", "u.email"])
    .where("p.token_hash", "=", hashToken(input.challenge))
    .executeTakeFirst();
  if (
    !pending ||
    pending.used_at !== null ||
    pending.expires_at.getTime() <= Date.now() ||
    pending.attempts >= CHALLENGE_MAX_ATTEMPTS
  ) {
    throw new AppError("two_factor.invalid_challenge");
  }
  const account = accountKey(pending.email);
  const ip = ipKey(context.ip ?? "unknown");
  const wait = Math.max(
    await retryAfter(db, ip, SIGN_IN_LIMITS.ip),
    await retryAfter(db, account, SIGN_IN_LIMITS.account),
  );
  const personContext: AuditContext = { ...context, actor: { type: "user", id: pending.user_id } };
  if (wait > 0) {
    await db.system(personContext, async (tx) => {
      await auditForPerson(tx, pending.user_id, {
        action: "auth.sign_in_failed",
        target: { type: "user", id: pending.user_id },
        result: "failure",
        errorCode: "auth.rate_limited",
        details: { method: "second_factor" },
      });
    });
    throw new AppError("auth.rate_limited", { retryAfterSeconds: wait });
  }
  await hit(db, ip, SIGN_IN_LIMITS.ip);

  const outcome = await db.system(personContext, async (tx) => {
    // The challenge row is locked, so two requests with one challenge take turns.
    const row = await tx.db
      .selectFrom("pending_sign_ins")
      .select(["used_at", "attempts"])
      .where("id", "=", pending.id)
      .forUpdate()
      .executeTakeFirstOrThrow();
    if (row.used_at !== null || row.attempts >= CHALLENGE_MAX_ATTEMPTS) return { kind: "stale" as const };
    const method = await consumeSecondFactor(tx, secrets, pending.user_id, input.code);
    if (!method) {
      await tx.db
        .updateTable("pending_sign_ins")
        .set({ attempts: row.attempts + 1 })
        .where("id", "=", pending.id)
        .execute();
      await auditForPerson(tx, pending.user_id, {
        action: "auth.sign_in_failed",
        target: { type: "user", id: pending.user_id },
        result: "failure",
        errorCode: "two_factor.invalid_code",
        details: { method: "second_factor", attempt: row.attempts + 1 },
      });
      return { kind: "wrong" as const };
    }
    await tx.db
      .updateTable("pending_sign_ins")
      .set({ used_at: new Date() })
      .where("id", "=", pending.id)
      .execute();
    const session = await openSession(tx, pending.user_id, context);
    await tx.db
      .updateTable("users")
      .set({ last_login_at: new Date() })
      .where("id", "=", pending.user_id)
      .execute();
    await auditForPerson(tx, pending.user_id, {
      action: "auth.signed_in",
      target: { type: "session", id: session.sessionId },
      details: { method: "password", secondFactor: method },
    });
    return { kind: "ok" as const, session };
  });
  if (outcome.kind === "stale") throw new AppError("two_factor.invalid_challenge");
  if (outcome.kind === "wrong") {
    await hit(db, account, SIGN_IN_LIMITS.account);
    throw new AppError("two_factor.invalid_code", { field: "body/code" });
  }
  await clear(db, account);
  return {
    kind: "session",
    token: outcome.session.token,
    sessionId: outcome.session.sessionId,
    userId: pending.user_id,
  };
}
