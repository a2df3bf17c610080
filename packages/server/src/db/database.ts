import { type Kysely, sql, type Transaction } from "kysely";
import type { OwnerSql } from "./migrate.js";
import type { DB } from "./schema.js";
import {
  type AuditContext,
  type AuditEventInput,
  AuditMissingError,
  AuditQueue,
  type DeviceEventInput,
} from "./unit-of-work.js";
import { WriteTracker } from "./write-tracker.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A transaction bound to one organisation: row-level security shows it that tenant's rows only. */
export interface OrganizationTransaction {
  readonly organizationId: string;
  readonly db: Transaction<DB>;
  audit(event: AuditEventInput): void;
  deviceEvent(event: DeviceEventInput): void;
  /** Runs once the transaction has committed (caches, wake-ups); never if it rolls back. */
  afterCommit(effect: () => void): void;
}

/** A cross-tenant transaction for the system's own work; every use says whose chain it audits. */
export interface SystemTransaction {
  readonly db: Transaction<DB>;
  audit(organizationId: string, event: AuditEventInput): void;
  deviceEvent(organizationId: string, event: DeviceEventInput): void;
  afterCommit(effect: () => void): void;
}

/** The connection pool's state, for monitoring: connections open, idle, and callers waiting for one. */
export interface PoolState {
  total: number;
  idle: number;
  waiting: number;
}

/** What only one of the two engines has: the embedded database's files, the server pool's state. */
export interface DatabaseEngine {
  /**
   * The embedded database: runs `read` as the owner, checkpoints and tars the data directory, all
   * while holding its one connection, so what `read` saw is what the tarball holds.
   */
  snapshotDataDir?<T>(
    read: (query: <R>(sql: string) => Promise<R[]>) => Promise<T>,
  ): Promise<{ tarball: Blob; read: T }>;
  poolState?(): PoolState;
}

export interface SystemTransactionOptions {
  /** Why this unit of work may change data without an audit row (e.g. a session's last-seen time). */
  unaudited?: string;
}

/**
 * The only way the application reaches its data. Tenant data goes through `withOrganization`,
 * which opens a transaction, switches to the non-superuser application role and sets the
 * organisation for the row-level security policies in one round trip. Cross-tenant work
 * (sign-in, setup, jobs) goes through `system`, explicitly.
 */
export class Database {
  constructor(
    readonly kind: "pglite" | "postgres",
    private readonly kysely: Kysely<DB>,
    /** SQL as the database owner: migrations, schema checks, the embedded database's upkeep, tests. */
    readonly owner: OwnerSql,
    private readonly closeDriver: () => Promise<void>,
    readonly engine: DatabaseEngine = {},
  ) {}

  async withOrganization<T>(
    organizationId: string,
    context: AuditContext,
    work: (tx: OrganizationTransaction) => Promise<T>,
  ): Promise<T> {
    if (!UUID.test(organizationId)) throw new Error("organization id must be a UUID");
    const effects: (() => void)[] = [];
    const result = await this.kysely.transaction().execute(async (trx) => {
      await sql`SELECT set_config('role', 'patchpilot_app', true),
                       set_config('patchpilot.organization_id', ${organizationId}, true)`.execute(trx);
      const tracker = new WriteTracker();
      const queue = new AuditQueue(context);
      const result = await work({
        organizationId,
        db: trx.withPlugin(tracker),
        audit: (event) => queue.audit(organizationId, event),
        deviceEvent: (event) => queue.deviceEvent(organizationId, event),
        afterCommit: (effect) => effects.push(effect),
      });
      if (tracker.wrote && queue.pending.length === 0) throw new AuditMissingError();
      await queue.flush(trx);
      return result;
    });
    for (const effect of effects) effect();
    return result;
  }

  async system<T>(
    context: AuditContext,
    work: (tx: SystemTransaction) => Promise<T>,
    options: SystemTransactionOptions = {},
  ): Promise<T> {
    const effects: (() => void)[] = [];
    const result = await this.kysely.transaction().execute(async (trx) => {
      const tracker = new WriteTracker();
      const queue = new AuditQueue(context);
      const result = await work({
        db: trx.withPlugin(tracker),
        audit: (organizationId, event) => queue.audit(organizationId, event),
        deviceEvent: (organizationId, event) => queue.deviceEvent(organizationId, event),
        afterCommit: (effect) => effects.push(effect),
      });
      if (tracker.wrote && queue.pending.length === 0 && !options.unaudited) throw new AuditMissingError();
      await queue.flush(trx);
      return result;
    });
    for (const effect of effects) effect();
    return result;
  }

  /** A single cross-tenant read outside a transaction (the per-request session lookup). */
  get systemReader(): Kysely<DB> {
    return this.kysely;
  }

  async ping(): Promise<void> {
    await sql`SELECT 1`.execute(this.kysely);
  }

  async close(): Promise<void> {
    await this.kysely.destroy();
    await this.closeDriver();
  }
}
