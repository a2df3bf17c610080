import { generateToken, hashToken, TOKEN_PREFIXES } from "@patchpilot/protocol";
import { sql } from "kysely";
import type { Database } from "../db/database.js";
import { AppError } from "../http/errors.js";
import { decodeCursor, encodeCursor, type Page, preciseTimestamp } from "../http/pagination.js";
import { type RequestContext, scopeOf } from "../http/route.js";

export interface EnrollmentTokenView {
  id: string;
  name: string;
  /** The token's first characters, to tell tokens apart; never the secret. */
  hint: string;
  groupId: string | null;
  status: "active" | "expired" | "used_up" | "revoked";
  uses: number;
  maxUses: number | null;
  createdBy: string | null;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
}

const COLUMNS = [
  "id",
  "name",
  "token_hint",
  "group_id",
  "uses",
  "max_uses",
  "created_by",
  "created_at",
  "expires_at",
  "last_used_at",
  "revoked_at",
] as const;

interface Row {
  id: string;
  name: string;
  token_hint: string;
  group_id: string | null;
  uses: number;
  max_uses: number | null;
  created_by: string | null;
  created_at: Date;
  expires_at: Date | null;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

function view(row: Row): EnrollmentTokenView {
  const status = row.revoked_at
    ? "revoked"
    : row.expires_at && row.expires_at.getTime() <= Date.now()
      ? "expired"
      : row.max_uses !== null && row.uses >= row.max_uses
        ? "used_up"
        : "active";
  return {
    id: row.id,
    name: row.name,
    hint: row.token_hint,
    groupId: row.group_id,
    status,
    uses: row.uses,
    maxUses: row.max_uses,
    createdBy: row.created_by,
    createdAt: row.created_at.toISOString(),
    expiresAt: row.expires_at?.toISOString() ?? null,
    lastUsedAt: row.last_used_at?.toISOString() ?? null,
  };
}

/** The prefix and four characters of the random part: enough to recognise, far too little to guess. */
function hintOf(token: string): string {
  return `${token.slice(0, TOKEN_PREFIXES.enrollment.length + 5)}…`;
}

export interface NewEnrollmentToken {
  name: string;
  expiresAt?: string;
  maxUses?: number;
  groupId?: string;
}

/** Creates an enrolment token; the secret is in this answer only. */
export async function createEnrollmentToken(
  db: Database,
  ctx: RequestContext,
  input: NewEnrollmentToken,
): Promise<{ token: string; enrollmentToken: EnrollmentTokenView }> {
  const { organizationId } = scopeOf(ctx);
  const expiresAt = input.expiresAt ? new Date(input.expiresAt) : null;
  if (expiresAt && expiresAt.getTime() <= Date.now()) {
    throw new AppError("request.invalid", {
      field: "body/expiresAt",
      message: "body/expiresAt must be in the future.",
    });
  }
  const token = generateToken("enrollment");
  return db.withOrganization(organizationId, ctx, async (tx) => {
    if (input.groupId) {
      const group = await tx.db
        .selectFrom("device_groups")
        .select("id")
        .where("id", "=", input.groupId)
        .executeTakeFirst();
      if (!group) throw new AppError("device_groups.not_found", { field: "body/groupId" });
    }
    const row = await tx.db
      .insertInto("enrollment_tokens")
      .values({
        name: input.name,
        token_hash: hashToken(token),
        token_hint: hintOf(token),
        group_id: input.groupId ?? null,
        created_by: ctx.user?.id ?? null,
        expires_at: expiresAt,
        max_uses: input.maxUses ?? null,
      })
      .returning(COLUMNS)
      .executeTakeFirstOrThrow();
    tx.audit({
      action: "enrollment_tokens.created",
      target: { type: "enrollment_token", id: row.id },
      details: { name: row.name, expiresAt: row.expires_at, maxUses: row.max_uses, groupId: row.group_id },
    });
    return { token, enrollmentToken: view(row) };
  });
}

export async function listEnrollmentTokens(
  db: Database,
  ctx: RequestContext,
  query: { limit: number; cursor?: string },
): Promise<Page<EnrollmentTokenView>> {
  const { organizationId } = scopeOf(ctx);
  const after = query.cursor ? decodeCursor(query.cursor) : null;
  const rows = await db.withOrganization(organizationId, ctx, async (tx) => {
    let q = tx.db
      .selectFrom("enrollment_tokens")
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

export async function revokeEnrollmentToken(
  db: Database,
  ctx: RequestContext,
  tokenId: string,
): Promise<void> {
  const { organizationId } = scopeOf(ctx);
  await db.withOrganization(organizationId, ctx, async (tx) => {
    const row = await tx.db
      .updateTable("enrollment_tokens")
      .set({ revoked_at: sql<Date>`coalesce(revoked_at, now())` })
      .where("id", "=", tokenId)
      .returning(["id", "name"])
      .executeTakeFirst();
    if (!row) throw new AppError("enrollment_tokens.not_found");
    tx.audit({
      action: "enrollment_tokens.revoked",
      target: { type: "enrollment_token", id: row.id },
      details: { name: row.name },
    });
  });
}
