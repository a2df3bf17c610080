import { type AssignableRole, isRole, mayGrantRole, type Role } from "@patchpilot/domain";
import { generateToken, hashToken, isWellFormedToken } from "@patchpilot/protocol";
import { PLATFORM_ORGANIZATION_ID } from "../../audit/chain.js";
import type { Database } from "../../db/database.js";
import type { AuditContext } from "../../db/unit-of-work.js";
import { AppError } from "../../http/errors.js";
import { type RequestContext, scopeOf } from "../../http/route.js";
import { mayRecordPlatformRefusal } from "../rate-limit.js";

export interface ApiTokenView {
  id: string;
  name: string;
  role: string;
  hint: string;
  createdBy: string | null;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

function view(r: {
  id: string;
  name: string;
  role: string;
  hint: string;
  created_by: string | null;
  created_at: Date;
  expires_at: Date | null;
  last_used_at: Date | null;
  revoked_at: Date | null;
}): ApiTokenView {
  return {
    id: r.id,
    name: r.name,
    role: r.role,
    hint: r.hint,
    createdBy: r.created_by,
    createdAt: r.created_at.toISOString(),
    expiresAt: r.expires_at?.toISOString() ?? null,
    lastUsedAt: r.last_used_at?.toISOString() ?? null,
    revokedAt: r.revoked_at?.toISOString() ?? null,
  };
}

const COLUMNS = [
  "id",
  "name",
  "role",
  "hint",
  "created_by",
  "created_at",
  "expires_at",
  "last_used_at",
  "revoked_at",
] as const;

/**
 * A new token for automation, shown once. Its role is never higher than its creator's, and only
 * a person makes one (a token cannot mint more tokens).
 */
export async function createApiToken(
  db: Database,
  ctx: RequestContext,
  input: { name: string; role: AssignableRole; expiresAt?: string },
): Promise<{ token: string; apiToken: ApiTokenView }> {
  const { organizationId, role } = scopeOf(ctx);
  if (!ctx.user) throw new AppError("api_tokens.not_for_this_route");
  if (!mayGrantRole(role, input.role)) throw new AppError("api_tokens.role_too_high", { field: "body/role" });
  const expiresAt = input.expiresAt ? new Date(input.expiresAt) : null;
  if (expiresAt && expiresAt.getTime() <= Date.now()) {
    throw new AppError("request.invalid", {
      field: "body/expiresAt",
      message: "body/expiresAt must be in the future.",
    });
  }
  const token = generateToken("apiToken");
  return db.withOrganization(organizationId, ctx, async (tx) => {
    const taken = await tx.db
      .selectFrom("api_tokens")
      .select("id")
      .where("name", "=", input.name)
      .executeTakeFirst();
    if (taken) throw new AppError("api_tokens.name_taken", { field: "body/name" });
    const row = await tx.db
      .insertInto("api_tokens")
      .values({
        name: input.name,
        role: input.role,
        token_hash: hashToken(token),
        // Enough to tell tokens apart in a list, far too little to use.
        hint: `${token.slice(0, 9)}…`,
        created_by: ctx.user?.id ?? null,
        expires_at: expiresAt,
      })
      .returning(COLUMNS)
      .executeTakeFirstOrThrow();
    tx.audit({
      action: "api_tokens.created",
      target: { type: "api_token", id: row.id },
      details: { name: row.name, role: row.role, expiresAt: expiresAt?.toISOString() ?? null },
    });
    return { token, apiToken: view(row) };
  });
}

export async function listApiTokens(db: Database, ctx: RequestContext): Promise<ApiTokenView[]> {
  const { organizationId } = scopeOf(ctx);
  return db.withOrganization(organizationId, ctx, async (tx) => {
    const rows = await tx.db
      .selectFrom("api_tokens")
      .select(COLUMNS)
      .orderBy("created_at")
      .orderBy("id")
      .execute();
    return rows.map(view);
  });
}

export async function revokeApiToken(db: Database, ctx: RequestContext, tokenId: string): Promise<void> {
  const { organizationId } = scopeOf(ctx);
  await db.withOrganization(organizationId, ctx, async (tx) => {
    const row = await tx.db
      .updateTable("api_tokens")
      .set({ revoked_at: new Date() })
      .where("id", "=", tokenId)
      .where("revoked_at", "is", null)
      .returning(["id", "name"])
      .executeTakeFirst();
    if (!row) throw new AppError("api_tokens.not_found");
    tx.audit({
      action: "api_tokens.revoked",
      target: { type: "api_token", id: row.id },
      details: { name: row.name },
    });
  });
}

export interface ApiTokenCaller {
  tokenId: string;
  name: string;
  organizationId: string;
  role: Role;
}

/**
 * The token of an `Authorization: Bearer ppat_…` request to an organisation route. A token whose
 * checksum is wrong is refused without a lookup; an unknown, revoked or expired one after it. Every
 * accepted use records the time and an audit row under the token's name in its organisation; a
 * refused one is audited in the platform chain (or the token's organisation, when it is known).
 */
export async function authenticateApiToken(
  db: Database,
  token: string | null,
  organizationId: string,
  request: { method: string; route: string },
  client: Omit<AuditContext, "actor">,
): Promise<ApiTokenCaller> {
  const refuse = async (reason: string, known: { id: string; organizationId: string } | null) => {
    // A token nobody holds goes to the platform chain, throttled per client address.
    if (!known && !(await mayRecordPlatformRefusal(db, "api_token", client.ip))) {
      return new AppError("api_tokens.invalid");
    }
    await db.system({ ...client, actor: { type: "anonymous", id: null } }, async (tx) => {
      tx.audit(known?.organizationId ?? PLATFORM_ORGANIZATION_ID, {
        action: "api_tokens.rejected",
        result: "failure",
        errorCode: "api_tokens.invalid",
        ...(known ? { target: { type: "api_token", id: known.id } } : {}),
        details: { reason, ...request },
      });
    });
    return new AppError("api_tokens.invalid");
  };
  if (token === null || !isWellFormedToken("apiToken", token)) throw await refuse("malformed", null);
  const row = await db.systemReader
    .selectFrom("api_tokens")
    .select(["id", "organization_id", "name", "role", "expires_at", "revoked_at"])
    .where("token_hash", "=", hashToken(token))
    .executeTakeFirst();
  if (!row) throw await refuse("unknown", null);
  const known = { id: row.id, organizationId: row.organization_id };
  if (row.revoked_at) throw await refuse("revoked", known);
  if (row.expires_at && row.expires_at.getTime() <= Date.now()) throw await refuse("expired", known);
  if (!isRole(row.role)) throw await refuse("unknown role", known);
  // A token acts in its own organisation only; elsewhere it looks like a missing organisation.
  if (row.organization_id !== organizationId) throw new AppError("organization.not_found");
  const caller: ApiTokenCaller = { tokenId: row.id, name: row.name, organizationId, role: row.role };
  await db.withOrganization(
    organizationId,
    {
      ...client,
      actor: { type: "api_token", id: row.id },
      actorDetails: { type: "api_token", name: row.name },
    },
    async (tx) => {
      await tx.db
        .updateTable("api_tokens")
        .set({ last_used_at: new Date() })
        .where("id", "=", row.id)
        .execute();
      tx.audit({ action: "api_tokens.used", target: { type: "api_token", id: row.id }, details: request });
    },
  );
  return caller;
}
