import { hash } from "node:crypto";
import { entryLine, type InventoryEntry } from "@patchpilot/protocol";
import { sql } from "kysely";
import type { OrganizationTransaction } from "../db/database.js";

// Statements stay well below PostgreSQL's 65,535 parameters.
const LOOKUP_CHUNK = 5000;
const INSERT_CHUNK = 1000;

function chunked<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** An inventory entry with its digest (its identity in the catalogue and its share of the hash). */
export interface DigestedEntry {
  entry: InventoryEntry;
  digest: Buffer;
  /** The digest as base64: the in-memory catalogue key. */
  key: string;
}

export function digestEntries(entries: readonly InventoryEntry[]): DigestedEntry[] {
  return entries.map((entry) => {
    const digest = hash("sha256", entryLine(entry), "buffer");
    return { entry, digest, key: digest.toString("base64") };
  });
}

// Enough for a large organisation's distinct software; past it a catalogue is dropped and
// refilled from the database on demand.
const MAX_CACHED_PER_ORG = 200_000;
const MAX_CACHED_TOTAL = 2_000_000;

/**
 * The organisation's software catalogue: each distinct entry once, with an integer id that
 * package sets hold. Ids are cached per organisation (never shared between tenants); a miss is
 * resolved with one query for all missing entries and one insert for the new ones.
 */
export class SoftwareCatalog {
  readonly #byOrg = new Map<string, Map<string, number>>();
  #total = 0;

  /** The catalogue id of every entry, adding the entries it does not hold yet. */
  async resolve(tx: OrganizationTransaction, entries: readonly DigestedEntry[]): Promise<number[]> {
    const cache = this.#cacheFor(tx.organizationId);
    const ids = new Array<number>(entries.length);
    const missing: number[] = [];
    for (let i = 0; i < entries.length; i++) {
      const id = cache.get((entries[i] as DigestedEntry).key);
      if (id === undefined) missing.push(i);
      else ids[i] = id;
    }
    if (missing.length === 0) return ids;

    const found = await this.#lookup(
      tx,
      missing.map((i) => (entries[i] as DigestedEntry).digest),
    );
    const absent = missing.filter((i) => !found.has((entries[i] as DigestedEntry).key));
    for (const part of chunked(absent, INSERT_CHUNK)) {
      const rows = await tx.db
        .insertInto("software")
        .values(
          part.map((i) => {
            const { entry, digest } = entries[i] as DigestedEntry;
            return {
              entry_hash: digest,
              kind: entry.kind,
              ecosystem: entry.ecosystem,
              release: entry.release,
              name: entry.name,
              version: entry.version,
              arch: entry.arch ?? "",
              source_name: entry.sourceName ?? null,
              source_version: entry.sourceVersion ?? null,
              vendor: entry.vendor ?? null,
            };
          }),
        )
        .onConflict((oc) => oc.columns(["organization_id", "entry_hash"]).doNothing())
        .returning(["id", "entry_hash"])
        .execute();
      for (const row of rows) found.set(Buffer.from(row.entry_hash).toString("base64"), row.id);
    }
    // Another transaction may have added some at the same moment: read those back.
    const raced = absent.filter((i) => !found.has((entries[i] as DigestedEntry).key));
    if (raced.length > 0) {
      for (const [key, id] of await this.#lookup(
        tx,
        raced.map((i) => (entries[i] as DigestedEntry).digest),
      ))
        found.set(key, id);
    }
    const learned: [string, number][] = [];
    for (const i of missing) {
      const key = (entries[i] as DigestedEntry).key;
      const id = found.get(key);
      if (id === undefined) throw new Error("a software entry could not be added to the catalogue");
      ids[i] = id;
      learned.push([key, id]);
    }
    // Rows this transaction added exist only once it commits.
    tx.afterCommit(() => {
      for (const [key, id] of learned) this.#remember(cache, key, id);
    });
    return ids;
  }

  /** Ids of entries already in the catalogue (for removals: an entry never seen is not there). */
  async find(tx: OrganizationTransaction, entries: readonly DigestedEntry[]): Promise<(number | null)[]> {
    const cache = this.#cacheFor(tx.organizationId);
    const unknown = entries.filter((e) => !cache.has(e.key));
    const found =
      unknown.length > 0
        ? await this.#lookup(
            tx,
            unknown.map((e) => e.digest),
          )
        : new Map();
    return entries.map((e) => {
      const id = cache.get(e.key) ?? found.get(e.key);
      if (id !== undefined) this.#remember(cache, e.key, id);
      return id ?? null;
    });
  }

  /** Forgets what is cached (tests; or when memory is tight). */
  clear(): void {
    this.#byOrg.clear();
    this.#total = 0;
  }

  get cachedEntries(): number {
    return this.#total;
  }

  async #lookup(tx: OrganizationTransaction, digests: Buffer[]): Promise<Map<string, number>> {
    const found = new Map<string, number>();
    // Row-level security keeps this to the transaction's organisation.
    for (const chunk of chunked(digests, LOOKUP_CHUNK)) {
      const rows = await tx.db
        .selectFrom("software")
        .select(["id", "entry_hash"])
        .where(sql<boolean>`entry_hash = ANY(${chunk}::bytea[])`)
        .execute();
      for (const row of rows) found.set(Buffer.from(row.entry_hash).toString("base64"), row.id);
    }
    return found;
  }

  #cacheFor(organizationId: string): Map<string, number> {
    let cache = this.#byOrg.get(organizationId);
    if (!cache) {
      cache = new Map();
      this.#byOrg.set(organizationId, cache);
    }
    return cache;
  }

  #remember(cache: Map<string, number>, key: string, id: number): void {
    if (cache.has(key)) return;
    if (this.#total >= MAX_CACHED_TOTAL) this.clear();
    if (cache.size >= MAX_CACHED_PER_ORG) {
      this.#total -= cache.size;
      cache.clear();
    }
    cache.set(key, id);
    this.#total++;
  }
}
