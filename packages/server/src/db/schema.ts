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

export interface EnrollmentTokensTable {
  id: Generated<string>;
  organization_id: Generated<string>;
  name: string;
  token_hash: Buffer;
  token_hint: string;
  group_id: string | null;
  created_by: string | null;
  created_at: GeneratedTimestamp;
  expires_at: Timestamp | null;
  max_uses: number | null;
  uses: Generated<number>;
  last_used_at: Timestamp | null;
  revoked_at: Timestamp | null;
}

export interface DeviceGroupsTable {
  id: Generated<string>;
  organization_id: Generated<string>;
  name: string;
  description: Generated<string>;
  time_zone: Generated<string>;
  created_at: GeneratedTimestamp;
  updated_at: GeneratedTimestamp;
}

type JsonArray = ColumnType<unknown[], string, string>;

export interface DevicesTable {
  id: Generated<string>;
  organization_id: Generated<string>;
  hardware_id: string;
  hostname: string;
  os_family: string;
  os_name: string;
  os_version: string;
  os_build: string;
  os_release: string;
  kernel: string;
  arch: string;
  agent_version: string;
  reboot_required: Generated<boolean>;
  patch_sources: ColumnType<unknown[], string | undefined, string>;
  facts_hash: Buffer;
  tags: ColumnType<string[], string[] | undefined, string[]>;
  criticality: Generated<string>;
  enrolled_at: GeneratedTimestamp;
  enrolled_with: string | null;
  reenrollment_allowed_until: Timestamp | null;
  retired_at: Timestamp | null;
  created_at: GeneratedTimestamp;
  updated_at: GeneratedTimestamp;
}

export interface DeviceGroupMembersTable {
  organization_id: Generated<string>;
  group_id: string;
  device_id: string;
  added_at: GeneratedTimestamp;
}

export interface DeviceTokensTable {
  id: Generated<string>;
  organization_id: Generated<string>;
  device_id: string;
  token_hash: Buffer;
  created_at: GeneratedTimestamp;
  first_used_at: Timestamp | null;
  revoked_at: Timestamp | null;
  revoked_reason: string | null;
}

export interface DevicePresenceTable {
  device_id: string;
  organization_id: Generated<string>;
  last_seen_at: Timestamp;
  last_ip: string | null;
  booted_at: Timestamp | null;
}

export interface SoftwareTable {
  id: Generated<number>;
  organization_id: Generated<string>;
  entry_hash: Buffer;
  kind: string;
  ecosystem: string;
  release: string;
  name: string;
  version: string;
  arch: Generated<string>;
  source_name: string | null;
  source_version: string | null;
  vendor: string | null;
  first_seen_at: GeneratedTimestamp;
}

type IdArray = ColumnType<number[], number[] | string, number[] | string>;

export interface PackageSetsTable {
  id: Generated<number>;
  organization_id: Generated<string>;
  release: string;
  content_hash: Buffer;
  software_ids: IdArray;
  size: number;
  created_at: GeneratedTimestamp;
}

export interface DeviceInventoriesTable {
  device_id: string;
  organization_id: Generated<string>;
  base_set_id: number;
  added: IdArray;
  removed: IdArray;
  package_count: number;
  inventory_hash: string;
  updates: JsonArray;
  updated_at: GeneratedTimestamp;
}

export interface DeviceJobsTable {
  id: Generated<string>;
  organization_id: Generated<string>;
  device_id: string;
  kind: string;
  payload: ColumnType<Record<string, unknown>, string | undefined, string>;
  state: Generated<string>;
  requested_by_type: string;
  requested_by_id: string | null;
  created_at: GeneratedTimestamp;
  expires_at: Timestamp;
  delivered_at: Timestamp | null;
  delivery_count: Generated<number>;
  completed_at: Timestamp | null;
  result: ColumnType<Record<string, unknown> | null, string | null, string | null>;
}

export interface AgentReportsTable {
  organization_id: Generated<string>;
  device_id: string;
  report_id: string;
  kind: string;
  received_at: GeneratedTimestamp;
  outcome: ColumnType<Record<string, unknown>, string | undefined, string>;
}

export interface AgentSignalsTable {
  seq: Generated<number>;
  organization_id: Generated<string>;
  device_id: string;
  kind: "credentials_changed" | "jobs_queued" | "inventory_requested";
  created_at: GeneratedTimestamp;
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
  enrollment_tokens: EnrollmentTokensTable;
  device_groups: DeviceGroupsTable;
  devices: DevicesTable;
  device_group_members: DeviceGroupMembersTable;
  device_tokens: DeviceTokensTable;
  device_presence: DevicePresenceTable;
  software: SoftwareTable;
  package_sets: PackageSetsTable;
  device_inventories: DeviceInventoriesTable;
  device_jobs: DeviceJobsTable;
  agent_reports: AgentReportsTable;
  agent_signals: AgentSignalsTable;
  schema_migrations: SchemaMigrationsTable;
}
