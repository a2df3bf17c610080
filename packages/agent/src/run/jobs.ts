import type { Job } from "@patchpilot/protocol";
import type { Log } from "../log.js";
import type { ReportQueue } from "../state/report-queue.js";
import type { InventorySource } from "./inventory-source.js";
import { queueInventory } from "./queue-inventory.js";

export interface JobContext {
  queue: ReportQueue;
  device: string;
  inventory: InventorySource;
  log: Log;
}

/**
 * Runs one job and queues its result on disk before anything is sent, so a result survives the
 * agent's restart and reaches the server once it can be reached.
 */
export async function runJob(job: Job, context: JobContext): Promise<void> {
  const startedAt = new Date().toISOString();
  let outcome: "succeeded" | "failed" = "succeeded";
  let summary: string;
  try {
    summary = await execute(job, context);
  } catch (error) {
    outcome = "failed";
    summary = error instanceof Error ? error.message : String(error);
  }
  context.log(
    outcome === "succeeded" ? "info" : "error",
    `job ${job.id} (${job.kind}) ${outcome}: ${summary}`,
  );
  await context.queue.add({
    kind: "job_result",
    method: "POST",
    path: `${context.device}/job-results`,
    body: {
      jobId: job.id,
      outcome,
      startedAt,
      finishedAt: new Date().toISOString(),
      summary: summary.slice(0, 1000),
    },
  });
}

async function execute(job: Job, context: JobContext): Promise<string> {
  switch (job.kind) {
    case "inventory": {
      const inventory = await context.inventory.fresh();
      await queueInventory(context.queue, context.device, inventory, null);
      return `inventory of ${inventory.packages.length} packages and ${inventory.updates.length} updates queued`;
    }
  }
}
