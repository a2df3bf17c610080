import type { Database } from "../db/database.js";
import type { DevicesCapability } from "../devices/capability.js";
import type { RouteDefinition } from "../http/route.js";
import type { JobRunner } from "../jobs/job-runner.js";
import { policyRoutes } from "./policies/policy-routes.js";
import { runDuePolicies } from "./policies/policy-runs.js";
import { applyPatchResult } from "./rollouts/rollout-results.js";
import { rolloutRoutes } from "./rollouts/rollout-routes.js";
import { RolloutRunner } from "./rollouts/rollout-runner.js";
import { verifyRolloutResults } from "./rollouts/rollout-verify.js";

export const POLICY_RUNS_JOB = "patching.policy_runs";

export interface PatchingCapability {
  routes: RouteDefinition[];
  runner: RolloutRunner;
  start(): void;
  stop(): Promise<void>;
}

/**
 * Patch deployment: maintenance windows, policies per device group, and rollouts through rings
 * with measured gates. Job results and inventories reach it through listeners on the devices
 * capability, in their own transactions.
 */
export function createPatchingCapability(
  db: Database,
  devices: DevicesCapability,
  jobs: JobRunner,
  log: (error: unknown, message: string) => void = () => {},
): PatchingCapability {
  const runner = new RolloutRunner(db, jobs, log);
  devices.onJobResult(async (tx, job, report) => {
    if (job.kind !== "patch") return;
    const rolloutId = await applyPatchResult(tx, job, report);
    if (rolloutId) tx.afterCommit(() => runner.kick(tx.organizationId, rolloutId));
  });
  devices.ingest.onChange(async (tx, change) => {
    const stepped = await verifyRolloutResults(tx, change.deviceId);
    for (const rolloutId of stepped) tx.afterCommit(() => runner.kick(tx.organizationId, rolloutId));
  });
  jobs.register(POLICY_RUNS_JOB, async () => {
    for (const r of await runDuePolicies(db)) runner.kick(r.organizationId, r.rolloutId);
  });
  // Windows open on the minute at best; looking every 5 minutes starts a run within 5 of opening.
  jobs.schedule({ kind: POLICY_RUNS_JOB, everyMs: 5 * 60_000 });
  return {
    routes: [...rolloutRoutes(db, runner), ...policyRoutes(db)],
    runner,
    start: () => runner.start(),
    stop: () => runner.stop(),
  };
}
