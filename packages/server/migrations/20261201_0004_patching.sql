-- Patch deployment: maintenance windows, patch policies per device group, rollouts through rings
-- with measured gates, and each targeted device's progress. Device jobs gain the patch kind.

ALTER TABLE device_jobs DROP CONSTRAINT device_jobs_kind_check;
ALTER TABLE device_jobs ADD CONSTRAINT device_jobs_kind_check CHECK (kind IN ('inventory', 'patch'));

-- When devices may be patched: a window opens at each time the cron schedule names, in its time
-- zone, and stays open for its duration.
CREATE TABLE maintenance_windows (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id uuid NOT NULL DEFAULT pp_current_organization() REFERENCES organizations (id),
  name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
  schedule text NOT NULL CHECK (char_length(schedule) BETWEEN 9 AND 200),
  duration_minutes integer NOT NULL CHECK (duration_minutes BETWEEN 15 AND 10080),
  time_zone text NOT NULL CHECK (char_length(time_zone) BETWEEN 1 AND 64),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (organization_id, name)
);
SELECT pp_enable_tenant_isolation('maintenance_windows');
GRANT SELECT, INSERT, UPDATE, DELETE ON maintenance_windows TO patchpilot_app, patchpilot_system;

-- How a group of devices is patched: what installs on its own, what needs approval, what is held,
-- reboots, the step before and the check after, and when.
CREATE TABLE patch_policies (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id uuid NOT NULL DEFAULT pp_current_organization() REFERENCES organizations (id),
  name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
  group_id uuid NOT NULL REFERENCES device_groups (id),
  automatic text NOT NULL DEFAULT 'security' CHECK (automatic IN ('none', 'security', 'all', 'dist-upgrade')),
  -- Which other updates are approved without a person: {minSeverity, kev, packages[], allowMajor}.
  approval jsonb NOT NULL DEFAULT '{}',
  hold text[] NOT NULL DEFAULT '{}' CHECK (cardinality(hold) <= 1000),
  reboot text NOT NULL DEFAULT 'if_required' CHECK (reboot IN ('never', 'if_required', 'always')),
  max_reboot_deferrals integer NOT NULL DEFAULT 3 CHECK (max_reboot_deferrals BETWEEN 0 AND 50),
  pre_update jsonb,
  health_check jsonb,
  rollback_on_failure boolean NOT NULL DEFAULT true,
  window_id uuid REFERENCES maintenance_windows (id),
  catch_up_hours integer NOT NULL DEFAULT 24 CHECK (catch_up_hours BETWEEN 0 AND 720),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (organization_id, name),
  UNIQUE (group_id)
);
SELECT pp_enable_tenant_isolation('patch_policies');
GRANT SELECT, INSERT, UPDATE, DELETE ON patch_policies TO patchpilot_app, patchpilot_system;

-- A set of updates going out through ordered rings.
CREATE TABLE rollouts (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id uuid NOT NULL DEFAULT pp_current_organization() REFERENCES organizations (id),
  name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
  state text NOT NULL DEFAULT 'running'
    CHECK (state IN ('running', 'paused', 'halted', 'completed', 'canceled')),
  mode text NOT NULL CHECK (mode IN ('packages', 'security', 'all', 'dist-upgrade')),
  packages jsonb NOT NULL DEFAULT '[]',
  -- The findings it was made to fix, when it was made from findings.
  findings jsonb,
  hold text[] NOT NULL DEFAULT '{}',
  pre_update jsonb,
  health_check jsonb,
  rollback_on_failure boolean NOT NULL DEFAULT true,
  reboot text NOT NULL DEFAULT 'if_required' CHECK (reboot IN ('never', 'if_required', 'always')),
  max_reboot_deferrals integer NOT NULL DEFAULT 3 CHECK (max_reboot_deferrals BETWEEN 0 AND 50),
  window_id uuid REFERENCES maintenance_windows (id) ON DELETE SET NULL,
  max_attempts integer NOT NULL DEFAULT 3 CHECK (max_attempts BETWEEN 1 AND 10),
  device_timeout_hours integer NOT NULL DEFAULT 24 CHECK (device_timeout_hours BETWEEN 1 AND 720),
  current_ring smallint NOT NULL DEFAULT 0,
  halted_reason text,
  -- A policy's automatic run, once per window opening (or per day without a window).
  policy_id uuid REFERENCES patch_policies (id) ON DELETE SET NULL,
  scheduled_for timestamptz,
  created_by uuid REFERENCES users (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  UNIQUE (policy_id, scheduled_for)
);
SELECT pp_enable_tenant_isolation('rollouts');
GRANT SELECT, INSERT, UPDATE ON rollouts TO patchpilot_app, patchpilot_system;
CREATE INDEX rollouts_active_idx ON rollouts (organization_id, state) WHERE state IN ('running', 'paused');

CREATE TABLE rollout_rings (
  organization_id uuid NOT NULL DEFAULT pp_current_organization() REFERENCES organizations (id),
  rollout_id uuid NOT NULL REFERENCES rollouts (id),
  position smallint NOT NULL CHECK (position BETWEEN 0 AND 9),
  name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
  group_ids uuid[] NOT NULL CHECK (cardinality(group_ids) BETWEEN 1 AND 100),
  -- The gate: share of devices that must succeed, time to soak after the last one, approval.
  success_threshold numeric(5, 4) NOT NULL CHECK (success_threshold BETWEEN 0 AND 1),
  soak_minutes integer NOT NULL CHECK (soak_minutes BETWEEN 0 AND 43200),
  require_approval boolean NOT NULL DEFAULT false,
  state text NOT NULL DEFAULT 'pending'
    CHECK (state IN ('pending', 'active', 'soaking', 'awaiting_approval', 'passed', 'failed')),
  started_at timestamptz,
  settled_at timestamptz,
  passed_at timestamptz,
  approved_by uuid REFERENCES users (id),
  approved_at timestamptz,
  measured jsonb NOT NULL DEFAULT '{}',
  PRIMARY KEY (rollout_id, position)
);
SELECT pp_enable_tenant_isolation('rollout_rings');
GRANT SELECT, INSERT, UPDATE ON rollout_rings TO patchpilot_app, patchpilot_system;

-- Each targeted device, in one ring of the rollout, and where it stands.
CREATE TABLE rollout_devices (
  organization_id uuid NOT NULL DEFAULT pp_current_organization() REFERENCES organizations (id),
  rollout_id uuid NOT NULL REFERENCES rollouts (id),
  ring smallint NOT NULL,
  device_id uuid NOT NULL REFERENCES devices (id),
  state text NOT NULL DEFAULT 'pending'
    CHECK (state IN ('pending', 'waiting_window', 'queued', 'delivered', 'succeeded', 'failed', 'skipped')),
  job_id uuid REFERENCES device_jobs (id),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz,
  reason text,
  log_excerpt text,
  result jsonb,
  health text CHECK (health IN ('passed', 'failed', 'not_run')),
  -- Whether the device's next inventory shows what the job reported.
  verified text CHECK (verified IN ('pending', 'verified', 'mismatch')),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (rollout_id, device_id),
  FOREIGN KEY (rollout_id, ring) REFERENCES rollout_rings (rollout_id, position)
);
SELECT pp_enable_tenant_isolation('rollout_devices');
GRANT SELECT, INSERT, UPDATE ON rollout_devices TO patchpilot_app, patchpilot_system;
CREATE INDEX rollout_devices_ring_idx ON rollout_devices (rollout_id, ring, state);
CREATE INDEX rollout_devices_job_idx ON rollout_devices (job_id) WHERE job_id IS NOT NULL;
CREATE INDEX rollout_devices_device_idx ON rollout_devices (device_id, state);
