import type { Database } from "../../db/database.js";
import { AppError } from "../../http/errors.js";
import { type RequestContext, scopeOf } from "../../http/route.js";
import { windowAt, windowProblem } from "./window-schedule.js";

export interface WindowInput {
  name: string;
  schedule: string;
  durationMinutes: number;
  timeZone: string;
}

export interface WindowView extends WindowInput {
  id: string;
  nextOpensAt: string;
  openNow: boolean;
}

function view(r: {
  id: string;
  name: string;
  schedule: string;
  duration_minutes: number;
  time_zone: string;
}): WindowView {
  const span = windowAt(
    { schedule: r.schedule, durationMinutes: r.duration_minutes, timeZone: r.time_zone },
    new Date(),
  );
  return {
    id: r.id,
    name: r.name,
    schedule: r.schedule,
    durationMinutes: r.duration_minutes,
    timeZone: r.time_zone,
    nextOpensAt: span.opensAt.toISOString(),
    openNow: span.open,
  };
}

function check(input: WindowInput): void {
  const problem = windowProblem({
    schedule: input.schedule,
    durationMinutes: input.durationMinutes,
    timeZone: input.timeZone,
  });
  if (problem)
    throw new AppError("windows.invalid", {
      message: `The maintenance window cannot be used: ${problem}.`,
      field: "body",
    });
}

const isUniqueViolation = (error: unknown) => (error as { code?: string }).code === "23505";

export async function listWindows(db: Database, ctx: RequestContext): Promise<WindowView[]> {
  return db.withOrganization(scopeOf(ctx).organizationId, ctx, async (tx) =>
    (await tx.db.selectFrom("maintenance_windows").selectAll().orderBy("name").execute()).map(view),
  );
}

export async function createWindow(
  db: Database,
  ctx: RequestContext,
  input: WindowInput,
): Promise<WindowView> {
  check(input);
  try {
    return await db.withOrganization(scopeOf(ctx).organizationId, ctx, async (tx) => {
      const row = await tx.db
        .insertInto("maintenance_windows")
        .values({
          name: input.name,
          schedule: input.schedule,
          duration_minutes: input.durationMinutes,
          time_zone: input.timeZone,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      tx.audit({
        action: "maintenance_windows.created",
        target: { type: "maintenance_window", id: row.id },
        details: { ...input },
      });
      return view(row);
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw new AppError("windows.name_taken", { field: "body/name" });
    throw error;
  }
}

export async function updateWindow(
  db: Database,
  ctx: RequestContext,
  id: string,
  input: WindowInput,
): Promise<WindowView> {
  check(input);
  try {
    return await db.withOrganization(scopeOf(ctx).organizationId, ctx, async (tx) => {
      const row = await tx.db
        .updateTable("maintenance_windows")
        .set({
          name: input.name,
          schedule: input.schedule,
          duration_minutes: input.durationMinutes,
          time_zone: input.timeZone,
          updated_at: new Date(),
        })
        .where("id", "=", id)
        .returningAll()
        .executeTakeFirst();
      if (!row) throw new AppError("windows.not_found");
      tx.audit({
        action: "maintenance_windows.updated",
        target: { type: "maintenance_window", id },
        details: { ...input },
      });
      return view(row);
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw new AppError("windows.name_taken", { field: "body/name" });
    throw error;
  }
}

export async function deleteWindow(db: Database, ctx: RequestContext, id: string): Promise<void> {
  await db.withOrganization(scopeOf(ctx).organizationId, ctx, async (tx) => {
    const used =
      (await tx.db
        .selectFrom("patch_policies")
        .select("id")
        .where("window_id", "=", id)
        .executeTakeFirst()) ??
      (await tx.db
        .selectFrom("rollouts")
        .select("id")
        .where("window_id", "=", id)
        .where("state", "in", ["running", "paused", "halted"])
        .executeTakeFirst());
    if (used) throw new AppError("windows.in_use");
    const gone = await tx.db
      .deleteFrom("maintenance_windows")
      .where("id", "=", id)
      .returning("name")
      .executeTakeFirst();
    if (!gone) throw new AppError("windows.not_found");
    tx.audit({
      action: "maintenance_windows.deleted",
      target: { type: "maintenance_window", id },
      details: { name: gone.name },
    });
  });
}
