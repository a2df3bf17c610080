import { entryLine, type Inventory, inventoryHash, toWireInventory } from "@patchpilot/protocol";
import type { AcknowledgedInventory } from "../state/agent-state.js";
import type { ReportQueue } from "../state/report-queue.js";
import { inventoryChanges } from "./inventory-changes.js";

/**
 * Queues the inventory for the server: only the changes when the server holds what this agent
 * last sent (`base`), the whole of it otherwise.
 */
export async function queueInventory(
  queue: ReportQueue,
  devicePath: string,
  inventory: Inventory,
  base: AcknowledgedInventory | null,
): Promise<void> {
  const hash = inventoryHash(inventory);
  if (await queue.hasInventory(hash)) return;
  const acknowledges = { hash, inventory };
  if (base) {
    const { packages, updates } = inventoryChanges(base.inventory, inventory);
    await queue.add({
      kind: "inventory_changes",
      method: "POST",
      path: `${devicePath}/inventory/changes`,
      body: {
        baseHash: base.hash,
        inventoryHash: hash,
        packages: { added: packages.added.map(entryLine), removed: packages.removed.map(entryLine) },
        updates,
      },
      acknowledges,
    });
  } else {
    await queue.add({
      kind: "inventory_full",
      method: "PUT",
      path: `${devicePath}/inventory`,
      body: { inventory: toWireInventory(inventory) },
      acknowledges,
    });
  }
}
