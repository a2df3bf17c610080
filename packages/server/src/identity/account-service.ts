import { isRole, permissionsOf, type Role } from "@patchpilot/domain";
import type { Database } from "../db/database.js";
import { AppError } from "../http/errors.js";
import type { RequestContext } from "../http/route.js";
import { replacePassword } from "./credentials.js";
import { assertPasswordAcceptable, hashPassword, verifyPassword } from "./passwords.js";
import { auditForPerson } from "./user-audit.js";

function signedIn(ctx: RequestContext) {
  if (!ctx.user || !ctx.session) throw new AppError("auth.required");
  return { user: ctx.user, session: ctx.session };
}

/**
 * A person and, for each organisation they belong to, their role and the actions it allows, so
 * the console can hide what the server would refuse.
 */
export async function describePerson(db: Database, userId: string) {
  const user = await db.systemReader
    .selectFrom("users")
    .select(["id", "email", "name"])
    .where("id", "=", userId)
    .executeTakeFirstOrThrow();
  const rows = await db.systemReader
    .selectFrom("memberships as m")
    .innerJoin("organizations as o", "o.id", "m.organization_id")
    .select(["o.id", "o.name", "m.role"])
    .where("m.user_id", "=", userId)
    .orderBy("o.name")
    .execute();
  return {
    user,
    organizations: rows
      .filter((r): r is typeof r & { role: Role } => isRole(r.role))
      .map((r) => ({ id: r.id, name: r.name, role: r.role, permissions: permissionsOf(r.role) })),
  };
}

export async function listMySessions(db: Database, ctx: RequestContext) {
  const { user, session } = signedIn(ctx);
  const rows = await db.systemReader
    .selectFrom("sessions")
    .select([
      "id",
      "created_at",
      "last_seen_at",
      "ip",
      "user_agent",
      "absolute_expires_at",
      "idle_expires_at",
    ])
    .where("user_id", "=", user.id)
    .where("revoked_at", "is", null)
    .where("idle_expires_at", ">", new Date())
    .where("absolute_expires_at", ">", new Date())
    .orderBy("last_seen_at", "desc")
    .execute();
  return rows.map((r) => ({
    id: r.id,
    createdAt: r.created_at.toISOString(),
    lastSeenAt: r.last_seen_at.toISOString(),
    expiresAt: new Date(Math.min(r.idle_expires_at.getTime(), r.absolute_expires_at.getTime())).toISOString(),
    ip: r.ip,
    userAgent: r.user_agent,
    current: r.id === session.id,
  }));
}

export async function revokeMySession(db: Database, ctx: RequestContext, sessionId: string): Promise<void> {
  const { user } = signedIn(ctx);
  await db.system(ctx, async (tx) => {
    const result = await tx.db
      .updateTable("sessions")
      .set({ revoked_at: new Date() })
      .where("id", "=", sessionId)
      .where("user_id", "=", user.id)
      .where("revoked_at", "is", null)
      .executeTakeFirst();
    if (result.numUpdatedRows !== 1n) throw new AppError("sessions.not_found");
    await auditForPerson(tx, user.id, {
      action: "auth.session_revoked",
      target: { type: "session", id: sessionId },
    });
  });
}

export async function signOut(db: Database, ctx: RequestContext): Promise<void> {
  const { user, session } = signedIn(ctx);
  await db.system(ctx, async (tx) => {
    await tx.db
      .updateTable("sessions")
      .set({ revoked_at: new Date() })
      .where("id", "=", session.id)
      .execute();
    await auditForPerson(tx, user.id, {
      action: "auth.signed_out",
      target: { type: "session", id: session.id },
    });
  });
}

/** Changes the password and ends every other session of the person (a stolen cookie dies with it). */
export async function changePassword(
  db: Database,
  ctx: RequestContext,
  input: { currentPassword: string; newPassword: string },
): Promise<{ revokedSessions: number }> {
  const { user, session } = signedIn(ctx);
  const row = await db.systemReader
    .selectFrom("users")
    .select("password_hash")
    .where("id", "=", user.id)
    .executeTakeFirstOrThrow();
  if (!(await verifyPassword(input.currentPassword, row.password_hash))) {
    await db.system(ctx, (tx) =>
      auditForPerson(tx, user.id, {
        action: "auth.password_change_failed",
        target: { type: "user", id: user.id },
        result: "failure",
        errorCode: "auth.password_incorrect",
      }),
    );
    throw new AppError("auth.password_incorrect", { field: "currentPassword" });
  }
  assertPasswordAcceptable(input.newPassword, "newPassword");
  const passwordHash = await hashPassword(input.newPassword);
  return db.system(ctx, async (tx) => {
    const revokedSessions = await replacePassword(tx, user.id, passwordHash, session.id);
    await auditForPerson(tx, user.id, {
      action: "auth.password_changed",
      target: { type: "user", id: user.id },
      details: { revokedSessions },
    });
    return { revokedSessions };
  });
}
