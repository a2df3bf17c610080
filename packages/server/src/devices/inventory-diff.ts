import { type AvailableUpdate, parseEntryLine, updateLine } from "@patchpilot/protocol";
import { anyOf } from "../db/any-of.js";
import type { OrganizationTransaction } from "../db/database.js";
import type { DeviceEventInput } from "../db/unit-of-work.js";
import type { DigestedLine } from "./software-catalog.js";

/** Entries listed by name in one device event; the counts are always complete. */
const LISTED = 200;

interface Described {
  name: string;
  version: string;
  arch: string;
  kind: string;
  ecosystem: string;
}

export interface InventoryChange {
  first: boolean;
  added: readonly number[];
  removed: readonly number[];
  entriesById: ReadonlyMap<number, DigestedLine>;
  updatesBefore: readonly AvailableUpdate[];
  updatesAfter: readonly AvailableUpdate[];
  packageCount: number;
}

/**
 * The device event for an inventory change: the first inventory as counts; later ones as what was
 * added, removed, and changed version (an entry removed and one added with the same name, arch
 * and kind), so the device's history reads as "openssl 3.0.11 → 3.0.13".
 */
export async function describeInventoryChange(
  tx: OrganizationTransaction,
  deviceId: string,
  change: InventoryChange,
): Promise<DeviceEventInput> {
  const securityUpdates = change.updatesAfter.filter((u) => u.security).length;
  if (change.first) {
    return {
      eventType: "inventory.received",
      deviceId,
      details: {
        packageCount: change.packageCount,
        updateCount: change.updatesAfter.length,
        securityUpdateCount: securityUpdates,
      },
    };
  }
  const added: Described[] = [];
  for (const id of change.added.slice(0, LISTED * 2)) {
    const line = change.entriesById.get(id)?.line;
    const e = line === undefined ? undefined : parseEntryLine(line);
    if (e)
      added.push({
        name: e.name,
        version: e.version,
        arch: e.arch ?? "",
        kind: e.kind,
        ecosystem: e.ecosystem,
      });
  }
  const removedRows =
    change.removed.length === 0
      ? []
      : await tx.db
          .selectFrom("software")
          .select(["id", "name", "version", "arch", "kind", "ecosystem"])
          .where(anyOf("id", change.removed.slice(0, LISTED * 2), "integer"))
          .execute();
  const removed: Described[] = removedRows.map(({ id: _id, ...rest }) => rest);
  const { changed, onlyAdded, onlyRemoved } = pairVersionChanges(added, removed);
  const before = new Set(change.updatesBefore.map(updateLine));
  const after = new Set(change.updatesAfter.map(updateLine));
  return {
    eventType: "inventory.changed",
    deviceId,
    details: {
      packageCount: change.packageCount,
      addedCount: change.added.length,
      removedCount: change.removed.length,
      changed: changed.slice(0, LISTED),
      added: onlyAdded.slice(0, LISTED).map(label),
      removed: onlyRemoved.slice(0, LISTED).map(label),
      updatesOffered: [...after].filter((l) => !before.has(l)).length,
      updatesWithdrawn: [...before].filter((l) => !after.has(l)).length,
      securityUpdateCount: securityUpdates,
    },
  };
}

function label(d: Described): string {
  return `${d.name}${d.arch ? `:${d.arch}` : ""} ${d.version}`;
}

function pairVersionChanges(added: Described[], removed: Described[]) {
  const key = (d: Described) => `${d.kind}\u0000${d.ecosystem}\u0000${d.name}\u0000${d.arch}`;
  const removedByKey = new Map<string, Described>();
  for (const r of removed) removedByKey.set(key(r), r);
  const changed: { name: string; arch: string; from: string; to: string }[] = [];
  const onlyAdded: Described[] = [];
  for (const a of added) {
    const r = removedByKey.get(key(a));
    if (r) {
      changed.push({ name: a.name, arch: a.arch, from: r.version, to: a.version });
      removedByKey.delete(key(a));
    } else {
      onlyAdded.push(a);
    }
  }
  return { changed, onlyAdded, onlyRemoved: [...removedByKey.values()] };
}
