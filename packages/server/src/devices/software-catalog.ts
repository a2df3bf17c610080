import { lineDigest, parseEntryLine } from "@patchpilot/protocol";
import { sql } from "kysely";
import type { OrganizationTransaction } from "../db/database.js";

/** An inventory line with its digest (its identity in the catalogue and its share of the hash). */
export interface DigestedLine {
  line: string;
  digest: Buffer;
  /** The digest as base64: the in-memory catalogue key. */
  key: string;
}

export function digestLines(lines: readonly string[]): DigestedLine[] {
  return lines.map((line) => {
    const digest = lineDigest(line);
    return { line, digest, key: digest.toString("base64") };
  });
}

// Enough for a large organisation's distinct software; past it a catalogue is dropped and
// refilled from the database on demand.
const MAX_CACHED_PER_ORG = 200_000;
const MAX_CACHED_TOTAL = 2_000_000;

/**
 * The organisation's software catalogue: each distinct entry once, with an integer id that
 * package sets hold. Ids are cached per organisation (never shared between tenants); a miss is
 * resolved with one query for all missing entries and one insert for the new ones. Each statement
 * takes its values as arrays, so its text is the same for any number of entries.
 */
export class SoftwareCatalog {
  readonly #byOrg = new Map<string, Map<string, number>>();
  #total = 0;

  /** The catalogue id of every line, adding the entries it does not hold yet. */
  async resolve(tx: OrganizationTransaction, lines: readonly DigestedLine[]): Promise<number[]> {
    const cache = this.#cacheFor(tx.organizationId);
    const ids = new Array<number>(lines.length);
    const missing: DigestedLine[] = [];
    const missingAt: number[] = [];
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i] as DigestedLine;
      const id = cache.get(line.key);
      if (id === undefined) {
        missing.push(line);
        missingAt.push(i);
      } else ids[i] = id;
    }
    if (missing.length === 0) return ids;

    const found = await this.#lookup(tx, missing);
    const absent = missing.filter((l) => !found.has(l.key));
    if (absent.length > 0) {
      for (const [key, id] of await this.#insert(tx, absent)) found.set(key, id);
      // Another transaction may have added some at the same moment: read those back.
      const raced = absent.filter((l) => !found.has(l.key));
      if (raced.length > 0) for (const [key, id] of await this.#lookup(tx, raced)) found.set(key, id);
    }
    const learned: [string, number][] = [];
    for (let j = 0; j < missing.length; j++) {
      const key = (missing[j] as DigestedLine).key;
      const id = found.get(key);
      if (id === undefined) throw new Error("a software entry could not be added to the catalogue");
      ids[missingAt[j] as number] = id;
      learned.push([key, id]);
    }
    // Rows this transaction added exist only once it commits.
    tx.afterCommit(() => {
      for (const [key, id] of learned) this.#remember(cache, key, id);
    });
    return ids;
  }

  /** Ids of lines already in the catalogue (for removals: an entry never seen is not there). */
  async find(tx: OrganizationTransaction, lines: readonly DigestedLine[]): Promise<(number | null)[]> {
    const cache = this.#cacheFor(tx.organizationId);
    const unknown = lines.filter((l) => !cache.has(l.key));
    const found = unknown.length > 0 ? await this.#lookup(tx, unknown) : new Map<string, number>();
    return lines.map((l) => {
      const id = cache.get(l.key) ?? found.get(l.key);
      if (id !== undefined) this.#remember(cache, l.key, id);
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

  async #lookup(tx: OrganizationTransaction, lines: readonly DigestedLine[]): Promise<Map<string, number>> {
    const found = new Map<string, number>();
    // Row-level security keeps this to the transaction's organisation.
    const rows = await tx.db
      .selectFrom("software")
      .select(["id", "entry_hash"])
      .where(sql<boolean>`entry_hash = ANY(${lines.map((l) => l.digest)}::bytea[])`)
      .execute();
    for (const row of rows) found.set(Buffer.from(row.entry_hash).toString("base64"), row.id);
    return found;
  }

  async #insert(tx: OrganizationTransaction, lines: readonly DigestedLine[]): Promise<Map<string, number>> {
    const entries = lines.map((l) => parseEntryLine(l.line));
    const column = <T>(pick: (e: (typeof entries)[number]) => T) => entries.map(pick);
    const result = await sql<{ id: number; entry_hash: Buffer }>`
      INSERT INTO software (entry_hash, kind, ecosystem, release, name, version, arch, source_name, source_version, vendor)
      SELECT * FROM unnest(${lines.map((l) => l.digest)}::bytea[], ${column((e) => e.kind)}::text[],
                           ${column((e) => e.ecosystem)}::text[], ${column((e) => e.release)}::text[],
                           ${column((e) => e.name)}::text[], ${column((e) => e.version)}::text[],
                           ${column((e) => e.arch ?? "")}::text[], ${column((e) => e.sourceName ?? null)}::text[],
                           ${column((e) => e.sourceVersion ?? null)}::text[], ${column((e) => e.vendor ?? null)}::text[])
      ON CONFLICT (organization_id, entry_hash) DO NOTHING
      RETURNING id, entry_hash`.execute(tx.db);
    return new Map(result.rows.map((r) => [Buffer.from(r.entry_hash).toString("base64"), r.id]));
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
