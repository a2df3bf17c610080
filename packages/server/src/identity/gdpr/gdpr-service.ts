import { randomUUID } from "node:crypto";
import type { Database } from "../../db/database.js";
import { AppError } from "../../http/errors.js";
import { type RequestContext, scopeOf } from "../../http/route.js";

/** Audit rows included in an export, newest first; enough for any person's history in practice. */
const MAX_AUDIT_ROWS = 10_000;

const iso = (d: Date | null | undefined) => d?.toISOString() ?? null;

/** Only an Owner handles another person's data-subject request; a person may export their own. */
function assertMayHandle(ctx: RequestContext, userId: string, action: "export" | "erase"): void {
  const { role } = scopeOf(ctx);
  if (action === "export" && ctx.user?.id === userId) return;
  if (role !== "owner") throw new AppError("gdpr.owner_only");
}

/**
 * Everything this organisation holds about one of its members (GDPR art. 15 and 20), as JSON:
 * the account's details (never its password hash or second-factor key), the membership, the
 * invitations to their address, the API tokens they made, MSP assignments, and the audit rows
 * that name them. The export is itself audited.
 */
export async function exportPersonalData(db: Database, ctx: RequestContext, userId: string) {
  assertMayHandle(ctx, userId, "export");
  const { organizationId } = scopeOf(ctx);
  return db.withOrganization(organizationId, ctx, async (tx) => {
    const membership = await tx.db
      .selectFrom("memberships")
      .select(["role", "created_at"])
      .where("user_id", "=", userId)
      .executeTakeFirst();
    if (!membership) throw new AppError("users.not_found");
    const user = await tx.db
      .selectFrom("users")
      .select(["id", "email", "name", "created_at", "updated_at", "last_login_at", "password_changed_at"])
      .where("id", "=", userId)
      .executeTakeFirstOrThrow();
    const invitations = await tx.db
      .selectFrom("invitations")
      .select(["id", "role", "created_at", "expires_at", "accepted_at", "revoked_at"])
      .where((eb) => eb.or([eb("email", "=", user.email), eb("accepted_by", "=", userId)]))
      .execute();
    const apiTokens = await tx.db
      .selectFrom("api_tokens")
      .select(["id", "name", "role", "created_at", "expires_at", "last_used_at", "revoked_at"])
      .where("created_by", "=", userId)
      .execute();
    const audit = await tx.db
      .selectFrom("audit_events")
      .select([
        "id",
        "occurred_at",
        "action",
        "actor_type",
        "actor_id",
        "target_type",
        "target_id",
        "result",
        "ip",
        "user_agent",
      ])
      .where((eb) => eb.or([eb("actor_id", "=", userId), eb("target_id", "=", userId)]))
      .orderBy("seq", "desc")
      .limit(MAX_AUDIT_ROWS)
      .execute();
    tx.audit({
      action: "users.personal_data_exported",
      target: { type: "user", id: userId },
      details: { auditRows: audit.length },
    });
    return {
      exportedAt: new Date().toISOString(),
      organizationId,
      user: {
        id: user.id,
        email: user.email,
        name: user.name,
        createdAt: iso(user.created_at),
        updatedAt: iso(user.updated_at),
        lastLoginAt: iso(user.last_login_at),
        passwordChangedAt: iso(user.password_changed_at),
      },
      membership: { role: membership.role, since: iso(membership.created_at) },
      invitations: invitations.map((i) => ({
        id: i.id,
        role: i.role,
        createdAt: iso(i.created_at),
        expiresAt: iso(i.expires_at),
        acceptedAt: iso(i.accepted_at),
        revokedAt: iso(i.revoked_at),
      })),
      apiTokensCreated: apiTokens.map((k) => ({
        id: k.id,
        name: k.name,
        role: k.role,
        createdAt: iso(k.created_at),
        expiresAt: iso(k.expires_at),
        lastUsedAt: iso(k.last_used_at),
        revokedAt: iso(k.revoked_at),
      })),
      auditEvents: audit.map((a) => ({
        id: a.id,
        occurredAt: iso(a.occurred_at),
        action: a.action,
        actor: { type: a.actor_type, id: a.actor_id },
        target: a.target_type ? { type: a.target_type, id: a.target_id } : null,
        result: a.result,
        ip: a.ip,
        userAgent: a.user_agent,
      })),
    };
  });
}

/**
 * Erases a member (GDPR art. 17): their name and address are replaced by a pseudonym in place,
 * their password, sessions, second factor, recovery codes and pending sign-ins are deleted, the
 * API tokens they made are revoked, and their membership ends. Audit rows name people by id only,
 * so they stay as they are and every chain still verifies. Only a person this organisation alone
 * holds can be erased here: the account is global.
 */
export async function erasePerson(db: Database, ctx: RequestContext, userId: string) {
  assertMayHandle(ctx, userId, "erase");
  const { organizationId } = scopeOf(ctx);
  if (ctx.user?.id === userId) throw new AppError("gdpr.not_self");
  const pseudonym = `erased-${randomUUID()}`;
  await db.system(ctx, async (tx) => {
    const memberships = await tx.db
      .selectFrom("memberships")
      .select(["organization_id", "role"])
      .where("user_id", "=", userId)
      .forUpdate()
      .execute();
    if (!memberships.some((m) => m.organization_id === organizationId)) throw new AppError("users.not_found");
    if (memberships.length > 1) throw new AppError("gdpr.other_memberships");
    const user = await tx.db
      .selectFrom("users")
      .select("email")
      .where("id", "=", userId)
      .executeTakeFirstOrThrow();
    const now = new Date();
    await tx.db
      .updateTable("users")
      .set({
        email: `${pseudonym}@erased.invalid`,
        name: "Erased person",
        password_hash: null,
        password_changed_at: null,
        last_login_at: null,
        updated_at: now,
      })
      .where("id", "=", userId)
      .execute();
    await tx.db.deleteFrom("sessions").where("user_id", "=", userId).execute();
    await tx.db.deleteFrom("pending_sign_ins").where("user_id", "=", userId).execute();
    await tx.db.deleteFrom("user_recovery_codes").where("user_id", "=", userId).execute();
    await tx.db.deleteFrom("user_totp").where("user_id", "=", userId).execute();
    await tx.db.deleteFrom("msp_assignments").where("user_id", "=", userId).execute();
    await tx.db
      .updateTable("api_tokens")
      .set({ revoked_at: now })
      .where("created_by", "=", userId)
      .where("revoked_at", "is", null)
      .execute();
    await tx.db
      .updateTable("invitations")
      .set({ email: `${pseudonym}@erased.invalid`, revoked_at: now })
      .where("email", "=", user.email)
      .where("organization_id", "=", organizationId)
      .execute();
    await tx.db
      .deleteFrom("memberships")
      .where("user_id", "=", userId)
      .where("organization_id", "=", organizationId)
      .execute();
    tx.audit(organizationId, {
      action: "users.erased",
      target: { type: "user", id: userId },
      details: { role: memberships[0]?.role ?? null },
    });
  });
  return { userId, pseudonym: "Erased person" };
}

/** A person's own account data across PatchPilot: the account, memberships, sessions, second factor. */
export async function exportMyData(db: Database, ctx: RequestContext) {
  if (!ctx.user) throw new AppError("auth.required");
  const userId = ctx.user.id;
  const user = await db.systemReader
    .selectFrom("users")
    .select(["id", "email", "name", "created_at", "last_login_at", "password_changed_at"])
    .where("id", "=", userId)
    .executeTakeFirstOrThrow();
  const memberships = await db.systemReader
    .selectFrom("memberships as m")
    .innerJoin("organizations as o", "o.id", "m.organization_id")
    .select(["o.id", "o.name", "m.role", "m.created_at"])
    .where("m.user_id", "=", userId)
    .execute();
  const sessions = await db.systemReader
    .selectFrom("sessions")
    .select(["id", "created_at", "last_seen_at", "revoked_at", "ip", "user_agent"])
    .where("user_id", "=", userId)
    .execute();
  const totp = await db.systemReader
    .selectFrom("user_totp")
    .select(["confirmed_at", "created_at"])
    .where("user_id", "=", userId)
    .executeTakeFirst();
  await db.system(ctx, async (tx) => {
    for (const m of memberships) {
      tx.audit(m.id, {
        action: "users.personal_data_exported",
        target: { type: "user", id: userId },
        details: { self: true },
      });
    }
  });
  return {
    exportedAt: new Date().toISOString(),
    user: {
      id: user.id,
      email: user.email,
      name: user.name,
      createdAt: iso(user.created_at),
      lastLoginAt: iso(user.last_login_at),
      passwordChangedAt: iso(user.password_changed_at),
    },
    memberships: memberships.map((m) => ({
      organizationId: m.id,
      name: m.name,
      role: m.role,
      since: iso(m.created_at),
    })),
    sessions: sessions.map((s) => ({
      id: s.id,
      createdAt: iso(s.created_at),
      lastSeenAt: iso(s.last_seen_at),
      revokedAt: iso(s.revoked_at),
      ip: s.ip,
      userAgent: s.user_agent,
    })),
    secondFactor: totp ? { enrolledAt: iso(totp.created_at), confirmedAt: iso(totp.confirmed_at) } : null,
  };
}
