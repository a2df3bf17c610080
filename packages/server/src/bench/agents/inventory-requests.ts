import { entryLine, InventoryHash, inventoryHash, lineDigest, toWireInventory } from "@patchpilot/protocol";
import { churned, machineInventory, type Release, releasePool } from "./fleet-inventory.js";
import type { SimulatedRequest } from "./simulator.js";

/** Each device's machine: its release and the seed that picks its role packages. */
export interface PlannedDevice {
  deviceId: string;
  token: string;
  release: string;
  seed: number;
}

/** How to build a run's inventory uploads from seeds, in the simulator (the bodies are large). */
export interface InventoryRequestPlan {
  kind: "full" | "unchanged" | "changes";
  devices: PlannedDevice[];
  imageSize: number;
  extrasPool: number;
  extrasPerMachine: number;
  /** Share of packages a day of churn upgrades (0.01 = 1 %). */
  churn: number;
  poolSeed: number;
}

const pools = new Map<string, Release>();

function poolFor(plan: InventoryRequestPlan, release: string): Release {
  const key = `${release}:${plan.poolSeed}`;
  let pool = pools.get(key);
  if (!pool) {
    pool = releasePool(release, plan.imageSize, plan.extrasPool, plan.poolSeed + release.length);
    pools.set(key, pool);
  }
  return pool;
}

/**
 * full: each machine's first inventory; unchanged: the same again (a new report id, nothing new);
 * changes: a day of churn, sent as the changes since the first. Built before the timed run.
 */
export async function buildInventoryRequests(plan: InventoryRequestPlan): Promise<SimulatedRequest[]> {
  return plan.devices.map((device) => {
    const pool = poolFor(plan, device.release);
    const first = machineInventory(pool, plan.extrasPerMachine, device.seed);
    const base = `/api/v1/agent/devices/${device.deviceId}`;
    if (plan.kind !== "changes") {
      return {
        method: "PUT",
        path: `${base}/inventory`,
        token: device.token,
        body: JSON.stringify({ reportId: crypto.randomUUID(), inventory: toWireInventory(first) }),
      };
    }
    const next = churned(first, plan.churn, device.seed + 1);
    const was = new Set(first.packages.map((p) => JSON.stringify(p)));
    const now = new Set(next.packages.map((p) => JSON.stringify(p)));
    const added = next.packages.filter((p) => !was.has(JSON.stringify(p)));
    const removed = first.packages.filter((p) => !now.has(JSON.stringify(p)));
    const baseHash = inventoryHash(first);
    const hash = InventoryHash.fromHex(baseHash);
    for (const p of added) hash.add(lineDigest(entryLine(p)));
    for (const p of removed) hash.remove(lineDigest(entryLine(p)));
    return {
      method: "POST",
      path: `${base}/inventory/changes`,
      token: device.token,
      body: JSON.stringify({
        reportId: crypto.randomUUID(),
        baseHash,
        inventoryHash: hash.toHex(),
        packages: { added: added.map(entryLine), removed: removed.map(entryLine) },
        updates: { added: [], removed: [] },
      } satisfies Record<string, unknown>),
    };
  });
}
