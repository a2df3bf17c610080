import type { ColumnType, Generated } from "kysely";
import type { IdentityDB } from "./schema-identity.js";

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
  /** Enterprise and MSP only: the organisation's own audit retention in days. */
  audit_retention_days: ColumnType<number | null, number | null | undefined, number | null>;
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
  /** Set when an organisation's identity provider opened the session: it reaches that organisation only. */
  sso_organization_id: string | null;
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
  /** Kept by a trigger on findings: the device's open findings and the highest risk among them. */
  open_findings: Generated<number>;
  open_risk: Generated<number>;
  open_sla_due_at: Timestamp | null;
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

type TextArray = ColumnType<string[], string[] | undefined, string[]>;
type Decimal = ColumnType<number | null, number | string | null | undefined, number | string | null>;

export interface VulnerabilitiesTable {
  id: string;
  summary: string | null;
  description: string | null;
  published_at: Timestamp | null;
  modified_at: Timestamp | null;
  cvss_v3_score: Decimal;
  cvss_v3_vector: string | null;
  cvss_v4_score: Decimal;
  cvss_v4_vector: string | null;
  severity: Generated<string>;
  cwes: TextArray;
  reference_urls: TextArray;
  epss: Decimal;
  epss_percentile: Decimal;
  epss_date: ColumnType<string | null, string | null | undefined, string | null>;
  kev_added: ColumnType<string | null, string | null | undefined, string | null>;
  kev_due: ColumnType<string | null, string | null | undefined, string | null>;
  kev_ransomware: boolean | null;
  sources: TextArray;
  updated_at: GeneratedTimestamp;
}

export interface VulnerabilityAliasesTable {
  alias: string;
  vulnerability_id: string;
}

export interface AdvisoriesTable {
  source: string;
  id: string;
  modified_at: Timestamp | null;
  digest: string;
  vulnerability_ids: string[];
  imported_at: GeneratedTimestamp;
}

export interface AffectedRangesTable {
  id: Generated<number>;
  source: string;
  advisory_id: string;
  vulnerability_id: string;
  ecosystem: string;
  release: string;
  package_name: string;
  package_scope: string;
  introduced: string | null;
  fixed: string | null;
  last_affected: string | null;
  versions: TextArray;
  status: string;
  vendor_advisory: string | null;
  vendor_severity: string | null;
  supersedes: TextArray;
}

export interface CpeMatchesTable {
  id: Generated<number>;
  source: string;
  advisory_id: string;
  vulnerability_id: string;
  vendor: string;
  product: string;
  version: string | null;
  version_start_including: string | null;
  version_start_excluding: string | null;
  version_end_including: string | null;
  version_end_excluding: string | null;
}

export interface FeedStateTable {
  feed: string;
  last_attempt_at: Timestamp | null;
  last_success_at: Timestamp | null;
  last_error: string | null;
  records: Generated<number>;
  skipped: Generated<number>;
  cursor: string | null;
  details: ColumnType<Record<string, unknown>, string | undefined, string>;
}

export interface KnowledgeBaseGenerationTable {
  singleton: Generated<boolean>;
  generation: Generated<number>;
  changed_at: GeneratedTimestamp;
}

export interface JobsTable {
  id: Generated<number>;
  kind: string;
  payload: ColumnType<Record<string, unknown>, string | undefined, string>;
  unique_key: string | null;
  state: Generated<string>;
  run_at: GeneratedTimestamp;
  attempts: Generated<number>;
  max_attempts: Generated<number>;
  leased_until: Timestamp | null;
  leased_by: string | null;
  last_error: string | null;
  created_at: GeneratedTimestamp;
  finished_at: Timestamp | null;
}

export interface InventoryChangesTable {
  id: Generated<number>;
  organization_id: Generated<string>;
  device_id: string;
  added: IdArray;
  removed: IdArray;
  queued_at: GeneratedTimestamp;
}

export interface SoftwareVulnerabilitiesTable {
  organization_id: Generated<string>;
  software_id: number;
  vulnerability_id: string;
  fixed_version: string | null;
  range_status: string;
  vendor_advisory: string | null;
  vendor_severity: string | null;
  matched_at: GeneratedTimestamp;
}

export interface SoftwareMatchesTable {
  software_id: number;
  organization_id: Generated<string>;
  matched_at: GeneratedTimestamp;
}

export interface FindingsTable {
  id: Generated<string>;
  organization_id: Generated<string>;
  device_id: string;
  vulnerability_id: string;
  package_name: string;
  package_arch: Generated<string>;
  software_id: number;
  installed_version: string;
  fixed_version: string | null;
  range_status: string;
  status: Generated<string>;
  severity: string;
  risk: ColumnType<number, number | string, number | string>;
  first_seen_at: GeneratedTimestamp;
  last_changed_at: GeneratedTimestamp;
  closed_at: Timestamp | null;
  sla_due_at: Timestamp;
  suppression_id: string | null;
}

export interface SuppressionsTable {
  id: Generated<string>;
  organization_id: Generated<string>;
  vulnerability_id: string;
  package_name: string | null;
  scope_type: string;
  scope_id: string | null;
  kind: string;
  justification: string | null;
  reason: string;
  owner: string;
  created_by: string | null;
  created_at: GeneratedTimestamp;
  expires_at: Timestamp | null;
  revoked_at: Timestamp | null;
}

export interface VulnerabilitySettingsTable {
  organization_id: Generated<string>;
  sla_critical_days: Generated<number>;
  sla_high_days: Generated<number>;
  sla_medium_days: Generated<number>;
  sla_low_days: Generated<number>;
  updated_at: GeneratedTimestamp;
}

export interface FindingDailyStatsTable {
  organization_id: Generated<string>;
  day: ColumnType<string, string, string>;
  critical: number;
  high: number;
  medium: number;
  low: number;
  other: number;
  kev: number;
  overdue: number;
  fixed_today: number;
}

export interface SchemaMigrationsTable {
  version: string;
  checksum: string;
  applied_at: GeneratedTimestamp;
}

export interface MaintenanceWindowsTable {
  id: Generated<string>;
  organization_id: Generated<string>;
  name: string;
  schedule: string;
  duration_minutes: number;
  time_zone: string;
  created_at: GeneratedTimestamp;
  updated_at: GeneratedTimestamp;
}

export interface PatchPoliciesTable {
  id: Generated<string>;
  organization_id: Generated<string>;
  name: string;
  group_id: string;
  automatic: Generated<string>;
  approval: Generated<unknown>;
  hold: Generated<string[]>;
  reboot: Generated<string>;
  max_reboot_deferrals: Generated<number>;
  pre_update: unknown | null;
  health_check: unknown | null;
  rollback_on_failure: Generated<boolean>;
  window_id: string | null;
  catch_up_hours: Generated<number>;
  created_at: GeneratedTimestamp;
  updated_at: GeneratedTimestamp;
}

export interface RolloutsTable {
  id: Generated<string>;
  organization_id: Generated<string>;
  name: string;
  state: Generated<string>;
  mode: string;
  packages: Generated<unknown>;
  findings: unknown | null;
  hold: Generated<string[]>;
  pre_update: unknown | null;
  health_check: unknown | null;
  rollback_on_failure: Generated<boolean>;
  reboot: Generated<string>;
  max_reboot_deferrals: Generated<number>;
  window_id: string | null;
  max_attempts: Generated<number>;
  device_timeout_hours: Generated<number>;
  current_ring: Generated<number>;
  halted_reason: string | null;
  policy_id: string | null;
  scheduled_for: Timestamp | null;
  created_by: string | null;
  created_at: GeneratedTimestamp;
  updated_at: GeneratedTimestamp;
  finished_at: Timestamp | null;
}

export interface RolloutRingsTable {
  organization_id: Generated<string>;
  rollout_id: string;
  position: number;
  name: string;
  group_ids: string[];
  success_threshold: string;
  soak_minutes: number;
  require_approval: Generated<boolean>;
  state: Generated<string>;
  started_at: Timestamp | null;
  settled_at: Timestamp | null;
  passed_at: Timestamp | null;
  approved_by: string | null;
  approved_at: Timestamp | null;
  measured: Generated<unknown>;
}

export interface RolloutDevicesTable {
  organization_id: Generated<string>;
  rollout_id: string;
  ring: number;
  device_id: string;
  state: Generated<string>;
  job_id: string | null;
  attempts: Generated<number>;
  next_attempt_at: Timestamp | null;
  reason: string | null;
  log_excerpt: string | null;
  result: unknown | null;
  health: string | null;
  verified: string | null;
  updated_at: GeneratedTimestamp;
}

export interface AuditChainAnchorsTable {
  organization_id: string;
  chain: "audit" | "device";
  seq: number;
  hash: Buffer;
  purged_at: GeneratedTimestamp;
}

export interface EvidenceKeysTable {
  id: string;
  public_key: Buffer;
  sealed_private_key: string;
  created_at: GeneratedTimestamp;
}

export interface AuditCheckpointsTable {
  id: Generated<string>;
  organization_id: Generated<string>;
  chain: "audit" | "device";
  seq: number;
  head_hash: Buffer;
  signed_at: Timestamp;
  key_id: string;
  statement: string;
  signature: Buffer;
}

export interface SiemConfigsTable {
  organization_id: Generated<string>;
  host: string;
  port: number;
  transport: "udp" | "tcp" | "tls";
  facility: Generated<number>;
  sealed_ca_pem: string | null;
  enabled: Generated<boolean>;
  leased_until: Timestamp | null;
  next_attempt_at: GeneratedTimestamp;
  failures: Generated<number>;
  last_error: string | null;
  last_delivered_seq: Generated<number>;
  updated_at: GeneratedTimestamp;
  format: Generated<"rfc5424" | "cef">;
}

export interface SiemOutboxTable {
  organization_id: Generated<string>;
  seq: number;
  queued_at: GeneratedTimestamp;
}

export interface DB extends IdentityDB {
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
  vulnerabilities: VulnerabilitiesTable;
  vulnerability_aliases: VulnerabilityAliasesTable;
  advisories: AdvisoriesTable;
  affected_ranges: AffectedRangesTable;
  cpe_matches: CpeMatchesTable;
  feed_state: FeedStateTable;
  knowledge_base_generation: KnowledgeBaseGenerationTable;
  jobs: JobsTable;
  inventory_changes: InventoryChangesTable;
  software_vulnerabilities: SoftwareVulnerabilitiesTable;
  software_matches: SoftwareMatchesTable;
  findings: FindingsTable;
  suppressions: SuppressionsTable;
  maintenance_windows: MaintenanceWindowsTable;
  patch_policies: PatchPoliciesTable;
  rollouts: RolloutsTable;
  rollout_rings: RolloutRingsTable;
  rollout_devices: RolloutDevicesTable;
  vulnerability_settings: VulnerabilitySettingsTable;
  finding_daily_stats: FindingDailyStatsTable;
  schema_migrations: SchemaMigrationsTable;
  audit_chain_anchors: AuditChainAnchorsTable;
  evidence_keys: EvidenceKeysTable;
  audit_checkpoints: AuditCheckpointsTable;
  siem_configs: SiemConfigsTable;
  siem_outbox: SiemOutboxTable;
  sso_oidc_configs: SsoOidcConfigsTable;
  sso_saml_configs: SsoSamlConfigsTable;
  sso_flows: SsoFlowsTable;
  sso_saml_assertions: SsoSamlAssertionsTable;
  backup_runs: BackupRunsTable;
  restore_tests: RestoreTestsTable;
  status_probes: StatusProbesTable;
  alert_rules: AlertRulesTable;
  alerts: AlertsTable;
  alert_deliveries: AlertDeliveriesTable;
}

export interface BackupRunsTable {
  id: Generated<number>;
  trigger: "manual" | "scheduled" | "pre_upgrade";
  state: "succeeded" | "failed";
  started_at: Timestamp;
  finished_at: GeneratedTimestamp;
  duration_ms: number;
  file: string | null;
  copies: Generated<string[]>;
  bytes: number | null;
  verified_at: Timestamp | null;
  removed_at: Timestamp | null;
  error: string | null;
  details: ColumnType<Record<string, unknown>, string | undefined, string>;
}

export interface RestoreTestsTable {
  id: Generated<number>;
  file: string;
  ok: boolean;
  started_at: Timestamp;
  finished_at: GeneratedTimestamp;
  duration_ms: number;
  backup_bytes: number | null;
  problems: ColumnType<string[], string | undefined, string>;
  error: string | null;
}

export interface StatusProbesTable {
  component: "api" | "agent_gateway" | "jobs" | "feeds";
  probed_at: Timestamp;
  up: boolean;
  latency_ms: number | null;
}

export type AlertKind =
  | "device_offline"
  | "checkin_error_spike"
  | "feed_stale"
  | "backup_failed"
  | "restore_test_failed"
  | "sla_breach";

export interface AlertRulesTable {
  id: Generated<string>;
  organization_id: Generated<string>;
  name: string;
  kind: AlertKind;
  enabled: Generated<boolean>;
  threshold: number | null;
  window_minutes: number | null;
  emails: Generated<string[]>;
  webhook_url: string | null;
  sealed_webhook_secret: string | null;
  created_by: string | null;
  created_at: GeneratedTimestamp;
  updated_at: GeneratedTimestamp;
}

export interface AlertsTable {
  id: Generated<string>;
  organization_id: Generated<string>;
  rule_id: string;
  kind: AlertKind;
  state: Generated<"open" | "resolved">;
  summary: string;
  details: ColumnType<Record<string, unknown>, string | undefined, string>;
  raised_at: GeneratedTimestamp;
  resolved_at: Timestamp | null;
}

export interface AlertDeliveriesTable {
  id: Generated<string>;
  organization_id: Generated<string>;
  alert_id: string;
  event: "raised" | "resolved";
  channel: "email" | "webhook";
  state: Generated<"pending" | "delivered" | "failed">;
  attempts: Generated<number>;
  next_attempt_at: GeneratedTimestamp;
  leased_until: Timestamp | null;
  last_error: string | null;
  delivered_at: Timestamp | null;
  created_at: GeneratedTimestamp;
}

export interface SsoOidcConfigsTable {
  organization_id: Generated<string>;
  issuer: string;
  client_id: string;
  sealed_client_secret: string;
  allowed_domains: string[];
  default_role: "admin" | "operator" | "auditor";
  enabled: Generated<boolean>;
  sso_required: Generated<boolean>;
  updated_at: GeneratedTimestamp;
}

export interface SsoSamlConfigsTable {
  organization_id: Generated<string>;
  idp_entity_id: string;
  idp_sso_url: string;
  idp_certificates: string[];
  allowed_domains: string[];
  default_role: "admin" | "operator" | "auditor";
  enabled: Generated<boolean>;
  sso_required: Generated<boolean>;
  updated_at: GeneratedTimestamp;
}

export interface SsoFlowsTable {
  id: Generated<string>;
  organization_id: Generated<string>;
  protocol: "oidc" | "saml";
  state_hash: Buffer;
  browser_hash: Buffer;
  sealed_secrets: string | null;
  created_at: GeneratedTimestamp;
  expires_at: Timestamp;
  used_at: Timestamp | null;
}

export interface SsoSamlAssertionsTable {
  organization_id: Generated<string>;
  assertion_id: string;
  expires_at: Timestamp;
}
