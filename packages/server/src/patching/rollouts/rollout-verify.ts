import type { PatchJobResult } from "@patchpilot/protocol";
import { sql } from "kysely";
import type { OrganizationTransaction } from "../../db/database.js";
import { deviceSoftwareIds } from "../../devices/inventory-queries.js";

/**
 * A device's inventory changed: its rollout results still waiting to be proven are checked
 * against it. A package the job reported at a version the inventory does not show makes the
 * device failed, with the versions in the reason — a console must not say installed when the
 * device says otherwise. Runs in the inventory's transaction.
 */
export async function verifyRolloutResults(tx: OrganizationTransaction, deviceId: string): Promise<string[]> {
  const pending = await tx.db
    .selectFrom("rollout_devices")
    .select(["rollout_id", "result"])
    .where("device_id", "=", deviceId)
    .where("state", "=", "succeeded")
    .where("verified", "=", "pending")
    .execute();
  if (pending.length === 0) return [];
  const installed = await sql<{ name: string; version: string }>`
    SELECT name, version FROM software WHERE id IN ${deviceSoftwareIds(deviceId)}`.execute(tx.db);
  const versions = new Map<string, Set<string>>();
  for (const r of installed.rows) {
    const set = versions.get(r.name) ?? new Set<string>();
    set.add(r.version);
    versions.set(r.name, set);
  }
  const stepped: string[] = [];
  for (const row of pending) {
    const result = row.result as PatchJobResult | null;
    const claims = (result?.packages ?? []).filter((p) => p.result === "installed" && p.toVersion !== null);
    const wrong = claims.find((p) => !versions.get(p.name)?.has(p.toVersion as string));
    const reason = wrong
      ? `the device's inventory shows ${wrong.name} at ${[...(versions.get(wrong.name) ?? [])].join(", ") || "nothing"}, not ${wrong.toVersion}`
      : null;
    await tx.db
      .updateTable("rollout_devices")
      .set({
        verified: wrong ? "mismatch" : "verified",
        ...(wrong ? { state: "failed", reason } : {}),
        updated_at: new Date(),
      })
      .where("rollout_id", "=", row.rollout_id)
      .where("device_id", "=", deviceId)
      .execute();
    tx.deviceEvent({
      eventType: wrong ? "rollout.verification_failed" : "rollout.verified",
      deviceId,
      result: wrong ? "failure" : "success",
      details: { rolloutId: row.rollout_id, ...(reason ? { reason } : { packages: claims.length }) },
    });
    stepped.push(row.rollout_id);
  }
  return stepped;
}
