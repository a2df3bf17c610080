import { sql } from "kysely";
import type { Database, OrganizationTransaction } from "../../db/database.js";
import { SYSTEM_WORK } from "../../db/unit-of-work.js";
import { insertRollout } from "../rollouts/rollout-create.js";
import type { RolloutInput } from "../schemas.js";
import { windowAt } from "../windows/window-schedule.js";
import { type PolicyView, policyView } from "./policies-service.js";
import type { ApprovalRules } from "./policy-schemas.js";

const SEVERITY_RANK: Record<string, number> = { critical: 4, high: 3, medium: 2, low: 1 };

function globToRegExp(pattern: string): RegExp {
  return new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replaceAll("*", ".*")}$`);
}

/** The first run of digits: the major version, for the allowMajor rule. */
const major = (version: string) => /(\d+)/.exec(version.replace(/^\d+:/, ""))?.[1] ?? "";

/**
 * The packages a policy's approval rules let go out without a person: open findings on the group's
 * devices with a fix, at or above the minimum severity, or in KEV, or named by a pattern — and,
 * unless major upgrades are allowed, only fixes within the installed major version.
 */
async function approvedPackages(tx: OrganizationTransaction, policy: PolicyView): Promise<string[]> {
  const rules = policy.approval as ApprovalRules;
  if (!rules.minSeverity && !rules.kev && !rules.packages?.length) return [];
  const rows = await sql<{
    package_name: string;
    severity: string;
    kev: boolean;
    installed_version: string;
    fixed_version: string;
  }>`
    SELECT f.package_name, f.severity, v.kev_added IS NOT NULL AS kev, f.installed_version, f.fixed_version
      FROM findings f
      JOIN device_group_members m ON m.device_id = f.device_id AND m.group_id = ${policy.groupId}
      JOIN vulnerabilities v ON v.id = f.vulnerability_id
     WHERE f.status = 'open' AND f.fixed_version IS NOT NULL`.execute(tx.db);
  const patterns = (rules.packages ?? []).map(globToRegExp);
  const names = new Set<string>();
  for (const r of rows.rows) {
    if (policy.hold.includes(r.package_name)) continue;
    const bySeverity =
      rules.minSeverity && (SEVERITY_RANK[r.severity] ?? 0) >= (SEVERITY_RANK[rules.minSeverity] ?? 5);
    const byKev = rules.kev && r.kev;
    const byName = patterns.some((p) => p.test(r.package_name));
    if (!(bySeverity || byKev || byName)) continue;
    if (!rules.allowMajor && major(r.installed_version) !== major(r.fixed_version)) continue;
    names.add(r.package_name);
  }
  return [...names].sort();
}

/**
 * Policies' automatic runs: for each policy whose maintenance window is open now (or, without a
 * window, once a day), one rollout per window opening, of the policy's group: OS security updates
 * (or all, or dist-upgrade, as the policy says), or — with automatic installs off — the updates its
 * approval rules approve. A device offline during the window catches up within the policy's
 * catch-up hours; after that the next window's run takes it. Returns the rollouts created.
 */
export async function runDuePolicies(
  db: Database,
  now = new Date(),
): Promise<{ organizationId: string; rolloutId: string }[]> {
  const organizations = await sql<{ organization_id: string }>`
    SELECT DISTINCT organization_id FROM patch_policies`.execute(db.systemReader);
  const created: { organizationId: string; rolloutId: string }[] = [];
  for (const { organization_id } of organizations.rows) {
    const ids = await db.withOrganization(organization_id, SYSTEM_WORK, async (tx) => {
      const made: string[] = [];
      const policies = (await tx.db.selectFrom("patch_policies").selectAll().execute()).map(policyView);
      for (const policy of policies) {
        let scheduledFor: Date;
        let durationHours = 24;
        if (policy.windowId) {
          const w = await tx.db
            .selectFrom("maintenance_windows")
            .select(["schedule", "duration_minutes", "time_zone"])
            .where("id", "=", policy.windowId)
            .executeTakeFirstOrThrow();
          const span = windowAt(
            { schedule: w.schedule, durationMinutes: w.duration_minutes, timeZone: w.time_zone },
            now,
          );
          if (!span.open) continue;
          scheduledFor = span.opensAt;
          durationHours = w.duration_minutes / 60;
        } else {
          scheduledFor = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
        }
        const done = await tx.db
          .selectFrom("rollouts")
          .select("id")
          .where("policy_id", "=", policy.id)
          .where("scheduled_for", "=", scheduledFor)
          .executeTakeFirst();
        if (done) continue;
        const members = await tx.db
          .selectFrom("device_group_members as m")
          .innerJoin("devices as d", "d.id", "m.device_id")
          .select("d.id")
          .where("m.group_id", "=", policy.groupId)
          .where("d.retired_at", "is", null)
          .limit(1)
          .execute();
        if (members.length === 0) continue;
        const packages = policy.automatic === "none" ? await approvedPackages(tx, policy) : [];
        if (policy.automatic === "none" && packages.length === 0) continue;
        const input: RolloutInput = {
          name: `${policy.name}: ${policy.automatic === "none" ? "approved updates" : `${policy.automatic} updates`} ${scheduledFor.toISOString().slice(0, 16)}Z`,
          mode: policy.automatic === "none" ? "packages" : policy.automatic,
          ...(policy.automatic === "none" ? { packages: packages.map((name) => ({ name })) } : {}),
          rings: [
            {
              name: policy.name.slice(0, 100),
              groupIds: [policy.groupId],
              successPercent: 0,
              soakMinutes: 0,
            },
          ],
          hold: policy.hold,
          preUpdate: policy.preUpdate,
          healthCheck: policy.healthCheck,
          rollbackOnFailure: policy.rollbackOnFailure,
          reboot: policy.reboot,
          maxRebootDeferrals: policy.maxRebootDeferrals,
          windowId: policy.windowId,
          deviceTimeoutHours: Math.max(1, Math.ceil(durationHours + policy.catchUpHours)),
        };
        made.push(await insertRollout(tx, input, { policyId: policy.id, scheduledFor }));
      }
      return made;
    });
    for (const rolloutId of ids) created.push({ organizationId: organization_id, rolloutId });
  }
  return created;
}
