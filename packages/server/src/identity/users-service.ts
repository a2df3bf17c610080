import { type AssignableRole, mayChangeRole, mayRemoveMember, type Role } from "@patchpilot/domain";
import { sql } from "kysely";
import type { Database, OrganizationTransaction } from "../db/database.js";
import { AppError } from "../http/errors.js";
import { decodeCursor, encodeCursor, type Page, preciseTimestamp } from "../http/pagination.js";
import { type RequestContext, scopeOf } from "../http/route.js";

export interface MemberView {
  id: string;
  email: string;
  name: string;
  role: string;
  joinedAt: string;
  lastLoginAt: string | null;
}

interface MemberRow {
  id: string;
  email: string;
  name: string;
  role: string;
  created_at: Date;
  last_login_at: Date | null;
  cursor_at: string;
}

function view(row: MemberRow): MemberView {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    role: row.role,
    joinedAt: row.created_at.toISOString(),
    lastLoginAt: row.last_login_at?.toISOString() ?? null,
  };
}

function members(tx: OrganizationTransaction) {
  return tx.db
    .selectFrom("memberships as m")
    .innerJoin("users as u", "u.id", "m.user_id")
    .select(["u.id", "u.email", "u.name", "m.role", "m.created_at", "u.last_login_at"])
    .select(preciseTimestamp("m.created_at").as("cursor_at"));
}

export async function listMembers(
  db: Database,
  ctx: RequestContext,
  query: { limit: number; cursor?: string; role?: string },
): Promise<Page<MemberView>> {
  const { organizationId } = scopeOf(ctx);
  const after = query.cursor ? decodeCursor(query.cursor) : null;
  const rows = await db.withOrganization(organizationId, ctx, async (tx) => {
    let q = members(tx)
      .orderBy("m.created_at")
      .orderBy("m.user_id")
      .limit(query.limit + 1);
    if (query.role) q = q.where("m.role", "=", query.role);
    if (after) {
      q = q.where((eb) =>
        eb.or([
          eb("m.created_at", ">", sql<Date>`${after.at}::timestamptz`),
          eb.and([
            eb("m.created_at", "=", sql<Date>`${after.at}::timestamptz`),
            eb("m.user_id", ">", after.id),
          ]),
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

export async function getMember(db: Database, ctx: RequestContext, userId: string): Promise<MemberView> {
  const { organizationId } = scopeOf(ctx);
  const row = await db.withOrganization(organizationId, ctx, (tx) =>
    members(tx).where("m.user_id", "=", userId).executeTakeFirst(),
  );
  if (!row) throw new AppError("users.not_found");
  return view(row);
}

/** Locks the organisation's Owners so two concurrent demotions cannot leave it with none. */
async function lockOwners(tx: OrganizationTransaction): Promise<string[]> {
  const rows = await tx.db
    .selectFrom("memberships")
    .select("user_id")
    .where("role", "=", "owner")
    .orderBy("user_id")
    .forUpdate()
    .execute();
  return rows.map((r) => r.user_id);
}

/**
 * Locks the member and, when they are an Owner, every Owner first (always in the same order, so
 * concurrent changes cannot deadlock). Changes to other roles lock only their own row.
 */
async function lockForChange(
  tx: OrganizationTransaction,
  userId: string,
): Promise<{ role: Role; owners: string[] }> {
  const current = await tx.db
    .selectFrom("memberships")
    .select("role")
    .where("user_id", "=", userId)
    .executeTakeFirst();
  if (!current) throw new AppError("users.not_found");
  const owners = current.role === "owner" ? await lockOwners(tx) : [];
  const role = await lockMember(tx, userId);
  // Promoted to Owner between the read and the lock: take the Owners' locks now.
  return { role, owners: role === "owner" && owners.length === 0 ? await lockOwners(tx) : owners };
}

async function lockMember(tx: OrganizationTransaction, userId: string): Promise<Role> {
  const row = await tx.db
    .selectFrom("memberships")
    .select("role")
    .where("user_id", "=", userId)
    .forUpdate()
    .executeTakeFirst();
  if (!row) throw new AppError("users.not_found");
  return row.role as Role;
}

export async function changeRole(
  db: Database,
  ctx: RequestContext,
  userId: string,
  role: AssignableRole,
): Promise<MemberView> {
  const { organizationId, role: actorRole } = scopeOf(ctx);
  return db.withOrganization(organizationId, ctx, async (tx) => {
    const { role: from, owners } = await lockForChange(tx, userId);
    if (!mayChangeRole(actorRole, from, role)) throw new AppError("users.owner_only", { field: "role" });
    if (from === "owner" && role !== "owner" && owners.length <= 1) throw new AppError("users.last_owner");
    await tx.db
      .updateTable("memberships")
      .set({ role, updated_at: new Date() })
      .where("user_id", "=", userId)
      .execute();
    tx.audit({
      action: "users.role_changed",
      target: { type: "user", id: userId },
      details: { from, to: role },
    });
    const row = await members(tx).where("m.user_id", "=", userId).executeTakeFirstOrThrow();
    return view(row);
  });
}

export async function removeMember(db: Database, ctx: RequestContext, userId: string): Promise<void> {
  const { organizationId, role: actorRole } = scopeOf(ctx);
  await db.withOrganization(organizationId, ctx, async (tx) => {
    const { role, owners } = await lockForChange(tx, userId);
    if (!mayRemoveMember(actorRole, role)) throw new AppError("users.owner_only");
    if (role === "owner" && owners.length <= 1) throw new AppError("users.last_owner");
    await tx.db.deleteFrom("memberships").where("user_id", "=", userId).execute();
    tx.audit({ action: "users.removed", target: { type: "user", id: userId }, details: { role } });
  });
}
