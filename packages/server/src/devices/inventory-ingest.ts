import {
  type AvailableUpdate,
  duplicateLine,
  type FullInventoryUpload,
  type InventoryAccepted,
  type InventoryChangesUpload,
  InventoryHash,
  updateDigest,
  updateKey,
  updateLine,
} from "@patchpilot/protocol";
import { sql } from "kysely";
import type { Database, OrganizationTransaction } from "../db/database.js";
import type { AuditContext } from "../db/unit-of-work.js";
import { AppError } from "../http/errors.js";
import type { AgentSession } from "./agent-sessions.js";
import { describeInventoryChange } from "./inventory-diff.js";
import { applyDelta, difference, type IdSet, type PackageSets, toIdSet } from "./package-sets.js";
import { type DigestedLine, digestLines, type SoftwareCatalog } from "./software-catalog.js";

/** Told, inside the transaction that stores it, which catalogue ids a device gained and lost. */
export type InventoryListener = (
  tx: OrganizationTransaction,
  change: { deviceId: string; added: readonly number[]; removed: readonly number[] },
) => Promise<void>;

interface CurrentInventory {
  hash: string;
  ids: IdSet;
  updates: AvailableUpdate[];
}

interface NewInventory {
  ids: IdSet;
  /** Entries of this upload by catalogue id, to describe what was added without a query. */
  entriesById: Map<number, DigestedLine>;
  updates: AvailableUpdate[];
  hash: string;
}

/**
 * Stores inventories: a full upload (first contact, or when the agent lost track) or the changes
 * since the inventory the server holds. Each is applied in one transaction with its device event,
 * once per report id; an unchanged inventory writes nothing.
 */
export class InventoryIngest {
  readonly #listeners: InventoryListener[] = [];

  constructor(
    private readonly db: Database,
    private readonly catalog: SoftwareCatalog,
    private readonly sets: PackageSets,
  ) {}

  onChange(listener: InventoryListener): void {
    this.#listeners.push(listener);
  }

  async full(
    session: AgentSession,
    ctx: AuditContext,
    upload: FullInventoryUpload,
  ): Promise<InventoryAccepted> {
    const { inventory } = upload;
    rejectDuplicates(inventory.packages, inventory.updates, "body/inventory");
    const digested = digestLines(inventory.packages);
    const hash = new InventoryHash();
    for (const e of digested) hash.add(e.digest);
    for (const u of inventory.updates) hash.add(updateDigest(u));
    const inventoryHash = hash.toHex();

    return this.db.withOrganization(session.organizationId, ctx, async (tx) => {
      const done = await reportOutcome(tx, session.deviceId, upload.reportId);
      if (done) return done;
      const current = await this.#current(tx, session.deviceId, false);
      if (current?.hash === inventoryHash) {
        return { inventoryHash, packageCount: current.ids.length, duplicate: false };
      }
      const ids = await this.catalog.resolve(tx, digested);
      const entriesById = new Map<number, DigestedLine>();
      for (const [i, id] of ids.entries()) entriesById.set(id, digested[i] as DigestedLine);
      const next = { ids: toIdSet(ids), entriesById, updates: inventory.updates, hash: inventoryHash };
      return this.#store(tx, session, upload.reportId, "full", current, next);
    });
  }

  async changes(
    session: AgentSession,
    ctx: AuditContext,
    upload: InventoryChangesUpload,
  ): Promise<InventoryAccepted> {
    const { packages, updates } = upload;
    rejectDuplicates(packages.added, updates.added, "body/added");
    const added = digestLines(packages.added);
    const removed = digestLines(packages.removed);
    const hash = InventoryHash.fromHex(upload.baseHash);
    for (const e of added) hash.add(e.digest);
    for (const e of removed) hash.remove(e.digest);
    for (const u of updates.added) hash.add(updateDigest(u));
    for (const u of updates.removed) hash.remove(updateDigest(u));

    return this.db.withOrganization(session.organizationId, ctx, async (tx) => {
      const done = await reportOutcome(tx, session.deviceId, upload.reportId);
      if (done) return done;
      const current = await this.#current(tx, session.deviceId, true);
      if (!current || current.hash !== upload.baseHash) throw new AppError("inventory.base_mismatch");
      if (hash.toHex() !== upload.inventoryHash) throw new AppError("inventory.hash_mismatch");

      const removedIds = await this.catalog.find(tx, removed);
      const present = new Set(current.ids);
      // What the agent says it removed must be there, and what it added must not be.
      if (removedIds.some((id) => id === null || !present.has(id)))
        throw new AppError("inventory.hash_mismatch");
      const addedIds = await this.catalog.resolve(tx, added);
      if (addedIds.some((id) => present.has(id))) throw new AppError("inventory.hash_mismatch");
      const nextUpdates = applyUpdateChanges(current.updates, updates.added, updates.removed);
      if (nextUpdates === null) throw new AppError("inventory.hash_mismatch");

      const entriesById = new Map<number, DigestedLine>();
      for (const [i, id] of addedIds.entries()) entriesById.set(id, added[i] as DigestedLine);
      const next: NewInventory = {
        ids: applyDelta(current.ids, addedIds, removedIds as number[]),
        entriesById,
        updates: nextUpdates,
        hash: upload.inventoryHash,
      };
      return this.#store(tx, session, upload.reportId, "changes", current, next);
    });
  }

  /** The inventory the server holds for a device, or null before its first. */
  async #current(
    tx: OrganizationTransaction,
    deviceId: string,
    lock: boolean,
  ): Promise<CurrentInventory | null> {
    let query = tx.db
      .selectFrom("device_inventories")
      .select(["base_set_id", "added", "removed", "inventory_hash", "updates"])
      .where("device_id", "=", deviceId);
    if (lock) query = query.forUpdate();
    const row = await query.executeTakeFirst();
    if (!row) return null;
    const base = await this.sets.idsOf(tx, row.base_set_id);
    return {
      hash: row.inventory_hash,
      ids: applyDelta(base, row.added, row.removed),
      updates: row.updates as AvailableUpdate[],
    };
  }

  async #store(
    tx: OrganizationTransaction,
    session: AgentSession,
    reportId: string,
    kind: "full" | "changes",
    current: CurrentInventory | null,
    next: NewInventory,
  ): Promise<InventoryAccepted> {
    const base = await this.sets.chooseBase(tx, session.release, next.ids);
    const delta = difference(base.ids, next.ids);
    const values = {
      base_set_id: base.id,
      added: sql<number[]>`${`{${delta.added.join(",")}}`}::integer[]`,
      removed: sql<number[]>`${`{${delta.removed.join(",")}}`}::integer[]`,
      package_count: next.ids.length,
      inventory_hash: next.hash,
      updates: JSON.stringify(next.updates),
      updated_at: new Date(),
    };
    await tx.db
      .insertInto("device_inventories")
      .values({ device_id: session.deviceId, ...values })
      .onConflict((oc) => oc.column("device_id").doUpdateSet(values))
      .execute();
    const outcome = { inventoryHash: next.hash, packageCount: next.ids.length };
    await tx.db
      .insertInto("agent_reports")
      .values({
        device_id: session.deviceId,
        report_id: reportId,
        kind: `inventory.${kind}`,
        outcome: JSON.stringify(outcome),
      })
      .execute();

    const change = difference(current?.ids ?? new Int32Array(), next.ids);
    tx.deviceEvent(
      await describeInventoryChange(tx, session.deviceId, {
        first: current === null,
        added: change.added,
        removed: change.removed,
        entriesById: next.entriesById,
        updatesBefore: current?.updates ?? [],
        updatesAfter: next.updates,
        packageCount: next.ids.length,
      }),
    );
    for (const listener of this.#listeners) {
      await listener(tx, { deviceId: session.deviceId, added: change.added, removed: change.removed });
    }
    tx.afterCommit(() => {
      session.inventoryHash = next.hash;
      session.inventoryRequested = false;
    });
    return { ...outcome, duplicate: false };
  }
}

/** The answer given the first time, when this report id was already applied. */
async function reportOutcome(
  tx: OrganizationTransaction,
  deviceId: string,
  reportId: string,
): Promise<InventoryAccepted | null> {
  const row = await tx.db
    .selectFrom("agent_reports")
    .select("outcome")
    .where("device_id", "=", deviceId)
    .where("report_id", "=", reportId)
    .executeTakeFirst();
  if (!row) return null;
  const outcome = row.outcome as { inventoryHash?: string; packageCount?: number };
  return {
    inventoryHash: outcome.inventoryHash ?? "",
    packageCount: outcome.packageCount ?? 0,
    duplicate: true,
  };
}

function rejectDuplicates(lines: readonly string[], updates: readonly AvailableUpdate[], at: string): void {
  const line = duplicateLine(lines);
  const seen = new Set<string>();
  const update = updates.findIndex((u) => {
    const key = updateKey(u);
    if (seen.has(key)) return true;
    seen.add(key);
    return false;
  });
  if (line < 0 && update < 0) return;
  const field = line >= 0 ? `${at}/packages/${line}` : `${at}/updates/${update}`;
  throw new AppError("inventory.duplicate_entry", {
    field,
    message: `The inventory lists the same ${line >= 0 ? "package" : "update"} twice (${field}).`,
  });
}

/** The update list after the changes, or null when a removed update was not in it. */
function applyUpdateChanges(
  current: readonly AvailableUpdate[],
  added: readonly AvailableUpdate[],
  removed: readonly AvailableUpdate[],
): AvailableUpdate[] | null {
  const byLine = new Map(current.map((u) => [updateLine(u), u]));
  for (const u of removed) if (!byLine.delete(updateLine(u))) return null;
  for (const u of added) {
    const line = updateLine(u);
    if (byLine.has(line)) return null;
    byLine.set(line, u);
  }
  return [...byLine.values()];
}
