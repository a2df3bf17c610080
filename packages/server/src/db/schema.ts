import type { ColumnType, Generated } from "kysely";

/**
 * Row types of the tables in ../../migrations. The SQL is the source of truth; the schema test
 * compares these column lists with the migrated database so the two cannot drift apart.
 */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type GeneratedTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type Json = ColumnType<Record<string, unknown>, string, string>;

export interface OrganizationsTable {
  id: Generated<string>;
  name: string;
  plan: Generated<string>;
  created_at: GeneratedTimestamp;
  updated_at: GeneratedTimestamp;
}

export interface UsersTable {
  id: Generated<string>;
  email: string;
  name: string;
  password_hash: string | null;
  password_changed_at: Timestamp | null;
  last_login_at: Timestamp | null;
  created_at: GeneratedTimestamp;
  updated_at: GeneratedTimestamp;
}

export interface MembershipsTable {
  organization_id: Generated<string>;
  user_id: string;
  role: string;
  created_at: GeneratedTimestamp;
  updated_at: GeneratedTimestamp;
}

export interface SessionsTable {
  id: Generated<string>;
  user_id: string;
  token_hash: Buffer;
  created_at: GeneratedTimestamp;
  last_seen_at: GeneratedTimestamp;
  idle_expires_at: Timestamp;
  absolute_expires_at: Timestamp;
  revoked_at: Timestamp | null;
  ip: string | null;
  user_agent: string | null;
}

export interface InvitationsTable {
  id: Generated<string>;
  organization_id: Generated<string>;
  email: string;
  role: string;
  token_hash: Buffer;
  invited_by: string | null;
  created_at: GeneratedTimestamp;
  expires_at: Timestamp;
  accepted_at: Timestamp | null;
  accepted_by: string | null;
  revoked_at: Timestamp | null;
}

export interface SetupTokensTable {
  token_hash: Buffer;
  created_at: GeneratedTimestamp;
  expires_at: Timestamp;
  used_at: Timestamp | null;
}

export interface RateLimitBucketsTable {
  key: string;
  window_started_at: Timestamp;
  hits: number;
}

export interface AuditChainHeadsTable {
  organization_id: Generated<string>;
  chain: "audit" | "device";
  seq: Generated<number>;
  prev_hash: Generated<Buffer>;
  head_hash: Generated<Buffer>;
}

export interface AuditEventsTable {
  organization_id: Generated<string>;
  seq: number;
  id: Generated<string>;
  occurred_at: Timestamp;
  actor_type: string;
  actor_id: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  result: "success" | "failure";
  error_code: string | null;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  details: Json;
  prev_hash: Buffer;
  hash: Buffer;
}

export interface DeviceEventsTable {
  organization_id: Generated<string>;
  seq: number;
  id: Generated<string>;
  occurred_at: Timestamp;
  device_id: string | null;
  actor_type: string;
  actor_id: string | null;
  event_type: string;
  result: "success" | "failure";
  error_code: string | null;
  request_id: string | null;
  details: Json;
  prev_hash: Buffer;
  hash: Buffer;
}

export interface SchemaMigrationsTable {
  version: string;
  checksum: string;
  applied_at: GeneratedTimestamp;
}

export interface DB {
  organizations: OrganizationsTable;
  users: UsersTable;
  memberships: MembershipsTable;
  sessions: SessionsTable;
  invitations: InvitationsTable;
  setup_tokens: SetupTokensTable;
  rate_limit_buckets: RateLimitBucketsTable;
  audit_chain_heads: AuditChainHeadsTable;
  audit_events: AuditEventsTable;
  device_events: DeviceEventsTable;
  schema_migrations: SchemaMigrationsTable;
}
