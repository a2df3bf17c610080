import type { Log } from "../log.js";
import type { AgentState } from "../state/agent-state.js";
import type { ReportQueue } from "../state/report-queue.js";
import { ApiError, UnreachableError } from "../transport/client.js";
import { queueInventory } from "./queue-inventory.js";

interface Deliverer {
  queue: ReportQueue;
  state: AgentState;
  log: Log;
  device: string;
  call<T>(method: "GET" | "POST" | "PUT", path: string, body?: unknown): Promise<T>;
}

/**
 * Sends queued reports oldest first. A report leaves the queue only once the server has taken it
 * (or said it already had it); a server that cannot be reached leaves the rest for later. Changes
 * the server cannot apply are replaced by the whole inventory; a report the server rejects as
 * invalid is dropped with an error, since sending it again cannot succeed.
 */
export async function deliverQueue(agent: Deliverer): Promise<void> {
  for (const entry of await agent.queue.pending()) {
    const { report } = entry;
    try {
      await agent.call(report.method, report.path, report.body);
      if (report.acknowledges) await agent.state.saveAcknowledgedInventory(report.acknowledges);
      await agent.queue.remove(entry);
    } catch (error) {
      if (error instanceof UnreachableError) return;
      if (!(error instanceof ApiError)) throw error;
      await agent.queue.remove(entry);
      if (error.code === "inventory.base_mismatch" || error.code === "inventory.hash_mismatch") {
        agent.log("warn", "the server could not apply the inventory changes; sending the whole inventory");
        if (report.acknowledges)
          await queueInventory(agent.queue, agent.device, report.acknowledges.inventory, null);
        return deliverQueue(agent);
      }
      agent.log(
        "error",
        `the server refused a ${report.kind} report (${error.code}: ${error.message}); dropped it`,
      );
    }
  }
}
