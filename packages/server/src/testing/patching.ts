import type { Database } from "../db/database.js";
import { insertRollout } from "../patching/rollouts/rollout-create.js";
import { SYSTEM_CONTEXT } from "./database.js";

/** A maintenance window of the organisation (Saturdays 02:00–06:00, London). */
export async function createTestWindow(
  db: Database,
  organizationId: string,
  name = `window ${crypto.randomUUID()}`,
): Promise<string> {
  return db.withOrganization(organizationId, SYSTEM_CONTEXT, async (tx) => {
    const row = await tx.db
      .insertInto("maintenance_windows")
      .values({ name, schedule: "0 2 * * 6", duration_minutes: 240, time_zone: "Europe/London" })
      .returning("id")
      .executeTakeFirstOrThrow();
    tx.audit({ action: "maintenance_windows.created", target: { type: "maintenance_window", id: row.id } });
    return row.id;
  });
}

/** A patch policy for a group of its own (a group has at most one policy). */
export async function createTestPolicy(
  db: Database,
  organizationId: string,
  name = `policy ${crypto.randomUUID()}`,
): Promise<string> {
  return db.withOrganization(organizationId, SYSTEM_CONTEXT, async (tx) => {
    const group = await tx.db
      .insertInto("device_groups")
      .values({ name: `${name} group` })
      .returning("id")
      .executeTakeFirstOrThrow();
    const row = await tx.db
      .insertInto("patch_policies")
      .values({ name, group_id: group.id, hold: ["postgresql-15"] })
      .returning("id")
      .executeTakeFirstOrThrow();
    tx.audit({ action: "patch_policies.created", target: { type: "patch_policy", id: row.id } });
    return row.id;
  });
}

/** A running rollout of one package to the group's devices, in one ring. */
export async function createTestRollout(
  db: Database,
  organizationId: string,
  groupId: string,
  name = `rollout ${crypto.randomUUID()}`,
): Promise<string> {
  return db.withOrganization(organizationId, SYSTEM_CONTEXT, (tx) =>
    insertRollout(
      tx,
      {
        name,
        mode: "packages",
        packages: [{ name: "openssl" }],
        rings: [
          { name: "test", groupIds: [groupId], successPercent: 95, soakMinutes: 60, requireApproval: true },
        ],
      },
      {},
    ),
  );
}
