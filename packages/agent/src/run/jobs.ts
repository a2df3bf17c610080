import { inventoryHash, type Job, type PatchJobResult } from "@patchpilot/protocol";
import { errorMessage } from "../collectors/text.js";
import type { Log } from "../log.js";
import { type PatchJobContext, runPatchJob } from "../patch/run-patch-job.js";
import { PatchJobRefused } from "../patch/validate.js";
import type { AcknowledgedInventory } from "../state/agent-state.js";
import type { ReportQueue } from "../state/report-queue.js";
import type { InventorySource } from "./inventory-source.js";
import { queueInventory } from "./queue-inventory.js";

export interface JobContext {
  queue: ReportQueue;
  device: string;
  inventory: InventorySource;
  log: Log;
  /** The inventory the server last took, the base for sending only the changes. */
  acknowledgedInventory: () => Promise<AcknowledgedInventory | null>;
  /** Where patch jobs install (the root) and find their hooks. */
  patch: Omit<PatchJobContext, "log">;
}

interface JobOutcome {
  outcome: "succeeded" | "failed";
  summary: string;
  patch?: PatchJobResult;
}

/** Jobs run one at a time (the check-in and the long poll both hand them out; two package managers would collide). */
let queueTail: Promise<unknown> = Promise.resolve();
/** Job ids already run by this process, so a job handed out twice is not installed twice. */
const recentJobs = new Set<string>();

/**
 * Runs one job and queues its result on disk before anything is sent, so a result survives the
 * agent's restart and reaches the server once it can be reached.
 */
export function runJob(job: Job, context: JobContext): Promise<void> {
  const run = queueTail.then(() => runOneJob(job, context));
  queueTail = run.catch(() => {});
  return run;
}

async function runOneJob(job: Job, context: JobContext): Promise<void> {
  if (recentJobs.has(job.id)) {
    context.log("warn", `job ${job.id} (${job.kind}) was already run; not running it again`);
    return;
  }
  recentJobs.add(job.id);
  if (recentJobs.size > 1000) recentJobs.delete(recentJobs.values().next().value ?? "");
  const startedAt = new Date().toISOString();
  let result: JobOutcome;
  try {
    result = await execute(job, context);
  } catch (error) {
    result = { outcome: "failed", summary: errorMessage(error) };
  }
  context.log(
    result.outcome === "succeeded" ? "info" : "error",
    `job ${job.id} (${job.kind}) ${result.outcome}: ${result.summary}`,
  );
  await context.queue.add({
    kind: "job_result",
    method: "POST",
    path: `${context.device}/job-results`,
    body: {
      jobId: job.id,
      outcome: result.outcome,
      startedAt,
      finishedAt: new Date().toISOString(),
      summary: result.summary.slice(0, 1000),
      ...(result.patch ? { patch: result.patch } : {}),
    },
  });
}

async function execute(job: Job, context: JobContext): Promise<JobOutcome> {
  switch (job.kind) {
    case "inventory": {
      const inventory = await context.inventory.fresh();
      await queueInventory(context.queue, context.device, inventory, null);
      return {
        outcome: "succeeded",
        summary: `inventory of ${inventory.packages.length} packages and ${inventory.updates.length} updates queued`,
      };
    }
    case "patch": {
      let outcome: JobOutcome;
      try {
        const report = await runPatchJob(job.payload, { ...context.patch, log: context.log });
        outcome = { outcome: report.outcome, summary: report.summary, patch: report.result };
      } catch (error) {
        // A refused job ran nothing, so there is no inventory change to report.
        if (error instanceof PatchJobRefused) throw error;
        outcome = { outcome: "failed", summary: `patch job stopped: ${errorMessage(error)}` };
      }
      await queueChangedInventory(context);
      return outcome;
    }
  }
}

/**
 * After a patch job the inventory is read again and its changes queued ahead of the job's result,
 * so the server holds the new versions when the result arrives and can check them.
 */
async function queueChangedInventory(context: JobContext): Promise<void> {
  try {
    const inventory = await context.inventory.fresh();
    const base = await context.acknowledgedInventory();
    if (base?.hash === inventoryHash(inventory)) return;
    await queueInventory(context.queue, context.device, inventory, base);
  } catch (error) {
    context.log("warn", `the inventory after the patch job was not queued: ${errorMessage(error)}`);
  }
}
