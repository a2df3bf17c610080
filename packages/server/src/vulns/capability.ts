import { sql } from "kysely";
import type { Database } from "../db/database.js";
import type { DevicesCapability } from "../devices/capability.js";
import type { RouteDefinition } from "../http/route.js";
import type { JobRunner } from "../jobs/job-runner.js";
import { decisionRoutes } from "./findings/decisions-routes.js";
import { documentRoutes } from "./findings/documents-routes.js";
import { refreshFindingRisk } from "./findings/finding-risk.js";
import { findingRoutes } from "./findings/findings-routes.js";
import { vulnerabilityRoutes } from "./findings/vulnerabilities-routes.js";
import { AdvisoryIndex } from "./matching/advisory-index.js";
import { InventoryMatcher } from "./matching/inventory-matcher.js";
import { registerVulnsJobs, type VulnsLog } from "./vulns-jobs.js";

const SILENT = { info() {}, warn() {}, error() {} };

export interface VulnsCapability {
  routes: RouteDefinition[];
  index: AdvisoryIndex;
  matcher: InventoryMatcher;
  start(): void;
  stop(): Promise<void>;
}

/**
 * Vulnerability intelligence: the knowledge base and its feeds, matching inventories against it,
 * findings and the decisions people take on them. Inventory changes reach it through a listener on
 * the devices capability's ingest, written in the same transaction as the inventory.
 */
export function createVulnsCapability(
  db: Database,
  devices: DevicesCapability,
  jobs: JobRunner,
  config: Parameters<typeof registerVulnsJobs>[3],
  log: VulnsLog & { error(error: unknown, message: string): void } = SILENT,
): VulnsCapability {
  const index = new AdvisoryIndex();
  const matcher = new InventoryMatcher(db, index, (error) => log.error(error, "matching inventories failed"));
  registerVulnsJobs(jobs, db, index, config, log);
  // Risk depends on the device's criticality: recomputed in the change's own transaction.
  devices.onCriticalityChange(async (tx, deviceId) => {
    await refreshFindingRisk(tx, { deviceIds: [deviceId] });
  });
  devices.ingest.onChange(async (tx, change) => {
    if (change.added.length === 0 && change.removed.length === 0) return;
    await sql`
      INSERT INTO inventory_changes (device_id, added, removed)
      VALUES (${change.deviceId}, ${change.added}::integer[], ${change.removed}::integer[])`.execute(tx.db);
    tx.afterCommit(() => matcher.kick());
  });
  return {
    routes: [...findingRoutes(db), ...vulnerabilityRoutes(db), ...decisionRoutes(db), ...documentRoutes(db)],
    index,
    matcher,
    start() {
      matcher.start();
    },
    async stop() {
      await matcher.stop();
    },
  };
}
