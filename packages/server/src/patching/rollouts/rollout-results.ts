import type { JobResultReport, PatchJobResult } from "@patchpilot/protocol";
import { sql } from "kysely";
import type { OrganizationTransaction } from "../../db/database.js";
import { verifyRolloutResults } from "./rollout-verify.js";

/** Minutes before retry n+1 of a device: 5, 10, 20 … up to 6 hours. */
export function retryDelayMinutes(attempt: number): number {
  return Math.min(360, 5 * 2 ** Math.max(0, attempt - 1));
}

/**
 * Why a patch job that says it succeeded did not: a package it reports installed whose version did
 * not change, or a health check that failed. Null when the report holds up.
 */
export function reportProblem(report: JobResultReport): string | null {
  const patch = report.patch;
  if (!patch) return report.outcome === "succeeded" ? null : report.summary || "the job failed";
  if (patch.preUpdate.status === "failed")
    return `the pre-update step failed: ${firstLine(patch.preUpdate.log)}`;
  if (patch.healthCheck.status === "failed")
    return `the health check failed: ${firstLine(patch.healthCheck.log)}`;
  const unchanged = patch.packages.find(
    (p) => p.result === "installed" && p.fromVersion !== null && p.fromVersion === p.toVersion,
  );
  if (unchanged)
    return `${unchanged.name} is still at ${unchanged.fromVersion} although the job reported it installed`;
  const failed = patch.packages.find((p) => p.result === "failed" || p.result === "rolled_back");
  if (failed)
    return `${failed.name}: ${failed.result.replace("_", " ")}${failed.reason ? ` (${failed.reason})` : ""}`;
  if (report.outcome !== "succeeded") return report.summary || "the job failed";
  return null;
}

function firstLine(text: string): string {
  return (text.trim().split("\n").at(-1) ?? "").slice(0, 300);
}

function health(patch: PatchJobResult | undefined): "passed" | "failed" | "not_run" {
  if (!patch || patch.healthCheck.status === "skipped") return "not_run";
  return patch.healthCheck.status === "succeeded" ? "passed" : "failed";
}

/**
 * A patch job's result, applied to its rollout device in the result's transaction: succeeded (to
 * be verified by the device's next inventory), retried later with backoff, or failed for good once
 * its attempts are spent. A failed health check is never retried: the gate must see it.
 * Returns the rollout to step, if the job belonged to one.
 */
export async function applyPatchResult(
  tx: OrganizationTransaction,
  job: { id: string; deviceId: string },
  report: JobResultReport,
  now = new Date(),
): Promise<string | null> {
  const row = await sql<{ rollout_id: string; attempts: number; max_attempts: number }>`
    SELECT rd.rollout_id, rd.attempts, r.max_attempts
      FROM rollout_devices rd JOIN rollouts r ON r.id = rd.rollout_id
     WHERE rd.job_id = ${job.id} AND rd.device_id = ${job.deviceId}
     FOR UPDATE OF rd`.execute(tx.db);
  const target = row.rows[0];
  if (!target) return null;
  const problem = reportProblem(report);
  const checked = health(report.patch);
  const retry = problem !== null && checked !== "failed" && target.attempts < target.max_attempts;
  const state = problem === null ? "succeeded" : retry ? "pending" : "failed";
  await sql`
    UPDATE rollout_devices
       SET state = ${state}, reason = ${problem}, health = ${checked},
           verified = ${problem === null ? "pending" : null},
           next_attempt_at = ${retry ? new Date(now.getTime() + retryDelayMinutes(target.attempts) * 60_000) : null},
           job_id = ${retry ? null : job.id},
           log_excerpt = ${excerpt(report).slice(-4096) || null},
           result = ${report.patch ? JSON.stringify(report.patch) : null}::jsonb,
           updated_at = ${now}
     WHERE rollout_id = ${target.rollout_id} AND device_id = ${job.deviceId}`.execute(tx.db);
  tx.deviceEvent({
    eventType: `rollout.device_${state === "pending" ? "retrying" : state}`,
    deviceId: job.deviceId,
    result: problem === null ? "success" : "failure",
    details: {
      rolloutId: target.rollout_id,
      jobId: job.id,
      attempt: target.attempts,
      ...(problem ? { reason: problem } : {}),
      packages: (report.patch?.packages ?? []).slice(0, 50),
    },
  });
  // The agent sends the inventory it read after the job ahead of the result: when the server
  // already holds an inventory newer than the job's delivery, it proves (or refutes) the result now.
  if (problem === null && (await inventorySince(tx, job))) await verifyRolloutResults(tx, job.deviceId);
  return target.rollout_id;
}

async function inventorySince(tx: OrganizationTransaction, job: { id: string; deviceId: string }) {
  const fresh = await sql<{ fresh: boolean }>`
    SELECT i.updated_at >= coalesce(j.delivered_at, j.created_at) AS fresh
      FROM device_inventories i, device_jobs j
     WHERE i.device_id = ${job.deviceId} AND j.id = ${job.id}`.execute(tx.db);
  return fresh.rows[0]?.fresh === true;
}

/** The log of the step that decided the outcome: a failed pre-update step or health check, else the install. */
function excerpt(report: JobResultReport): string {
  const patch = report.patch;
  if (report.logExcerpt) return report.logExcerpt;
  if (!patch) return "";
  if (patch.preUpdate.status === "failed") return patch.preUpdate.log;
  if (patch.healthCheck.status === "failed") {
    return [patch.healthCheck.log, patch.rollback.status === "skipped" ? "" : patch.rollback.log]
      .filter(Boolean)
      .join("\n");
  }
  return patch.install.log;
}
