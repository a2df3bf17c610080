import { type AssignableRole, mayInvite } from "@patchpilot/domain";
import { generateToken, hashToken, isWellFormedToken } from "@patchpilot/protocol";
import { sql } from "kysely";
import type { Database } from "../db/database.js";
import type { AuditContext } from "../db/unit-of-work.js";
import { AppError } from "../http/errors.js";
import { decodeCursor, encodeCursor, type Page, preciseTimestamp } from "../http/pagination.js";
import { type RequestContext, scopeOf } from "../http/route.js";
import { assertPasswordAcceptable, hashPassword } from "./passwords.js";
import { normalizeEmail } from "./sign-in.js";

const INVITATION_TTL_MS = 7 * 24 * 3600 * 1000;

export interface InvitationView {
  id: string;
  email: string;
  role: string;
  status: "pending" | "accepted" | "revoked" | "expired";
  invitedBy: string | null;
  createdAt: string;
  expiresAt: string;
}

interface InvitationRow {
  id: string;
  email: string;
  role: string;
  invited_by: string | null;
  created_at: Date;
  expires_at: Date;
  accepted_at: Date | null;
  revoked_at: Date | null;
}

function view(row: InvitationRow): InvitationView {
  const status = row.accepted_at
    ? "accepted"
    : row.revoked_at
      ? "revoked"
      : row.expires_at.getTime() <= Date.now()
        ? "expired"
        : "pending";
  return {
    id: row.id,
    email: row.email,
    role: row.role,
    status,
    invitedBy: row.invited_by,
    createdAt: row.created_at.toISOString(),
    expiresAt: row.expires_at.toISOString(),
  };
}

const COLUMNS = [
  "id",
  "email",
  "role",
  "invited_by",
  "created_at",
  "expires_at",
  "accepted_at",
  "revoked_at",
] as const;

/**
 * Invites someone by email. The token is returned once, to be passed on to the invitee (the
 * accept link); only its hash is kept.
 */
export async function createInvitation(
  db: Database,
  ctx: RequestContext,
  input: { email: string; role: AssignableRole },
): Promise<{ invitation: InvitationView; token: string }> {
  const { organizationId, role: actorRole } = scopeOf(ctx);
  if (!mayInvite(actorRole, input.role)) throw new AppError("users.owner_only", { field: "role" });
  const email = normalizeEmail(input.email);
  const token = generateToken("invitation");
  return db.withOrganization(organizationId, ctx, async (tx) => {
    // Row-level security shows only this organisation's members, so this finds members only.
    const member = await tx.db.selectFrom("users").select("id").where("email", "=", email).executeTakeFirst();
    if (member) throw new AppError("invitations.already_member", { field: "email" });
    const row = await tx.db
      .insertInto("invitations")
      .values({
        email,
        role: input.role,
        token_hash: hashToken(token),
        invited_by: ctx.user?.id ?? null,
        expires_at: new Date(Date.now() + INVITATION_TTL_MS),
      })
      .returning(COLUMNS)
      .executeTakeFirstOrThrow();
    tx.audit({
      action: "invitations.created",
      target: { type: "invitation", id: row.id },
      details: { role: input.role },
    });
    return { invitation: view(row), token };
  });
}

export async function listInvitations(
  db: Database,
  ctx: RequestContext,
  query: { limit: number; cursor?: string },
): Promise<Page<InvitationView>> {
  const { organizationId } = scopeOf(ctx);
  const after = query.cursor ? decodeCursor(query.cursor) : null;
  const rows = await db.withOrganization(organizationId, ctx, async (tx) => {
    let q = tx.db
      .selectFrom("invitations")
      .select(COLUMNS)
      .select(preciseTimestamp("created_at").as("cursor_at"))
      .orderBy("created_at", "desc")
      .orderBy("id", "desc")
      .limit(query.limit + 1);
    if (after) {
      q = q.where((eb) =>
        eb.or([
          eb("created_at", "<", sql<Date>`${after.at}::timestamptz`),
          eb.and([eb("created_at", "=", sql<Date>`${after.at}::timestamptz`), eb("id", "<", after.id)]),
        ]),
      );
    }
    return q.execute();
  });
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return {
    items: page.map(view),
    nextCursor: rows.length > query.limit && last ? encodeCursor({ at: last.cursor_at, id: last.id }) : null,
  };
}

export async function revokeInvitation(
  db: Database,
  ctx: RequestContext,
  invitationId: string,
): Promise<void> {
  const { organizationId } = scopeOf(ctx);
  await db.withOrganization(organizationId, ctx, async (tx) => {
    const result = await tx.db
      .updateTable("invitations")
      .set({ revoked_at: new Date() })
      .where("id", "=", invitationId)
      .where("accepted_at", "is", null)
      .where("revoked_at", "is", null)
      .executeTakeFirst();
    if (result.numUpdatedRows !== 1n) throw new AppError("invitations.not_found");
    tx.audit({ action: "invitations.revoked", target: { type: "invitation", id: invitationId } });
  });
}

/**
 * Accepts an invitation. A new person sets their name and password here; someone who already
 * has an account must be signed in as that account, so a leaked link cannot take one over.
 */
export async function acceptInvitation(
  db: Database,
  input: { token: string; name?: string; password?: string },
  signedInUserId: string | null,
  context: AuditContext,
): Promise<{ organizationId: string; userId: string }> {
  if (!isWellFormedToken("invitation", input.token))
    throw new AppError("invitations.invalid_token", { field: "token" });
  const tokenHash = hashToken(input.token);
  const invitation = await db.systemReader
    .selectFrom("invitations")
    .select(["email"])
    .where("token_hash", "=", tokenHash)
    .where("accepted_at", "is", null)
    .where("revoked_at", "is", null)
    .where("expires_at", ">", new Date())
    .executeTakeFirst();
  if (!invitation) throw new AppError("invitations.invalid_token", { field: "token" });
  const existing = await db.systemReader
    .selectFrom("users")
    .select("id")
    .where("email", "=", invitation.email)
    .executeTakeFirst();
  if (existing && existing.id !== signedInUserId) throw new AppError("invitations.sign_in_required");
  let passwordHash: string | null = null;
  if (!existing) {
    if (!input.name) throw new AppError("request.invalid", { field: "name", message: "Enter your name." });
    if (!input.password) throw new AppError("auth.password_too_weak", { field: "password" });
    assertPasswordAcceptable(input.password);
    passwordHash = await hashPassword(input.password);
  }

  return db.system(context, async (tx) => {
    const inv = await tx.db
      .selectFrom("invitations")
      .select(["id", "organization_id", "email", "role"])
      .where("token_hash", "=", tokenHash)
      .where("accepted_at", "is", null)
      .where("revoked_at", "is", null)
      .where("expires_at", ">", new Date())
      .forUpdate()
      .executeTakeFirst();
    if (!inv) throw new AppError("invitations.invalid_token", { field: "token" });
    let userId = existing?.id;
    if (!userId) {
      const created = await tx.db
        .insertInto("users")
        .values({
          email: inv.email,
          name: input.name ?? "",
          password_hash: passwordHash,
          password_changed_at: new Date(),
        })
        .returning("id")
        .executeTakeFirstOrThrow();
      userId = created.id;
    }
    const already = await tx.db
      .selectFrom("memberships")
      .select("user_id")
      .where("organization_id", "=", inv.organization_id)
      .where("user_id", "=", userId)
      .executeTakeFirst();
    if (already) throw new AppError("invitations.already_member");
    await tx.db
      .insertInto("memberships")
      .values({ organization_id: inv.organization_id, user_id: userId, role: inv.role })
      .execute();
    await tx.db
      .updateTable("invitations")
      .set({ accepted_at: new Date(), accepted_by: userId })
      .where("id", "=", inv.id)
      .execute();
    tx.audit(inv.organization_id, {
      action: "invitations.accepted",
      target: { type: "invitation", id: inv.id },
      details: { role: inv.role, newAccount: !existing },
    });
    tx.audit(inv.organization_id, {
      action: "users.added",
      target: { type: "user", id: userId },
      details: { role: inv.role },
    });
    return { organizationId: inv.organization_id, userId };
  });
}
