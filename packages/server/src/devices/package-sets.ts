import { hash } from "node:crypto";
import { sql } from "kysely";
import type { OrganizationTransaction } from "../db/database.js";

/** Sorted, distinct software ids. */
export type IdSet = Int32Array;

export function toIdSet(ids: Iterable<number>): IdSet {
  const sorted = Int32Array.from(new Set(ids)).sort();
  return sorted;
}

/** What `to` has that `from` lacks (added) and the reverse (removed), by one merge pass. */
export function difference(from: IdSet, to: IdSet): { added: number[]; removed: number[] } {
  const added: number[] = [];
  const removed: number[] = [];
  let i = 0;
  let j = 0;
  while (i < from.length || j < to.length) {
    const a = i < from.length ? (from[i] as number) : Number.POSITIVE_INFINITY;
    const b = j < to.length ? (to[j] as number) : Number.POSITIVE_INFINITY;
    if (a === b) {
      i++;
      j++;
    } else if (a < b) {
      removed.push(a);
      i++;
    } else {
      added.push(b);
      j++;
    }
  }
  return { added, removed };
}

/** base ∪ added − removed. */
export function applyDelta(base: IdSet, added: readonly number[], removed: readonly number[]): IdSet {
  const out = new Set<number>(base);
  for (const id of removed) out.delete(id);
  for (const id of added) out.add(id);
  return toIdSet(out);
}

/** How far a device may drift from its base (added plus removed) before it needs another base. */
export function rebaseThreshold(size: number): number {
  return Math.max(32, Math.ceil(size * 0.15));
}

/** What both sets hold. */
export function intersection(a: IdSet, b: IdSet): IdSet {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i] as number;
    const y = b[j] as number;
    if (x === y) {
      out.push(x);
      i++;
      j++;
    } else if (x < y) i++;
    else j++;
  }
  return Int32Array.from(out);
}

// A new base shared with the nearest one must keep most of the inventory, or it shares nothing.
const SHARED_CORE = 0.8;

const CANDIDATES_PER_RELEASE = 8;
const MAX_CACHED_SETS = 4096;

interface CachedSet {
  id: number;
  ids: IdSet;
}

/**
 * Package sets: immutable, content-addressed lists of software ids that devices share as the base
 * of their inventories. Devices installed from the same image differ from a common base by a few
 * packages, so a new inventory usually costs one small row, not one row per package. This keeps
 * the recent bases of each organisation and release in memory, and any base read since.
 */
export class PackageSets {
  readonly #sets = new Map<number, IdSet>();
  readonly #candidates = new Map<string, CachedSet[]>();

  /** The base to store `ids` against: the nearest recent base, or a new set made of `ids`. */
  async chooseBase(tx: OrganizationTransaction, release: string, ids: IdSet): Promise<CachedSet> {
    const candidates = await this.#candidatesFor(tx, release);
    let best: CachedSet | null = null;
    let bestDistance = Number.POSITIVE_INFINITY;
    for (const candidate of candidates) {
      const d = difference(candidate.ids, ids);
      const distance = d.added.length + d.removed.length;
      if (distance < bestDistance) {
        best = candidate;
        bestDistance = distance;
      }
    }
    if (best && bestDistance <= rebaseThreshold(ids.length)) return best;
    // Two machines from one image differ in their own extra packages: their common core is the
    // image, and a base made of it serves both and every later machine like them.
    const core = best ? intersection(best.ids, ids) : null;
    const base = core && core.length >= ids.length * SHARED_CORE ? core : ids;
    const created = await this.#store(tx, release, base);
    // A set this transaction made exists only once it commits.
    tx.afterCommit(() => {
      this.#remember(created.id, created.ids);
      candidates.unshift(created);
      if (candidates.length > CANDIDATES_PER_RELEASE) candidates.pop();
    });
    return created;
  }

  /** The ids of a set, from memory or the database. */
  async idsOf(tx: OrganizationTransaction, setId: number): Promise<IdSet> {
    const cached = this.#sets.get(setId);
    if (cached) return cached;
    const row = await tx.db
      .selectFrom("package_sets")
      .select("software_ids")
      .where("id", "=", setId)
      .executeTakeFirstOrThrow();
    return this.#remember(setId, Int32Array.from(row.software_ids));
  }

  clear(): void {
    this.#sets.clear();
    this.#candidates.clear();
  }

  async #candidatesFor(tx: OrganizationTransaction, release: string): Promise<CachedSet[]> {
    const key = `${tx.organizationId}\u0000${release}`;
    let list = this.#candidates.get(key);
    if (!list) {
      const rows = await tx.db
        .selectFrom("package_sets")
        .select(["id", "software_ids"])
        .where("release", "=", release)
        .orderBy("id", "desc")
        .limit(CANDIDATES_PER_RELEASE)
        .execute();
      list = rows.map((r) => ({ id: r.id, ids: this.#remember(r.id, Int32Array.from(r.software_ids)) }));
      this.#candidates.set(key, list);
    }
    return list;
  }

  async #store(tx: OrganizationTransaction, release: string, ids: IdSet): Promise<CachedSet> {
    const contentHash = hash("sha256", Buffer.from(ids.buffer, ids.byteOffset, ids.byteLength), "buffer");
    const literal = `{${ids.join(",")}}`;
    const inserted = await tx.db
      .insertInto("package_sets")
      .values({
        release,
        content_hash: contentHash,
        software_ids: sql<number[]>`${literal}::integer[]`,
        size: ids.length,
      })
      .onConflict((oc) => oc.columns(["organization_id", "content_hash"]).doNothing())
      .returning("id")
      .executeTakeFirst();
    const id =
      inserted?.id ??
      (
        await tx.db
          .selectFrom("package_sets")
          .select("id")
          .where("content_hash", "=", contentHash)
          .executeTakeFirstOrThrow()
      ).id;
    return { id, ids };
  }

  #remember(id: number, ids: IdSet): IdSet {
    if (this.#sets.size >= MAX_CACHED_SETS) this.#sets.clear();
    this.#sets.set(id, ids);
    return ids;
  }
}
