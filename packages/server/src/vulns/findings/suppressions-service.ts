import { sql } from "kysely";
import { anyOf } from "../../db/any-of.js";
import type { Database, OrganizationTransaction } from "../../db/database.js";
import { decodeCursor, encodeCursor, type Page, preciseTimestamp } from "../../http/pagination.js";
import { type RequestContext, scopeOf } from "../../http/route.js";
import { insertSuppression, revokeSuppressionIn, type SuppressionInput } from "./suppression-rules.js";
import { vulnerabilitiesNamed } from "./vulnerability-ids.js";

export interface SuppressionView {
  id: string;
  vulnerabilityId: string;
  packageName: string | null;
  scope: { type: string; id: string | null };
  kind: string;
  justification: string | null;
  reason: string;
  owner: string;
  createdBy: string | null;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  state: "active" | "expired" | "revoked";
  findingCount: number;
}

export type SuppressionState = "active" | "expired" | "revoked";

function suppressionSelect(tx: OrganizationTransaction) {
  return tx.db
    .selectFrom("suppressions as s")
    .selectAll("s")
    .select([
      preciseTimestamp("s.created_at").as("at"),
      sql<SuppressionState>`CASE WHEN s.revoked_at IS NOT NULL THEN 'revoked'
                                 WHEN s.expires_at <= now() THEN 'expired' ELSE 'active' END`.as("state"),
    ]);
}

type Row = Awaited<ReturnType<ReturnType<typeof suppressionSelect>["executeTakeFirstOrThrow"]>>;

/** The findings each suppression decides now (one grouped statement for a page). */
async function views(tx: OrganizationTransaction, rows: readonly Row[]): Promise<SuppressionView[]> {
  const counts =
    rows.length === 0
      ? []
      : await tx.db
          .selectFrom("findings")
          .select(["suppression_id", sql<number>`count(*)::int`.as("n")])
          .where(
            anyOf(
              "suppression_id",
              rows.map((r) => r.id),
              "uuid",
            ),
          )
          .where("status", "in", ["accepted_risk", "false_positive"])
          .groupBy("suppression_id")
          .execute();
  const byId = new Map(counts.map((c) => [c.suppression_id, c.n]));
  return rows.map((r) => ({
    id: r.id,
    vulnerabilityId: r.vulnerability_id,
    packageName: r.package_name,
    scope: { type: r.scope_type, id: r.scope_id },
    kind: r.kind,
    justification: r.justification,
    reason: r.reason,
    owner: r.owner,
    createdBy: r.created_by,
    createdAt: r.created_at.toISOString(),
    expiresAt: r.expires_at?.toISOString() ?? null,
    revokedAt: r.revoked_at?.toISOString() ?? null,
    state: r.state,
    findingCount: byId.get(r.id) ?? 0,
  }));
}

export async function suppressionView(tx: OrganizationTransaction, id: string): Promise<SuppressionView> {
  const row = await suppressionSelect(tx).where("s.id", "=", id).executeTakeFirstOrThrow();
  const [view] = await views(tx, [row]);
  if (!view) throw new Error("a suppression read back has a view");
  return view;
}

export async function createSuppression(
  db: Database,
  ctx: RequestContext,
  input: SuppressionInput,
): Promise<SuppressionView> {
  const { organizationId } = scopeOf(ctx);
  return db.withOrganization(organizationId, ctx, async (tx) => {
    const { id } = await insertSuppression(tx, ctx, input);
    return suppressionView(tx, id);
  });
}

export async function revokeSuppression(
  db: Database,
  ctx: RequestContext,
  suppressionId: string,
): Promise<void> {
  const { organizationId } = scopeOf(ctx);
  await db.withOrganization(organizationId, ctx, async (tx) => {
    await revokeSuppressionIn(tx, suppressionId);
  });
}

/** Decisions, newest first, with their state (active, expired or revoked), a keyset page at a time. */
export async function listSuppressions(
  db: Database,
  ctx: RequestContext,
  query: { limit: number; cursor?: string; vulnerabilityId?: string; state?: SuppressionState },
): Promise<Page<SuppressionView>> {
  const { organizationId } = scopeOf(ctx);
  const after = query.cursor ? decodeCursor(query.cursor) : null;
  return db.withOrganization(organizationId, ctx, async (tx) => {
    let q = suppressionSelect(tx)
      .orderBy("s.created_at", "desc")
      .orderBy("s.id", "desc")
      .limit(query.limit + 1);
    if (after) {
      q = q.where(sql<boolean>`(s.created_at, s.id) < (${after.at}::timestamptz, ${after.id}::uuid)`);
    }
    if (query.vulnerabilityId) {
      q = q.where(sql<boolean>`s.vulnerability_id IN ${vulnerabilitiesNamed(query.vulnerabilityId)}`);
    }
    if (query.state === "revoked") q = q.where("s.revoked_at", "is not", null);
    if (query.state === "expired")
      q = q.where("s.revoked_at", "is", null).where("s.expires_at", "<=", sql<Date>`now()`);
    if (query.state === "active") {
      q = q
        .where("s.revoked_at", "is", null)
        .where((eb) => eb.or([eb("s.expires_at", "is", null), eb("s.expires_at", ">", sql<Date>`now()`)]));
    }
    const rows = await q.execute();
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return {
      items: await views(tx, page),
      nextCursor: rows.length > query.limit && last ? encodeCursor({ at: last.at, id: last.id }) : null,
    };
  });
}
