import type { PatchTarget } from "@patchpilot/protocol";
import { sql } from "kysely";
import type { Database, OrganizationTransaction } from "../../db/database.js";
import { AppError } from "../../http/errors.js";
import { type RequestContext, scopeOf } from "../../http/route.js";
import { resolveVulnerability } from "../../vulns/findings/vulnerability-ids.js";
import type { RolloutInput } from "../schemas.js";

export const DEFAULT_GATE = { successPercent: 95, soakMinutes: 24 * 60 };

/** The packages that fix the open findings of these vulnerabilities: each at its highest fixed version. */
async function packagesFixing(tx: OrganizationTransaction, names: readonly string[]): Promise<PatchTarget[]> {
  const ids: string[] = [];
  for (const [i, name] of names.entries())
    ids.push(await resolveVulnerability(tx, name, `body/fixVulnerabilities/${i}`));
  const rows = await sql<{ package_name: string; fixed_version: string }>`
    SELECT DISTINCT package_name, fixed_version FROM findings
     WHERE vulnerability_id = ANY(${ids}::text[]) AND status = 'open' AND fixed_version IS NOT NULL`.execute(
    tx.db,
  );
  // Several fixed versions of one package (different releases): install the newest available.
  return [...new Set(rows.rows.map((r) => r.package_name))].sort().map((name) => ({ name }));
}

/**
 * Creates a rollout and plans it: every live device of each ring's groups is placed in the first
 * ring that names it, in one statement whatever the fleet's size. A ring that names a group of
 * another organisation (invisible here) or that ends up empty is refused, and nothing is written.
 */
export async function createRollout(db: Database, ctx: RequestContext, input: RolloutInput): Promise<string> {
  return db.withOrganization(scopeOf(ctx).organizationId, ctx, (tx) =>
    insertRollout(tx, input, { createdBy: ctx.actor.type === "user" ? ctx.actor.id : null }),
  );
}

/** Creates and plans a rollout in the caller's transaction (a person's, or a policy's run). */
export async function insertRollout(
  tx: OrganizationTransaction,
  input: RolloutInput,
  origin: { createdBy?: string | null; policyId?: string; scheduledFor?: Date },
): Promise<string> {
  if (input.mode !== "packages" && (input.packages?.length || input.fixVulnerabilities?.length)) {
    throw new AppError("rollouts.packages_not_allowed", { field: "body/packages" });
  }
  const groupIds = [...new Set(input.rings.flatMap((r) => r.groupIds))];
  const groups = await tx.db
    .selectFrom("device_groups")
    .select("id")
    .where(sql<boolean>`id = ANY(${groupIds}::uuid[])`)
    .execute();
  const known = new Set(groups.map((g) => g.id));
  for (const [i, ring] of input.rings.entries()) {
    const j = ring.groupIds.findIndex((g) => !known.has(g));
    if (j >= 0) throw new AppError("rollouts.group_not_found", { field: `body/rings/${i}/groupIds/${j}` });
  }
  if (input.windowId) {
    const window = await tx.db
      .selectFrom("maintenance_windows")
      .select("id")
      .where("id", "=", input.windowId)
      .executeTakeFirst();
    if (!window) throw new AppError("rollouts.window_not_found", { field: "body/windowId" });
  }
  let packages: PatchTarget[] = input.packages ?? [];
  if (input.mode === "packages" && input.fixVulnerabilities?.length) {
    packages = [...packages, ...(await packagesFixing(tx, input.fixVulnerabilities))];
  }
  if (input.mode === "packages" && packages.length === 0) {
    throw new AppError("rollouts.nothing_to_install", { field: "body/packages" });
  }
  const rollout = await tx.db
    .insertInto("rollouts")
    .values({
      name: input.name,
      mode: input.mode,
      packages: JSON.stringify(packages),
      findings: input.fixVulnerabilities
        ? JSON.stringify({ vulnerabilities: input.fixVulnerabilities })
        : null,
      hold: input.hold ?? [],
      pre_update: input.preUpdate ? JSON.stringify(input.preUpdate) : null,
      health_check: input.healthCheck ? JSON.stringify(input.healthCheck) : null,
      rollback_on_failure: input.rollbackOnFailure ?? true,
      max_reboot_deferrals: input.maxRebootDeferrals ?? 3,
      reboot: input.reboot ?? "if_required",
      window_id: input.windowId ?? null,
      max_attempts: input.maxAttempts ?? 3,
      device_timeout_hours: input.deviceTimeoutHours ?? 24,
      created_by: origin.createdBy ?? null,
      policy_id: origin.policyId ?? null,
      scheduled_for: origin.scheduledFor ?? null,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  await tx.db
    .insertInto("rollout_rings")
    .values(
      input.rings.map((ring, position) => ({
        rollout_id: rollout.id,
        position,
        name: ring.name,
        group_ids: [...new Set(ring.groupIds)],
        success_threshold: String((ring.successPercent ?? DEFAULT_GATE.successPercent) / 100),
        soak_minutes: ring.soakMinutes ?? DEFAULT_GATE.soakMinutes,
        require_approval: ring.requireApproval ?? false,
      })),
    )
    .execute();
  // Each device once, in the earliest ring that names one of its groups.
  const planned = await sql<{ ring: number; devices: number }>`
    WITH targets AS (
      SELECT DISTINCT ON (m.device_id) m.device_id, r.position
        FROM rollout_rings r
        JOIN device_group_members m ON m.group_id = ANY(r.group_ids)
        JOIN devices d ON d.id = m.device_id AND d.retired_at IS NULL
       WHERE r.rollout_id = ${rollout.id}
       ORDER BY m.device_id, r.position),
    inserted AS (
      INSERT INTO rollout_devices (rollout_id, ring, device_id)
      SELECT ${rollout.id}, position, device_id FROM targets
      RETURNING ring)
    SELECT ring, count(*)::int AS devices FROM inserted GROUP BY ring`.execute(tx.db);
  const perRing = new Map(planned.rows.map((r) => [r.ring, r.devices]));
  const empty = input.rings.findIndex((_, i) => !perRing.get(i));
  if (empty >= 0) throw new AppError("rollouts.empty_ring", { field: `body/rings/${empty}/groupIds` });
  tx.audit({
    action: "rollouts.created",
    target: { type: "rollout", id: rollout.id },
    details: {
      name: input.name,
      mode: input.mode,
      packages: packages.slice(0, 50),
      rings: input.rings.map((r, i) => ({ name: r.name, devices: perRing.get(i) ?? 0 })),
      windowId: input.windowId ?? null,
      ...(origin.policyId ? { policyId: origin.policyId } : {}),
    },
  });
  return rollout.id;
}
