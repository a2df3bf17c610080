-- Vulnerability intelligence: the global knowledge base (vulnerabilities, their aliases, each
-- source's advisories and affected ranges, feed health), the system's job queue, and per
-- organisation the match results, findings, suppressions, SLA settings and daily figures.

-- ---- Global knowledge base: written by the system role, read by every tenant ----

CREATE TABLE vulnerabilities (
  -- The CVE id when there is one, otherwise the first source's own id (GHSA-…, GO-…).
  id text PRIMARY KEY CHECK (char_length(id) BETWEEN 3 AND 100),
  summary text,
  description text,
  published_at timestamptz,
  modified_at timestamptz,
  cvss_v3_score numeric(3, 1),
  cvss_v3_vector text,
  cvss_v4_score numeric(3, 1),
  cvss_v4_vector text,
  severity text NOT NULL DEFAULT 'unknown'
    CHECK (severity IN ('critical', 'high', 'medium', 'low', 'negligible', 'unknown')),
  cwes text[] NOT NULL DEFAULT '{}',
  reference_urls text[] NOT NULL DEFAULT '{}',
  epss numeric(6, 5),
  epss_percentile numeric(6, 5),
  epss_date date,
  -- Set while the vulnerability is in CISA's Known Exploited Vulnerabilities catalogue.
  kev_added date,
  kev_due date,
  kev_ransomware boolean,
  sources text[] NOT NULL DEFAULT '{}',
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Other names of a vulnerability (DSA, DLA, USN, RHSA, GHSA, OSV ids). An advisory that covers
-- several CVEs is an alias of each.
CREATE TABLE vulnerability_aliases (
  alias text NOT NULL,
  vulnerability_id text NOT NULL REFERENCES vulnerabilities (id) ON DELETE CASCADE,
  PRIMARY KEY (alias, vulnerability_id)
);
CREATE INDEX vulnerability_aliases_vulnerability_idx ON vulnerability_aliases (vulnerability_id);

-- Each source's record, as last imported; its ranges are replaced whenever it changes.
CREATE TABLE advisories (
  source text NOT NULL,
  id text NOT NULL,
  modified_at timestamptz,
  -- SHA-256 of the normalised record: a re-import of an unchanged record writes nothing.
  digest text NOT NULL,
  vulnerability_ids text[] NOT NULL,
  imported_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (source, id)
);

CREATE TABLE affected_ranges (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  source text NOT NULL,
  advisory_id text NOT NULL,
  vulnerability_id text NOT NULL,
  ecosystem text NOT NULL,
  -- '' for language ecosystems (npm, PyPI, …), which do not depend on the distribution.
  release text NOT NULL,
  package_name text NOT NULL,
  package_scope text NOT NULL CHECK (package_scope IN ('source', 'binary')),
  introduced text,
  fixed text,
  last_affected text,
  versions text[] NOT NULL DEFAULT '{}',
  status text NOT NULL,
  vendor_advisory text,
  vendor_severity text,
  supersedes text[] NOT NULL DEFAULT '{}',
  FOREIGN KEY (source, advisory_id) REFERENCES advisories (source, id) ON DELETE CASCADE
);
CREATE INDEX affected_ranges_package_idx ON affected_ranges (ecosystem, release, package_name);
CREATE INDEX affected_ranges_vulnerability_idx ON affected_ranges (vulnerability_id);
CREATE INDEX affected_ranges_advisory_idx ON affected_ranges (source, advisory_id);

-- NVD CPE applicability, for software matched by vendor and product rather than a package manager.
CREATE TABLE cpe_matches (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  source text NOT NULL,
  advisory_id text NOT NULL,
  vulnerability_id text NOT NULL,
  vendor text NOT NULL,
  product text NOT NULL,
  version text,
  version_start_including text,
  version_start_excluding text,
  version_end_including text,
  version_end_excluding text,
  FOREIGN KEY (source, advisory_id) REFERENCES advisories (source, id) ON DELETE CASCADE
);
CREATE INDEX cpe_matches_product_idx ON cpe_matches (product, vendor);

-- One row per feed: when it last worked, what it held, what went wrong.
CREATE TABLE feed_state (
  feed text PRIMARY KEY,
  last_attempt_at timestamptz,
  last_success_at timestamptz,
  last_error text,
  records integer NOT NULL DEFAULT 0,
  skipped integer NOT NULL DEFAULT 0,
  -- Where an incremental sync resumes (the source's modification time, an ETag).
  cursor text,
  details jsonb NOT NULL DEFAULT '{}'
);

-- Bumped whenever the knowledge base changes, so every process knows to refresh its index.
CREATE TABLE knowledge_base_generation (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  generation bigint NOT NULL DEFAULT 0,
  changed_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO knowledge_base_generation DEFAULT VALUES;

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['vulnerabilities', 'vulnerability_aliases', 'advisories', 'affected_ranges',
                           'cpe_matches', 'feed_state', 'knowledge_base_generation'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY read_all ON %I FOR SELECT TO patchpilot_app USING (true)', t);
    EXECUTE format('CREATE POLICY system_access ON %I TO patchpilot_system USING (true) WITH CHECK (true)', t);
    EXECUTE format('GRANT SELECT ON %I TO patchpilot_app', t);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO patchpilot_system', t);
  END LOOP;
END $$;

-- ---- The system's job queue (feed syncs, re-matching after a feed change, daily figures) ----

CREATE TABLE jobs (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind text NOT NULL,
  payload jsonb NOT NULL DEFAULT '{}',
  -- At most one waiting or running job per key (a daily job's date, a feed's name).
  unique_key text,
  state text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'succeeded', 'failed')),
  run_at timestamptz NOT NULL DEFAULT now(),
  attempts integer NOT NULL DEFAULT 0,
  max_attempts integer NOT NULL DEFAULT 5,
  leased_until timestamptz,
  leased_by text,
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);
CREATE UNIQUE INDEX jobs_unique_key ON jobs (kind, unique_key) WHERE state IN ('queued', 'running');
CREATE INDEX jobs_due_idx ON jobs (run_at) WHERE state IN ('queued', 'running');
ALTER TABLE jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE jobs FORCE ROW LEVEL SECURITY;
CREATE POLICY system_access ON jobs TO patchpilot_system USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, UPDATE, DELETE ON jobs TO patchpilot_system;

-- ---- Per organisation ----

-- Inventory changes waiting to be matched (written with the inventory, taken by the matcher).
CREATE TABLE inventory_changes (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  organization_id uuid NOT NULL DEFAULT pp_current_organization() REFERENCES organizations (id),
  device_id uuid NOT NULL REFERENCES devices (id),
  added integer[] NOT NULL,
  removed integer[] NOT NULL,
  queued_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX inventory_changes_org_idx ON inventory_changes (organization_id, id);
SELECT pp_enable_tenant_isolation('inventory_changes');
-- UPDATE only so the matcher can lock the rows it takes (FOR UPDATE SKIP LOCKED).
GRANT SELECT, INSERT, UPDATE, DELETE ON inventory_changes TO patchpilot_app, patchpilot_system;

-- Which of the organisation's catalogue entries each vulnerability affects (one row per pair).
CREATE TABLE software_vulnerabilities (
  organization_id uuid NOT NULL DEFAULT pp_current_organization() REFERENCES organizations (id),
  software_id integer NOT NULL REFERENCES software (id),
  vulnerability_id text NOT NULL REFERENCES vulnerabilities (id),
  fixed_version text,
  range_status text NOT NULL,
  vendor_advisory text,
  vendor_severity text,
  matched_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (software_id, vulnerability_id)
);
CREATE INDEX software_vulnerabilities_vulnerability_idx ON software_vulnerabilities (organization_id, vulnerability_id);
SELECT pp_enable_tenant_isolation('software_vulnerabilities');
GRANT SELECT, INSERT, UPDATE, DELETE ON software_vulnerabilities TO patchpilot_app, patchpilot_system;

-- Catalogue entries already matched against the knowledge base.
CREATE TABLE software_matches (
  software_id integer PRIMARY KEY REFERENCES software (id),
  organization_id uuid NOT NULL DEFAULT pp_current_organization() REFERENCES organizations (id),
  matched_at timestamptz NOT NULL DEFAULT now()
);
SELECT pp_enable_tenant_isolation('software_matches');
GRANT SELECT, INSERT, UPDATE ON software_matches TO patchpilot_app, patchpilot_system;

CREATE TABLE findings (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id uuid NOT NULL DEFAULT pp_current_organization() REFERENCES organizations (id),
  device_id uuid NOT NULL REFERENCES devices (id),
  vulnerability_id text NOT NULL REFERENCES vulnerabilities (id),
  package_name text NOT NULL,
  package_arch text NOT NULL DEFAULT '',
  software_id integer NOT NULL REFERENCES software (id),
  installed_version text NOT NULL,
  -- Null: no fix yet (distinct from not affected, which never becomes a finding).
  fixed_version text,
  range_status text NOT NULL,
  -- open and fixed follow the inventory; accepted_risk and false_positive are people's decisions.
  status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'fixed', 'accepted_risk', 'false_positive')),
  severity text NOT NULL,
  risk numeric(5, 1) NOT NULL,
  first_seen_at timestamptz NOT NULL DEFAULT now(),
  last_changed_at timestamptz NOT NULL DEFAULT now(),
  closed_at timestamptz,
  sla_due_at timestamptz NOT NULL,
  suppression_id uuid,
  UNIQUE (device_id, vulnerability_id, package_name, package_arch)
);
CREATE INDEX findings_vulnerability_idx ON findings (organization_id, vulnerability_id, status);
CREATE INDEX findings_device_idx ON findings (organization_id, device_id, status);
CREATE INDEX findings_open_idx ON findings (organization_id, risk DESC, id) WHERE status = 'open';
CREATE INDEX findings_software_idx ON findings (software_id);
SELECT pp_enable_tenant_isolation('findings');
GRANT SELECT, INSERT, UPDATE ON findings TO patchpilot_app, patchpilot_system;

-- A decision that a vulnerability does not need fixing here, for a device, a group or everywhere:
-- accepted risk (with an expiry) or a false positive. Findings it covers take its status.
CREATE TABLE suppressions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id uuid NOT NULL DEFAULT pp_current_organization() REFERENCES organizations (id),
  vulnerability_id text NOT NULL REFERENCES vulnerabilities (id),
  package_name text,
  scope_type text NOT NULL CHECK (scope_type IN ('device', 'group', 'organization')),
  scope_id uuid,
  kind text NOT NULL CHECK (kind IN ('accepted_risk', 'false_positive')),
  -- For VEX: why it is not a risk (the CycloneDX/OpenVEX justification).
  justification text,
  reason text NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 2000),
  owner text NOT NULL CHECK (char_length(owner) BETWEEN 1 AND 200),
  created_by uuid REFERENCES users (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz,
  revoked_at timestamptz,
  CHECK ((scope_type = 'organization') = (scope_id IS NULL))
);
CREATE INDEX suppressions_vulnerability_idx ON suppressions (organization_id, vulnerability_id);
SELECT pp_enable_tenant_isolation('suppressions');
GRANT SELECT, INSERT, UPDATE ON suppressions TO patchpilot_app, patchpilot_system;

ALTER TABLE findings ADD CONSTRAINT findings_suppression_fkey FOREIGN KEY (suppression_id) REFERENCES suppressions (id);

-- How long each severity may stay open; Cyber Essentials asks 14 days for critical and high.
CREATE TABLE vulnerability_settings (
  organization_id uuid PRIMARY KEY DEFAULT pp_current_organization() REFERENCES organizations (id),
  sla_critical_days integer NOT NULL DEFAULT 14 CHECK (sla_critical_days BETWEEN 1 AND 3650),
  sla_high_days integer NOT NULL DEFAULT 14 CHECK (sla_high_days BETWEEN 1 AND 3650),
  sla_medium_days integer NOT NULL DEFAULT 30 CHECK (sla_medium_days BETWEEN 1 AND 3650),
  sla_low_days integer NOT NULL DEFAULT 90 CHECK (sla_low_days BETWEEN 1 AND 3650),
  updated_at timestamptz NOT NULL DEFAULT now()
);
SELECT pp_enable_tenant_isolation('vulnerability_settings');
GRANT SELECT, INSERT, UPDATE ON vulnerability_settings TO patchpilot_app, patchpilot_system;

-- Open findings by severity at the end of each day, for the trend.
CREATE TABLE finding_daily_stats (
  organization_id uuid NOT NULL DEFAULT pp_current_organization() REFERENCES organizations (id),
  day date NOT NULL,
  critical integer NOT NULL,
  high integer NOT NULL,
  medium integer NOT NULL,
  low integer NOT NULL,
  other integer NOT NULL,
  kev integer NOT NULL,
  overdue integer NOT NULL,
  fixed_today integer NOT NULL,
  PRIMARY KEY (organization_id, day)
);
SELECT pp_enable_tenant_isolation('finding_daily_stats');
GRANT SELECT, INSERT, UPDATE ON finding_daily_stats TO patchpilot_app, patchpilot_system;
