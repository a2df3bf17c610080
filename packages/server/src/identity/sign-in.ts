import { generateToken, hashToken } from "@patchpilot/protocol";
import type { Database } from "../db/database.js";
import type { AuditContext } from "../db/unit-of-work.js";
import { AppError } from "../http/errors.js";
import { verifyPassword } from "./passwords.js";
import { accountKey, clear, hit, ipKey, retryAfter, SIGN_IN_LIMITS } from "./rate-limit.js";
import { openSession } from "./sessions.js";
import { enforceSsoRequirement } from "./sso/sso-required.js";
import { auditForPerson } from "./user-audit.js";

export interface SignedIn {
  kind: "session";
  token: string;
  sessionId: string;
  userId: string;
}

/** The password was right and the account has a second factor: the code is asked for next. */
export interface SecondFactorChallenge {
  kind: "second_factor";
  challenge: string;
  expiresAt: Date;
}

/** How long the second step of a sign-in may take. */
export const CHALLENGE_TTL_MS = 5 * 60 * 1000;

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/**
 * Password sign-in. Throttled per account and per client address before any password is
 * checked; every failure is audited; the answer is the same whether or not the address exists.
 */
export async function signIn(
  db: Database,
  input: { email: string; password: string },
  context: AuditContext,
): Promise<SignedIn | SecondFactorChallenge> {
  const email = normalizeEmail(input.email);
  const account = accountKey(email);
  const ip = ipKey(context.ip ?? "unknown");
  const wait = Math.max(
    await retryAfter(db, ip, SIGN_IN_LIMITS.ip),
    await retryAfter(db, account, SIGN_IN_LIMITS.account),
  );
  const user = await db.systemReader
    .selectFrom("users")
    .select(["id", "password_hash"])
    .where("email", "=", email)
    .executeTakeFirst();

  if (wait > 0) {
    await recordFailure(db, context, user?.id ?? null, "auth.rate_limited");
    throw new AppError("auth.rate_limited", { retryAfterSeconds: wait });
  }
  await hit(db, ip, SIGN_IN_LIMITS.ip);

  const ok = await verifyPassword(input.password, user?.password_hash ?? null);
  if (!ok || !user) {
    await hit(db, account, SIGN_IN_LIMITS.account);
    await recordFailure(db, context, user?.id ?? null, "auth.invalid_credentials");
    throw new AppError("auth.invalid_credentials");
  }
  const personContext: AuditContext = { ...context, actor: { type: "user", id: user.id } };
  await enforceSsoRequirement(db, user.id, personContext);
  const secondFactor = await db.systemReader
    .selectFrom("user_totp")
    .select("user_id")
    .where("user_id", "=", user.id)
    .where("confirmed_at", "is not", null)
    .executeTakeFirst();
  // The account's failure count is cleared only when the whole sign-in succeeds, or a right
  // password would reset the count of wrong codes.
  if (secondFactor) return issueChallenge(db, user.id, personContext);
  await clear(db, account);

  return db.system(personContext, async (tx) => {
    const session = await openSession(tx, user.id, context);
    await tx.db.updateTable("users").set({ last_login_at: new Date() }).where("id", "=", user.id).execute();
    await auditForPerson(tx, user.id, {
      action: "auth.signed_in",
      target: { type: "session", id: session.sessionId },
      details: { method: "password" },
    });
    return { kind: "session" as const, token: session.token, sessionId: session.sessionId, userId: user.id };
  });
}

async function issueChallenge(
  db: Database,
  userId: string,
  context: AuditContext,
): Promise<SecondFactorChallenge> {
  const challenge = generateToken("signInChallenge");
  const expiresAt = new Date(Date.now() + CHALLENGE_TTL_MS);
  await db.system(context, async (tx) => {
    const row = await tx.db
      .insertInto("pending_sign_ins")
      .values({ user_id: userId, token_hash: hashToken(challenge), expires_at: expiresAt })
      .returning("id")
      .executeTakeFirstOrThrow();
    await auditForPerson(tx, userId, {
      action: "auth.second_factor_requested",
      target: { type: "sign_in", id: row.id },
      details: { method: "password" },
    });
  });
  return { kind: "second_factor", challenge, expiresAt };
}

async function recordFailure(
  db: Database,
  context: AuditContext,
  userId: string | null,
  code: "auth.rate_limited" | "auth.invalid_credentials",
): Promise<void> {
  await db.system({ ...context, actor: { type: "anonymous", id: null } }, async (tx) => {
    await auditForPerson(tx, userId, {
      action: "auth.sign_in_failed",
      ...(userId ? { target: { type: "user", id: userId } } : {}),
      result: "failure",
      errorCode: code,
      details: { method: "password", accountKnown: userId !== null },
    });
  });
}
