import { sql } from "kysely";
import type { Database, OrganizationTransaction } from "../../db/database.js";
import { SYSTEM_WORK } from "../../db/unit-of-work.js";
import {
  closeFindings,
  type FindingChanges,
  openFindings,
  type Presence,
  recordFindingEvents,
} from "../findings/finding-writer.js";
import type { AdvisoryIndex } from "./advisory-index.js";
import { ensureMatched } from "./match-software.js";

const BATCH = 200;
const POLL_MS = 1000;

/** What a device gained and lost over one or more queued changes, applied in order. */
export function netChange(changes: readonly { added: readonly number[]; removed: readonly number[] }[]) {
  const added = new Set<number>();
  const removed = new Set<number>();
  for (const c of changes) {
    for (const id of c.added) {
      removed.delete(id);
      added.add(id);
    }
    for (const id of c.removed) {
      added.delete(id);
      removed.add(id);
    }
  }
  return { added: [...added], removed: [...removed] };
}

/**
 * Turns inventory changes into findings. The ingest queues each change (in the transaction that
 * stores it); this takes the queue an organisation at a time, matches only the entries the
 * changes name — new catalogue entries against the knowledge base once, then every device that
 * gained or lost one — and opens and closes findings, in one transaction per batch. A crash
 * leaves the queue as it was: rows are removed only when their findings commit.
 */
export class InventoryMatcher {
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #again = false;
  /** Drains run one after another: a drain that starts while another works waits for it. */
  #chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly db: Database,
    private readonly index: AdvisoryIndex,
    private readonly onError: (error: unknown) => void,
  ) {}

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => this.kick(), POLL_MS);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#running;
  }

  /** Work has arrived: run now (or again right after the run under way). */
  kick(): void {
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.drain()
      .then(() => {})
      .catch(this.onError)
      .finally(() => {
        this.#running = null;
        if (this.#again) {
          this.#again = false;
          this.kick();
        }
      });
  }

  /**
   * Matches everything queued; resolves when the queue is empty. A drain already under way (rows
   * it has taken are invisible to others until it commits) is waited for first.
   */
  drain(): Promise<number> {
    const run = this.#chain.then(() => this.#drainQueue());
    this.#chain = run.catch(() => {});
    return run;
  }

  async #drainQueue(): Promise<number> {
    let total = 0;
    for (;;) {
      const organizations = await this.db.systemReader
        .selectFrom("inventory_changes")
        .select("organization_id")
        .distinct()
        .limit(50)
        .execute();
      if (organizations.length === 0) return total;
      await this.index.refresh(this.db);
      let progress = 0;
      for (const { organization_id } of organizations)
        progress += await this.matchOrganization(organization_id);
      if (progress === 0) return total;
      total += progress;
    }
  }

  async matchOrganization(organizationId: string): Promise<number> {
    return this.db.withOrganization(organizationId, SYSTEM_WORK, async (tx) => {
      const rows = await sql<{ device_id: string; added: number[]; removed: number[] }>`
        DELETE FROM inventory_changes
         WHERE id IN (SELECT id FROM inventory_changes ORDER BY id LIMIT ${BATCH} FOR UPDATE SKIP LOCKED)
        RETURNING id, device_id, added, removed`.execute(tx.db);
      if (rows.rows.length === 0) return 0;
      await applyDeviceChanges(tx, this.index, rows.rows, "inventory changed");
      return rows.rows.length;
    });
  }
}

/** Findings for a batch of device changes, in the caller's transaction. */
export async function applyDeviceChanges(
  tx: OrganizationTransaction,
  index: AdvisoryIndex,
  changes: readonly { device_id: string; added: number[]; removed: number[] }[],
  reason: string,
): Promise<FindingChanges> {
  const byDevice = new Map<string, { added: number[]; removed: number[] }[]>();
  for (const c of changes) {
    const list = byDevice.get(c.device_id);
    if (list) list.push(c);
    else byDevice.set(c.device_id, [c]);
  }
  const gained: Presence[] = [];
  const lost: Presence[] = [];
  for (const [deviceId, list] of byDevice) {
    const net = netChange(list);
    for (const softwareId of net.added) gained.push({ deviceId, softwareId });
    for (const softwareId of net.removed) lost.push({ deviceId, softwareId });
  }
  await ensureMatched(tx, index, [...new Set(gained.map((g) => g.softwareId))]);
  const result: FindingChanges = { opened: new Map(), closed: new Map() };
  await openFindings(tx, gained, result);
  await closeFindings(tx, lost, result);
  recordFindingEvents(tx, result, reason);
  return result;
}
