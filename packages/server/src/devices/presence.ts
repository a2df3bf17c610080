import { sql } from "kysely";
import type { Database } from "../db/database.js";

interface Sighting {
  organizationId: string;
  seenAt: number;
  ip: string | null;
  bootedAt: number | null;
}

export const PRESENCE_FLUSH_MS = 1000;

/**
 * When each device was last heard from. A check-in only notes it here; once a second every
 * sighting since the last flush is written in one statement, so an unchanged check-in costs no
 * database round trip and `last_seen_at` is at most a second (plus one write) stale.
 */
export class PresenceRecorder {
  #pending = new Map<string, Sighting>();
  #timer: NodeJS.Timeout | null = null;
  #flushing: Promise<void> | null = null;

  constructor(
    private readonly db: Database,
    private readonly onError: (error: unknown) => void,
  ) {}

  seen(deviceId: string, sighting: Sighting): void {
    this.#pending.set(deviceId, sighting);
  }

  get pending(): number {
    return this.#pending.size;
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.flush(), PRESENCE_FLUSH_MS);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.flush();
  }

  /** Writes every pending sighting; waits for a flush already under way first. */
  async flush(): Promise<void> {
    while (this.#flushing) await this.#flushing;
    if (this.#pending.size === 0) return;
    const batch = this.#pending;
    this.#pending = new Map();
    this.#flushing = this.#write(batch)
      .catch((error: unknown) => {
        // Keep what could not be written, unless a newer sighting of the device arrived meanwhile.
        for (const [id, s] of batch) if (!this.#pending.has(id)) this.#pending.set(id, s);
        this.onError(error);
      })
      .finally(() => {
        this.#flushing = null;
      });
    await this.#flushing;
  }

  async #write(batch: Map<string, Sighting>): Promise<void> {
    const ids: string[] = [];
    const orgs: string[] = [];
    const seen: string[] = [];
    const ips: (string | null)[] = [];
    const booted: (string | null)[] = [];
    for (const [id, s] of batch) {
      ids.push(id);
      orgs.push(s.organizationId);
      seen.push(new Date(s.seenAt).toISOString());
      ips.push(s.ip);
      booted.push(s.bootedAt === null ? null : new Date(s.bootedAt).toISOString());
    }
    await this.db.system(
      { actor: { type: "system", id: null }, requestId: null, ip: null, userAgent: null },
      async (tx) => {
        await sql`
          INSERT INTO device_presence (device_id, organization_id, last_seen_at, last_ip, booted_at)
          SELECT * FROM unnest(${ids}::uuid[], ${orgs}::uuid[], ${seen}::timestamptz[], ${ips}::text[],
                               ${booted}::timestamptz[])
          ON CONFLICT (device_id) DO UPDATE
            SET last_seen_at = greatest(device_presence.last_seen_at, excluded.last_seen_at),
                last_ip = excluded.last_ip,
                booted_at = coalesce(excluded.booted_at, device_presence.booted_at)`.execute(tx.db);
      },
      { unaudited: "when a device was last heard from is bookkeeping, not an action" },
    );
  }
}
