import type { Inventory } from "@patchpilot/protocol";
import { collectInventory } from "../collectors/index.js";
import type { Log } from "../log.js";

// Asking the package manager for updates (apt-get -s, dnf check-update) is slow and reads the
// package lists; the installed packages are read on every check-in, the updates this often.
const UPDATES_EVERY_MS = 15 * 60_000;

/**
 * The machine's inventory for a check-in: installed packages read fresh each time, available
 * updates refreshed every quarter hour or when the installed packages change.
 */
export class InventorySource {
  #updates: Inventory["updates"] | null = null;
  #updatesAt = 0;
  #packagesKey = "";

  constructor(
    private readonly root: string,
    private readonly log: Log,
  ) {}

  async current(): Promise<Inventory> {
    const stale = this.#updates === null || Date.now() - this.#updatesAt > UPDATES_EVERY_MS;
    const { inventory, warnings } = await collectInventory({ root: this.root, updates: stale });
    for (const warning of warnings) this.log("warn", warning);
    const key = JSON.stringify(inventory.packages.map((p) => [p.name, p.arch, p.version]));
    if (!stale && key !== this.#packagesKey) return this.fresh();
    this.#packagesKey = key;
    if (stale) {
      this.#updates = inventory.updates;
      this.#updatesAt = Date.now();
    }
    return { packages: inventory.packages, updates: this.#updates ?? [] };
  }

  /** Everything collected now, updates included (an operator asked for the inventory). */
  async fresh(): Promise<Inventory> {
    this.#updates = null;
    return this.current();
  }
}
