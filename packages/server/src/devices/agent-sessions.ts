import { hashToken, isWellFormedToken } from "@patchpilot/protocol";
import type { Database } from "../db/database.js";
import type { ClientInfo } from "../http/authenticate.js";
import { AppError } from "../http/errors.js";
import type { DeviceCaller } from "../http/route.js";

/**
 * What a check-in needs to know about a device without asking the database: whose it is, which
 * token it uses, the inventory and facts the server holds, and whether work is waiting. One per
 * device a process has seen; a few hundred bytes each (docs/performance.md measures it).
 */
export interface AgentSession extends DeviceCaller {
  tokenKey: string;
  /** When the token was issued (ms), for rotation. */
  tokenIssuedAt: number;
  inventoryHash: string | null;
  factsHash: string;
  /** The distribution release its inventory is stored under (`debian:12`). */
  release: string;
  /** Boot time (ms) as last reported, to notice reboots. */
  bootedAt: number | null;
  /** A job may be waiting: the next check-in looks it up. */
  jobsPending: boolean;
  /** Counts job signals, so a delivery does not clear the flag for a job queued while it ran. */
  jobsEpoch: number;
  /** An operator asked for a full inventory. */
  inventoryRequested: boolean;
}

export function isAgentSession(caller: DeviceCaller | null): caller is AgentSession {
  return caller !== null && "tokenKey" in caller && "jobsEpoch" in caller;
}

/** The one copy of a string that many sessions share. */
export function intern(strings: Map<string, string>, value: string): string {
  const known = strings.get(value);
  if (known !== undefined) return known;
  if (strings.size > 100_000) strings.clear();
  strings.set(value, value);
  return value;
}

/** A device token's cache key: its SHA-256, base64. */
function keyOf(token: string): string {
  // 128 bits of the SHA-256 tell tokens apart as well as all 256 do, in half the memory.
  return hashToken(token).toString("base64url", 0, 16);
}

const NEGATIVE_TTL_MS = 30_000;
const NEGATIVE_MAX = 10_000;

/**
 * Device tokens known to this process, by token hash, and the same sessions by device id (for
 * signals, which name devices). A miss is looked up once in the database; a token that is not
 * valid is remembered briefly so a flood of forged tokens does not become a flood of queries.
 */
export class AgentSessionCache {
  readonly #byToken = new Map<string, AgentSession>();
  readonly #byDevice = new Map<string, AgentSession>();
  readonly #invalid = new Map<string, number>();
  /** Organisation ids and releases are shared by many sessions: keep one copy of each string. */
  readonly #strings = new Map<string, string>();

  constructor(
    private readonly db: Database,
    private readonly onFirstUse: (
      session: AgentSession,
      tokenId: string,
      client: ClientInfo,
    ) => Promise<void>,
    /** A token used for another device's id: recorded on the token's own device. */
    private readonly onMisuse: (
      session: AgentSession,
      attemptedDeviceId: string,
      client: ClientInfo,
    ) => Promise<void> = async () => {},
  ) {}

  get size(): number {
    return this.#byDevice.size;
  }

  /** The device a token belongs to, checked against the device the request names. */
  async authenticate(token: string | null, deviceId: string, client: ClientInfo): Promise<AgentSession> {
    if (token === null || !isWellFormedToken("device", token)) throw new AppError("agent.token_invalid");
    const key = keyOf(token);
    let session = this.#byToken.get(key);
    if (!session) {
      const refusedAt = this.#invalid.get(key);
      if (refusedAt !== undefined && Date.now() - refusedAt < NEGATIVE_TTL_MS) {
        throw new AppError("agent.token_invalid");
      }
      session = await this.#load(token, key, client);
    }
    if (session.deviceId !== deviceId) {
      await this.onMisuse(session, deviceId, client);
      throw new AppError("agent.wrong_device");
    }
    return session;
  }

  /** The device, when its token is already known here and belongs to it (no database needed). */
  cached(token: string, deviceId: string): AgentSession | null {
    if (!isWellFormedToken("device", token)) return null;
    const session = this.#byToken.get(keyOf(token));
    return session?.deviceId === deviceId ? session : null;
  }

  forDevice(deviceId: string): AgentSession | undefined {
    return this.#byDevice.get(deviceId);
  }

  /** Forgets a device (its tokens changed): its next request is checked against the database. */
  forget(deviceId: string): void {
    const session = this.#byDevice.get(deviceId);
    if (!session) return;
    this.#byDevice.delete(deviceId);
    this.#byToken.delete(session.tokenKey);
  }

  clear(): void {
    this.#byToken.clear();
    this.#byDevice.clear();
    this.#invalid.clear();
  }

  async #load(token: string, key: string, client: ClientInfo): Promise<AgentSession> {
    const row = await this.db.systemReader
      .selectFrom("device_tokens as t")
      .innerJoin("devices as d", "d.id", "t.device_id")
      .leftJoin("device_inventories as i", "i.device_id", "t.device_id")
      .leftJoin("device_presence as p", "p.device_id", "t.device_id")
      .select((eb) => [
        "t.id as token_id",
        "t.device_id",
        "t.organization_id",
        "t.created_at",
        "t.first_used_at",
        "d.facts_hash",
        "d.os_release",
        "i.inventory_hash",
        "p.booted_at",
        eb
          .exists(
            eb
              .selectFrom("device_jobs as j")
              .select("j.id")
              .whereRef("j.device_id", "=", "t.device_id")
              .where("j.state", "=", "queued"),
          )
          .as("jobs_pending"),
      ])
      .where("t.token_hash", "=", hashToken(token))
      .where("t.revoked_at", "is", null)
      .where("d.retired_at", "is", null)
      .executeTakeFirst();
    if (!row) {
      if (this.#invalid.size >= NEGATIVE_MAX) this.#invalid.clear();
      this.#invalid.set(key, Date.now());
      throw new AppError("agent.token_invalid");
    }
    const organizationId = intern(this.#strings, row.organization_id);
    const session: AgentSession = {
      deviceId: row.device_id,
      organizationId,
      tokenKey: key,
      tokenIssuedAt: row.created_at.getTime(),
      inventoryHash: row.inventory_hash,
      factsHash: Buffer.from(row.facts_hash).toString("base64"),
      release: intern(this.#strings, row.os_release),
      bootedAt: row.booted_at ? row.booted_at.getTime() : null,
      jobsPending: Boolean(row.jobs_pending),
      jobsEpoch: 0,
      inventoryRequested: false,
    };
    if (row.first_used_at === null) await this.onFirstUse(session, row.token_id, client);
    // A device has one live session here: a rotated-in token replaces the one it succeeds.
    this.forget(session.deviceId);
    this.#byToken.set(key, session);
    this.#byDevice.set(session.deviceId, session);
    return session;
  }
}
