import { sql } from "kysely";
import type { Database, OrganizationTransaction } from "../db/database.js";
import { AppError } from "../http/errors.js";
import { type RequestContext, scopeOf } from "../http/route.js";

export interface DeviceGroupView {
  id: string;
  name: string;
  description: string;
  timeZone: string;
  deviceCount: number;
  createdAt: string;
}

export interface GroupInput {
  name?: string;
  description?: string;
  timeZone?: string;
}

/** An IANA time zone the runtime knows (maintenance windows are computed in it). */
function assertTimeZone(timeZone: string | undefined): void {
  if (timeZone === undefined) return;
  try {
    new Intl.DateTimeFormat("en", { timeZone });
  } catch {
    throw new AppError("request.invalid", {
      field: "body/timeZone",
      message: "body/timeZone is not an IANA time zone (for example Europe/Berlin).",
    });
  }
}

const UNIQUE_VIOLATION = "23505";

function isUniqueViolation(error: unknown): boolean {
  return typeof error === "object" && error !== null && "code" in error && error.code === UNIQUE_VIOLATION;
}

function groupSelect(tx: OrganizationTransaction) {
  return tx.db
    .selectFrom("device_groups as g")
    .select((eb) => [
      "g.id",
      "g.name",
      "g.description",
      "g.time_zone",
      "g.created_at",
      eb
        .selectFrom("device_group_members as m")
        .select(sql<number>`count(*)::int`.as("n"))
        .whereRef("m.group_id", "=", "g.id")
        .as("device_count"),
    ]);
}

function view(r: {
  id: string;
  name: string;
  description: string;
  time_zone: string;
  created_at: Date;
  device_count: number | null;
}): DeviceGroupView {
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    timeZone: r.time_zone,
    deviceCount: r.device_count ?? 0,
    createdAt: r.created_at.toISOString(),
  };
}

export async function listGroups(db: Database, ctx: RequestContext): Promise<DeviceGroupView[]> {
  const { organizationId } = scopeOf(ctx);
  const rows = await db.withOrganization(organizationId, ctx, (tx) =>
    groupSelect(tx).orderBy("g.name").limit(1000).execute(),
  );
  return rows.map(view);
}

export async function createGroup(
  db: Database,
  ctx: RequestContext,
  input: Required<Pick<GroupInput, "name">> & GroupInput,
): Promise<DeviceGroupView> {
  const { organizationId } = scopeOf(ctx);
  assertTimeZone(input.timeZone);
  try {
    return await db.withOrganization(organizationId, ctx, async (tx) => {
      const row = await tx.db
        .insertInto("device_groups")
        .values({
          name: input.name,
          description: input.description ?? "",
          time_zone: input.timeZone ?? "UTC",
        })
        .returning("id")
        .executeTakeFirstOrThrow();
      tx.audit({
        action: "device_groups.created",
        target: { type: "device_group", id: row.id },
        details: { name: input.name },
      });
      return view(await groupSelect(tx).where("g.id", "=", row.id).executeTakeFirstOrThrow());
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw new AppError("device_groups.name_taken", { field: "body/name" });
    throw error;
  }
}

export async function updateGroup(
  db: Database,
  ctx: RequestContext,
  groupId: string,
  input: GroupInput,
): Promise<DeviceGroupView> {
  const { organizationId } = scopeOf(ctx);
  assertTimeZone(input.timeZone);
  try {
    return await db.withOrganization(organizationId, ctx, async (tx) => {
      const row = await tx.db
        .updateTable("device_groups")
        .set({
          ...(input.name !== undefined ? { name: input.name } : {}),
          ...(input.description !== undefined ? { description: input.description } : {}),
          ...(input.timeZone !== undefined ? { time_zone: input.timeZone } : {}),
          updated_at: new Date(),
        })
        .where("id", "=", groupId)
        .returning("id")
        .executeTakeFirst();
      if (!row) throw new AppError("device_groups.not_found");
      tx.audit({
        action: "device_groups.updated",
        target: { type: "device_group", id: groupId },
        details: { ...input },
      });
      return view(await groupSelect(tx).where("g.id", "=", groupId).executeTakeFirstOrThrow());
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw new AppError("device_groups.name_taken", { field: "body/name" });
    throw error;
  }
}

export async function deleteGroup(db: Database, ctx: RequestContext, groupId: string): Promise<void> {
  const { organizationId } = scopeOf(ctx);
  await db.withOrganization(organizationId, ctx, async (tx) => {
    const row = await tx.db
      .deleteFrom("device_groups")
      .where("id", "=", groupId)
      .returning(["id", "name"])
      .executeTakeFirst();
    if (!row) throw new AppError("device_groups.not_found");
    tx.audit({
      action: "device_groups.deleted",
      target: { type: "device_group", id: groupId },
      details: { name: row.name },
    });
  });
}

export async function setGroupMembership(
  db: Database,
  ctx: RequestContext,
  groupId: string,
  deviceId: string,
  member: boolean,
): Promise<void> {
  const { organizationId } = scopeOf(ctx);
  await db.withOrganization(organizationId, ctx, async (tx) => {
    const group = await tx.db
      .selectFrom("device_groups")
      .select("id")
      .where("id", "=", groupId)
      .executeTakeFirst();
    if (!group) throw new AppError("device_groups.not_found");
    const device = await tx.db
      .selectFrom("devices")
      .select("id")
      .where("id", "=", deviceId)
      .where("retired_at", "is", null)
      .executeTakeFirst();
    if (!device) throw new AppError("devices.not_found");
    if (member) {
      await tx.db
        .insertInto("device_group_members")
        .values({ group_id: groupId, device_id: deviceId })
        .onConflict((oc) => oc.columns(["group_id", "device_id"]).doNothing())
        .execute();
    } else {
      await tx.db
        .deleteFrom("device_group_members")
        .where("group_id", "=", groupId)
        .where("device_id", "=", deviceId)
        .execute();
    }
    tx.audit({
      action: member ? "device_groups.device_added" : "device_groups.device_removed",
      target: { type: "device_group", id: groupId },
      details: { deviceId },
    });
  });
}
