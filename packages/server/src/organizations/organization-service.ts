import type { Database } from "../db/database.js";
import { AppError } from "../http/errors.js";
import { type RequestContext, scopeOf } from "../http/route.js";

export interface OrganizationView {
  id: string;
  name: string;
  plan: string;
  createdAt: string;
}

export async function getOrganization(db: Database, ctx: RequestContext): Promise<OrganizationView> {
  const { organizationId } = scopeOf(ctx);
  const row = await db.withOrganization(organizationId, ctx, (tx) =>
    tx.db.selectFrom("organizations").select(["id", "name", "plan", "created_at"]).executeTakeFirst(),
  );
  if (!row) throw new AppError("organization.not_found");
  return { id: row.id, name: row.name, plan: row.plan, createdAt: row.created_at.toISOString() };
}

export async function renameOrganization(
  db: Database,
  ctx: RequestContext,
  name: string,
): Promise<OrganizationView> {
  const { organizationId } = scopeOf(ctx);
  return db.withOrganization(organizationId, ctx, async (tx) => {
    const before = await tx.db.selectFrom("organizations").select("name").executeTakeFirstOrThrow();
    const row = await tx.db
      .updateTable("organizations")
      .set({ name, updated_at: new Date() })
      .where("id", "=", organizationId)
      .returning(["id", "name", "plan", "created_at"])
      .executeTakeFirstOrThrow();
    tx.audit({
      action: "organization.renamed",
      target: { type: "organization", id: organizationId },
      details: { from: before.name, to: name },
    });
    return { id: row.id, name: row.name, plan: row.plan, createdAt: row.created_at.toISOString() };
  });
}
