import type { Database } from "../db/database.js";
import type { AuditContext } from "../db/unit-of-work.js";
import { AppError } from "../http/errors.js";
import { verifyPassword } from "./passwords.js";
import { accountKey, clear, hit, ipKey, retryAfter, SIGN_IN_LIMITS } from "./rate-limit.js";
import { openSession } from "./sessions.js";
import { auditForPerson } from "./user-audit.js";

export interface SignedIn {
  token: string;
  sessionId: string;
  userId: string;
}

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
): Promise<SignedIn> {
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
  await clear(db, account);

  const personContext: AuditContext = { ...context, actor: { type: "user", id: user.id } };
  return db.system(personContext, async (tx) => {
    const session = await openSession(tx, user.id, context);
    await tx.db.updateTable("users").set({ last_login_at: new Date() }).where("id", "=", user.id).execute();
    await auditForPerson(tx, user.id, {
      action: "auth.signed_in",
      target: { type: "session", id: session.sessionId },
      details: { method: "password" },
    });
    return { token: session.token, sessionId: session.sessionId, userId: user.id };
  });
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
