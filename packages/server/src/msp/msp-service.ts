import { isPlan, type Plan } from "@patchpilot/domain";
import { generateToken, hashToken } from "@patchpilot/protocol";
import type { Database } from "../db/database.js";
import { AppError } from "../http/errors.js";
import { type RequestContext, scopeOf } from "../http/route.js";
import { requirePlanFeature } from "../organizations/plan-gate.js";

const INVITATION_TTL_MS = 7 * 24 * 3600 * 1000;

export interface ClientView {
  id: string;
  name: string;
  plan: string;
  createdAt: string;
  technicians: { userId: string; name: string; email: string }[];
}

/**
 * Creates a client organisation managed by the caller's MSP organisation (MSP plan), assigns the
 * creator to it, and, when an Owner's email is given, invites them (the token is returned once).
 * The client's chain records that its MSP created it and who did.
 */
export async function createClient(
  db: Database,
  ctx: RequestContext,
  input: { name: string; plan?: Plan; ownerEmail?: string },
): Promise<{ client: ClientView; ownerInvitationToken: string | null }> {
  const { organizationId: mspId } = scopeOf(ctx);
  const user = ctx.user;
  if (!user) throw new AppError("api_tokens.not_for_this_route");
  const msp = await db.withOrganization(mspId, ctx, async (tx) => {
    await requirePlanFeature(tx, "msp_clients");
    return tx.db.selectFrom("organizations").select(["id", "name"]).executeTakeFirstOrThrow();
  });
  const plan = input.plan ?? "professional";
  const invitationToken = input.ownerEmail ? generateToken("invitation") : null;
  const mspActor = { type: "msp_technician", msp: msp.id, mspName: msp.name };
  const created = await db.system(ctx, async (tx) => {
    const org = await tx.db
      .insertInto("organizations")
      .values({ name: input.name, plan })
      .returning(["id", "name", "plan", "created_at"])
      .executeTakeFirstOrThrow();
    await tx.db
      .insertInto("audit_chain_heads")
      .values([
        { organization_id: org.id, chain: "audit" },
        { organization_id: org.id, chain: "device" },
      ])
      .execute();
    await tx.db
      .insertInto("msp_clients")
      .values({ organization_id: org.id, msp_organization_id: msp.id, created_by: user.id })
      .execute();
    await tx.db
      .insertInto("msp_assignments")
      .values({
        organization_id: org.id,
        msp_organization_id: msp.id,
        user_id: user.id,
        assigned_by: user.id,
      })
      .execute();
    if (input.ownerEmail && invitationToken) {
      const invitation = await tx.db
        .insertInto("invitations")
        .values({
          organization_id: org.id,
          email: input.ownerEmail.trim().toLowerCase(),
          role: "owner",
          token_hash: hashToken(invitationToken),
          invited_by: user.id,
          expires_at: new Date(Date.now() + INVITATION_TTL_MS),
        })
        .returning("id")
        .executeTakeFirstOrThrow();
      tx.audit(org.id, {
        action: "invitations.created",
        target: { type: "invitation", id: invitation.id },
        details: { role: "owner", actor: mspActor },
      });
    }
    tx.audit(mspId, {
      action: "msp.client_created",
      target: { type: "organization", id: org.id },
      details: { name: org.name, plan: org.plan },
    });
    tx.audit(org.id, {
      action: "organization.created",
      target: { type: "organization", id: org.id },
      details: { plan: org.plan, actor: mspActor },
    });
    tx.audit(org.id, {
      action: "msp.technician_assigned",
      target: { type: "user", id: user.id },
      details: { actor: mspActor },
    });
    return org;
  });
  return {
    client: {
      id: created.id,
      name: created.name,
      plan: created.plan,
      createdAt: created.created_at.toISOString(),
      technicians: [{ userId: user.id, name: user.name, email: user.email }],
    },
    ownerInvitationToken: invitationToken,
  };
}

/**
 * The MSP's clients and who is assigned to each: names only, read through the client rows that
 * name this MSP. No client data beyond that; work in a client is a request to that client.
 */
export async function listClients(db: Database, ctx: RequestContext): Promise<ClientView[]> {
  const { organizationId: mspId } = scopeOf(ctx);
  const rows = await db.systemReader
    .selectFrom("msp_clients as c")
    .innerJoin("organizations as o", "o.id", "c.organization_id")
    .select(["o.id", "o.name", "o.plan", "c.created_at"])
    .where("c.msp_organization_id", "=", mspId)
    .orderBy("o.name")
    .orderBy("o.id")
    .execute();
  const technicians = await db.systemReader
    .selectFrom("msp_assignments as a")
    .innerJoin("users as u", "u.id", "a.user_id")
    .select(["a.organization_id", "u.id", "u.name", "u.email"])
    .where("a.msp_organization_id", "=", mspId)
    .orderBy("u.name")
    .execute();
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    plan: r.plan,
    createdAt: r.created_at.toISOString(),
    technicians: technicians
      .filter((t) => t.organization_id === r.id)
      .map((t) => ({ userId: t.id, name: t.name, email: t.email })),
  }));
}

async function assertClientOf(db: Database, mspId: string, clientId: string): Promise<void> {
  const row = await db.systemReader
    .selectFrom("msp_clients")
    .select("organization_id")
    .where("organization_id", "=", clientId)
    .where("msp_organization_id", "=", mspId)
    .executeTakeFirst();
  if (!row) throw new AppError("msp.not_found");
}

/** Lets a member of the MSP act in one client, as MSP Tenant Admin; recorded in both chains. */
export async function assignTechnician(
  db: Database,
  ctx: RequestContext,
  clientId: string,
  userId: string,
): Promise<void> {
  const { organizationId: mspId } = scopeOf(ctx);
  await assertClientOf(db, mspId, clientId);
  await db.system(ctx, async (tx) => {
    const staff = await tx.db
      .selectFrom("memberships")
      .select("user_id")
      .where("organization_id", "=", mspId)
      .where("user_id", "=", userId)
      .executeTakeFirst();
    if (!staff) throw new AppError("msp.not_staff", { field: "userId" });
    const inserted = await tx.db
      .insertInto("msp_assignments")
      .values({
        organization_id: clientId,
        msp_organization_id: mspId,
        user_id: userId,
        assigned_by: ctx.user?.id ?? null,
      })
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    const changed = Number(inserted.numInsertedOrUpdatedRows ?? 0n) > 0;
    const event = {
      action: "msp.technician_assigned",
      target: { type: "user", id: userId },
      details: { client: clientId, msp: mspId, alreadyAssigned: !changed },
    };
    tx.audit(mspId, event);
    tx.audit(clientId, event);
  });
}

export async function unassignTechnician(
  db: Database,
  ctx: RequestContext,
  clientId: string,
  userId: string,
): Promise<void> {
  const { organizationId: mspId } = scopeOf(ctx);
  await assertClientOf(db, mspId, clientId);
  await db.system(ctx, async (tx) => {
    const removed = await tx.db
      .deleteFrom("msp_assignments")
      .where("organization_id", "=", clientId)
      .where("msp_organization_id", "=", mspId)
      .where("user_id", "=", userId)
      .executeTakeFirst();
    if (removed.numDeletedRows !== 1n) throw new AppError("msp.not_assigned");
    const event = {
      action: "msp.technician_unassigned",
      target: { type: "user", id: userId },
      details: { client: clientId, msp: mspId },
    };
    tx.audit(mspId, event);
    tx.audit(clientId, event);
  });
}

/** The clients a person is assigned to, across MSPs: ids and names, to pick the one to act in. */
export async function myClients(db: Database, ctx: RequestContext) {
  if (!ctx.user) throw new AppError("auth.required");
  const rows = await db.systemReader
    .selectFrom("msp_assignments as a")
    .innerJoin("msp_clients as c", (j) =>
      j
        .onRef("c.organization_id", "=", "a.organization_id")
        .onRef("c.msp_organization_id", "=", "a.msp_organization_id"),
    )
    .innerJoin("memberships as m", (j) =>
      j.onRef("m.organization_id", "=", "a.msp_organization_id").onRef("m.user_id", "=", "a.user_id"),
    )
    .innerJoin("organizations as o", "o.id", "a.organization_id")
    .innerJoin("organizations as msp", "msp.id", "a.msp_organization_id")
    .select(["o.id", "o.name", "msp.id as msp_id", "msp.name as msp_name"])
    .where("a.user_id", "=", ctx.user.id)
    .orderBy("o.name")
    .execute();
  return rows.map((r) => ({ id: r.id, name: r.name, msp: { id: r.msp_id, name: r.msp_name } }));
}

/** For a client's own people: which MSP manages it and which of its staff may act here. */
export async function clientTechnicians(db: Database, ctx: RequestContext) {
  const { organizationId } = scopeOf(ctx);
  const rows = await db.withOrganization(organizationId, ctx, (tx) =>
    tx.db.selectFrom("msp_assignments").select(["user_id", "msp_organization_id", "created_at"]).execute(),
  );
  if (rows.length === 0) return [];
  // MSP staff are not members here, so their names are read by the system role, for these ids only.
  const people = await db.systemReader
    .selectFrom("users")
    .select(["id", "name", "email"])
    .where(
      "id",
      "in",
      rows.map((r) => r.user_id),
    )
    .execute();
  const msps = await db.systemReader
    .selectFrom("organizations")
    .select(["id", "name"])
    .where(
      "id",
      "in",
      rows.map((r) => r.msp_organization_id),
    )
    .execute();
  return rows.map((r) => {
    const p = people.find((x) => x.id === r.user_id);
    const m = msps.find((x) => x.id === r.msp_organization_id);
    return {
      userId: r.user_id,
      name: p?.name ?? "",
      email: p?.email ?? "",
      msp: { id: r.msp_organization_id, name: m?.name ?? "" },
      assignedAt: r.created_at.toISOString(),
    };
  });
}

export function parsePlan(value: string | undefined): Plan | undefined {
  if (value === undefined) return undefined;
  if (!isPlan(value) || value === "msp") throw new AppError("request.invalid", { field: "body/plan" });
  return value;
}
