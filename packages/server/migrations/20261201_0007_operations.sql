-- Platform operations: the record of every backup and every restore test (the measured RPO and
-- RTO), and the server's own uptime probes for the status page. None of it is tenant data: only
-- the system role reads and writes these tables.

CREATE TABLE backup_runs (
  id bigserial PRIMARY KEY,
  trigger text NOT NULL CHECK (trigger IN ('manual', 'scheduled', 'pre_upgrade')),
  state text NOT NULL CHECK (state IN ('succeeded', 'failed')),
  started_at timestamptz NOT NULL,
  finished_at timestamptz NOT NULL DEFAULT now(),
  duration_ms integer NOT NULL CHECK (duration_ms >= 0),
  -- The backup's file name (in the backup directory), and where its copy went.
  file text,
  copies text[] NOT NULL DEFAULT '{}',
  bytes bigint,
  -- Set once the file's HMAC and a full decryption have been checked after writing it.
  verified_at timestamptz,
  -- Set when rotation removed the file.
  removed_at timestamptz,
  error text CHECK (char_length(error) <= 2000),
  details jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX backup_runs_finished ON backup_runs (finished_at DESC);
ALTER TABLE backup_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE backup_runs FORCE ROW LEVEL SECURITY;
CREATE POLICY system_access ON backup_runs TO patchpilot_system USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, UPDATE ON backup_runs TO patchpilot_system;
GRANT USAGE ON SEQUENCE backup_runs_id_seq TO patchpilot_system;

-- A backup restored into a throw-away database and compared with its manifest.
CREATE TABLE restore_tests (
  id bigserial PRIMARY KEY,
  file text NOT NULL,
  ok boolean NOT NULL,
  started_at timestamptz NOT NULL,
  finished_at timestamptz NOT NULL DEFAULT now(),
  -- The measured RTO: verify, decrypt, restore and check, end to end.
  duration_ms integer NOT NULL CHECK (duration_ms >= 0),
  backup_bytes bigint,
  problems jsonb NOT NULL DEFAULT '[]',
  error text CHECK (char_length(error) <= 2000)
);
CREATE INDEX restore_tests_finished ON restore_tests (finished_at DESC);
ALTER TABLE restore_tests ENABLE ROW LEVEL SECURITY;
ALTER TABLE restore_tests FORCE ROW LEVEL SECURITY;
CREATE POLICY system_access ON restore_tests TO patchpilot_system USING (true) WITH CHECK (true);
GRANT SELECT, INSERT ON restore_tests TO patchpilot_system;
GRANT USAGE ON SEQUENCE restore_tests_id_seq TO patchpilot_system;

-- One row per component per probe (every minute), kept 90 days, for the public status page.
CREATE TABLE status_probes (
  component text NOT NULL CHECK (component IN ('api', 'agent_gateway', 'jobs', 'feeds')),
  probed_at timestamptz NOT NULL,
  up boolean NOT NULL,
  latency_ms integer,
  PRIMARY KEY (component, probed_at)
);
ALTER TABLE status_probes ENABLE ROW LEVEL SECURITY;
ALTER TABLE status_probes FORCE ROW LEVEL SECURITY;
CREATE POLICY system_access ON status_probes TO patchpilot_system USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, DELETE ON status_probes TO patchpilot_system;
