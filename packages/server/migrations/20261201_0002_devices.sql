-- Devices: enrolment tokens, devices and their credentials, presence, groups, the shared software
-- catalogue and package sets that hold inventories, jobs, agent reports, and the signals that
-- carry revocations and new work to every server process.

CREATE TABLE enrollment_tokens (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id uuid NOT NULL DEFAULT pp_current_organization() REFERENCES organizations (id),
  name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
  token_hash bytea NOT NULL,
  -- The first characters of the secret, so people can tell tokens apart without the secret.
  token_hint text NOT NULL,
  group_id uuid,
  created_by uuid REFERENCES users (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz,
  max_uses integer CHECK (max_uses > 0),
  uses integer NOT NULL DEFAULT 0 CHECK (uses >= 0),
  last_used_at timestamptz,
  revoked_at timestamptz,
  CHECK (max_uses IS NULL OR uses <= max_uses)
);
CREATE UNIQUE INDEX enrollment_tokens_token_hash_key ON enrollment_tokens (token_hash);
CREATE INDEX enrollment_tokens_org_idx ON enrollment_tokens (organization_id, created_at);
SELECT pp_enable_tenant_isolation('enrollment_tokens');
GRANT SELECT, INSERT, UPDATE ON enrollment_tokens TO patchpilot_app, patchpilot_system;

CREATE TABLE device_groups (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id uuid NOT NULL DEFAULT pp_current_organization() REFERENCES organizations (id),
  name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
  description text NOT NULL DEFAULT '' CHECK (char_length(description) <= 1000),
  -- IANA zone the group's maintenance windows are written in.
  time_zone text NOT NULL DEFAULT 'UTC' CHECK (char_length(time_zone) BETWEEN 1 AND 64),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (organization_id, name)
);
SELECT pp_enable_tenant_isolation('device_groups');
GRANT SELECT, INSERT, UPDATE, DELETE ON device_groups TO patchpilot_app, patchpilot_system;

ALTER TABLE enrollment_tokens
  ADD CONSTRAINT enrollment_tokens_group_fkey FOREIGN KEY (group_id) REFERENCES device_groups (id)
  ON DELETE SET NULL;

CREATE TABLE devices (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id uuid NOT NULL DEFAULT pp_current_organization() REFERENCES organizations (id),
  hardware_id text NOT NULL CHECK (char_length(hardware_id) BETWEEN 8 AND 128),
  hostname text NOT NULL,
  os_family text NOT NULL CHECK (os_family IN ('linux', 'windows', 'macos')),
  os_name text NOT NULL,
  os_version text NOT NULL,
  os_build text NOT NULL,
  os_release text NOT NULL,
  kernel text NOT NULL,
  arch text NOT NULL,
  agent_version text NOT NULL,
  reboot_required boolean NOT NULL DEFAULT false,
  patch_sources jsonb NOT NULL DEFAULT '[]',
  facts_hash bytea NOT NULL,
  tags text[] NOT NULL DEFAULT '{}' CHECK (cardinality(tags) <= 50),
  criticality text NOT NULL DEFAULT 'medium' CHECK (criticality IN ('low', 'medium', 'high', 'critical')),
  enrolled_at timestamptz NOT NULL DEFAULT now(),
  enrolled_with uuid REFERENCES enrollment_tokens (id),
  -- Until then, an agent on the same machine (same hardware id) may take this device over.
  reenrollment_allowed_until timestamptz,
  retired_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
-- One live device per machine and organisation; a retired one may be enrolled again.
CREATE UNIQUE INDEX devices_hardware_key ON devices (organization_id, hardware_id) WHERE retired_at IS NULL;
CREATE INDEX devices_page_idx ON devices (organization_id, hostname, id);
CREATE INDEX devices_enrolled_idx ON devices (organization_id, enrolled_at, id);
CREATE INDEX devices_tags_idx ON devices USING gin (tags);
SELECT pp_enable_tenant_isolation('devices');
GRANT SELECT, INSERT, UPDATE ON devices TO patchpilot_app, patchpilot_system;

CREATE TABLE device_group_members (
  organization_id uuid NOT NULL DEFAULT pp_current_organization() REFERENCES organizations (id),
  group_id uuid NOT NULL REFERENCES device_groups (id) ON DELETE CASCADE,
  device_id uuid NOT NULL REFERENCES devices (id),
  added_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (group_id, device_id)
);
CREATE INDEX device_group_members_device_idx ON device_group_members (device_id);
SELECT pp_enable_tenant_isolation('device_group_members');
GRANT SELECT, INSERT, DELETE ON device_group_members TO patchpilot_app, patchpilot_system;

-- A device's credentials. Only the SHA-256 of a token is kept. A rotated-in token is pending
-- (first_used_at NULL) until the agent first uses it; then the device's older tokens are revoked.
CREATE TABLE device_tokens (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id uuid NOT NULL DEFAULT pp_current_organization() REFERENCES organizations (id),
  device_id uuid NOT NULL REFERENCES devices (id),
  token_hash bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  first_used_at timestamptz,
  revoked_at timestamptz,
  revoked_reason text CHECK (revoked_reason IN ('rotated', 'revoked', 'retired', 'reenrolled'))
);
CREATE UNIQUE INDEX device_tokens_token_hash_key ON device_tokens (token_hash);
CREATE INDEX device_tokens_device_idx ON device_tokens (device_id) WHERE revoked_at IS NULL;
SELECT pp_enable_tenant_isolation('device_tokens');
GRANT SELECT, INSERT, UPDATE ON device_tokens TO patchpilot_app, patchpilot_system;

-- When each device was last heard from. Narrow and unindexed beyond its key, so the batched
-- last-seen flush is a cheap in-place (HOT) update.
CREATE TABLE device_presence (
  device_id uuid PRIMARY KEY REFERENCES devices (id),
  organization_id uuid NOT NULL DEFAULT pp_current_organization() REFERENCES organizations (id),
  last_seen_at timestamptz NOT NULL,
  last_ip text,
  booted_at timestamptz
);
SELECT pp_enable_tenant_isolation('device_presence');
GRANT SELECT, INSERT, UPDATE ON device_presence TO patchpilot_app, patchpilot_system;

-- The organisation's software catalogue: each distinct installed thing once, shared by every
-- device that has it, identified by its entry digest: the SHA-256 of the entry's canonical line,
-- which is also its share of the inventory hash (protocol/src/inventory.ts).
CREATE TABLE software (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  organization_id uuid NOT NULL DEFAULT pp_current_organization() REFERENCES organizations (id),
  entry_hash bytea NOT NULL CHECK (octet_length(entry_hash) = 32),
  kind text NOT NULL CHECK (kind IN ('package', 'application', 'hotfix')),
  ecosystem text NOT NULL,
  release text NOT NULL,
  name text NOT NULL,
  version text NOT NULL,
  arch text NOT NULL DEFAULT '',
  source_name text,
  source_version text,
  vendor text,
  first_seen_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX software_entry_key ON software (organization_id, entry_hash);
CREATE INDEX software_name_idx ON software (organization_id, name);
CREATE INDEX software_source_idx ON software (organization_id, source_name) WHERE source_name IS NOT NULL;
SELECT pp_enable_tenant_isolation('software');
GRANT SELECT, INSERT ON software TO patchpilot_app, patchpilot_system;

-- Immutable, content-addressed sets of software ids (sorted). Devices built from the same image
-- share one set as their base and keep only their differences from it.
CREATE TABLE package_sets (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  organization_id uuid NOT NULL DEFAULT pp_current_organization() REFERENCES organizations (id),
  release text NOT NULL,
  content_hash bytea NOT NULL,
  software_ids integer[] NOT NULL,
  size integer NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX package_sets_content_key ON package_sets (organization_id, content_hash);
CREATE INDEX package_sets_release_idx ON package_sets (organization_id, release, id);
CREATE INDEX package_sets_members_idx ON package_sets USING gin (software_ids);
SELECT pp_enable_tenant_isolation('package_sets');
GRANT SELECT, INSERT ON package_sets TO patchpilot_app, patchpilot_system;

-- A device's current inventory: its base set, plus what it has beyond it, minus what it lacks.
CREATE TABLE device_inventories (
  device_id uuid PRIMARY KEY REFERENCES devices (id),
  organization_id uuid NOT NULL DEFAULT pp_current_organization() REFERENCES organizations (id),
  base_set_id bigint NOT NULL REFERENCES package_sets (id),
  added integer[] NOT NULL DEFAULT '{}',
  removed integer[] NOT NULL DEFAULT '{}',
  package_count integer NOT NULL,
  inventory_hash text NOT NULL,
  -- Updates the package manager offers, as reported (small; replaced as a whole).
  updates jsonb NOT NULL DEFAULT '[]',
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX device_inventories_base_idx ON device_inventories (base_set_id);
CREATE INDEX device_inventories_added_idx ON device_inventories USING gin (added);
SELECT pp_enable_tenant_isolation('device_inventories');
GRANT SELECT, INSERT, UPDATE ON device_inventories TO patchpilot_app, patchpilot_system;

-- Work for an agent. Delivered on check-in or to a waiting long-poll.
CREATE TABLE device_jobs (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id uuid NOT NULL DEFAULT pp_current_organization() REFERENCES organizations (id),
  device_id uuid NOT NULL REFERENCES devices (id),
  kind text NOT NULL CHECK (kind IN ('inventory')),
  payload jsonb NOT NULL DEFAULT '{}',
  state text NOT NULL DEFAULT 'queued'
    CHECK (state IN ('queued', 'delivered', 'succeeded', 'failed', 'canceled', 'expired')),
  requested_by_type text NOT NULL,
  requested_by_id text,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  delivered_at timestamptz,
  delivery_count integer NOT NULL DEFAULT 0,
  completed_at timestamptz,
  result jsonb
);
CREATE INDEX device_jobs_open_idx ON device_jobs (device_id, created_at) WHERE state IN ('queued', 'delivered');
CREATE INDEX device_jobs_org_idx ON device_jobs (organization_id, created_at);
SELECT pp_enable_tenant_isolation('device_jobs');
GRANT SELECT, INSERT, UPDATE ON device_jobs TO patchpilot_app, patchpilot_system;

-- Reports an agent delivered (inventories, job results), by the id the agent gave them, so a
-- report sent again after a lost answer changes nothing.
CREATE TABLE agent_reports (
  organization_id uuid NOT NULL DEFAULT pp_current_organization() REFERENCES organizations (id),
  device_id uuid NOT NULL REFERENCES devices (id),
  report_id uuid NOT NULL,
  kind text NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  outcome jsonb NOT NULL DEFAULT '{}',
  PRIMARY KEY (device_id, report_id)
);
CREATE INDEX agent_reports_received_idx ON agent_reports (received_at);
SELECT pp_enable_tenant_isolation('agent_reports');
GRANT SELECT, INSERT ON agent_reports TO patchpilot_app, patchpilot_system;
GRANT DELETE ON agent_reports TO patchpilot_system;

-- What every server process must learn within a second: a token revoked, work queued, an
-- inventory asked for. Processes poll it; rows are removed after a few minutes.
CREATE TABLE agent_signals (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  organization_id uuid NOT NULL DEFAULT pp_current_organization() REFERENCES organizations (id),
  device_id uuid NOT NULL,
  kind text NOT NULL CHECK (kind IN ('credentials_changed', 'jobs_queued', 'inventory_requested')),
  created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX agent_signals_created_idx ON agent_signals (created_at);
SELECT pp_enable_tenant_isolation('agent_signals');
GRANT SELECT, INSERT ON agent_signals TO patchpilot_app, patchpilot_system;
GRANT DELETE ON agent_signals TO patchpilot_system;

-- Anomalies an unauthenticated caller causes on a device (a refused re-enrolment) are device events too.
ALTER TABLE device_events DROP CONSTRAINT device_events_actor_type_check;
ALTER TABLE device_events ADD CONSTRAINT device_events_actor_type_check
  CHECK (actor_type IN ('device', 'system', 'user', 'api_token', 'anonymous'));
