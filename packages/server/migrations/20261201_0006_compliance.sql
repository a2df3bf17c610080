-- Compliance: audit retention by plan under its own role, chain anchors after a purge, the
-- server's Ed25519 evidence key, signed chain checkpoints, and SIEM forwarding (config + outbox).

-- The retention role: the only one that may remove audit rows, and only rows older than the
-- shortest retention any plan has (30 days), so even a bug in the job cannot cut recent history.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'patchpilot_retention') THEN
    CREATE ROLE patchpilot_retention NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;
GRANT patchpilot_retention TO CURRENT_USER;
GRANT USAGE ON SCHEMA public TO patchpilot_retention;

CREATE OR REPLACE FUNCTION pp_reject_audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND current_user = 'patchpilot_retention'
     AND OLD.occurred_at < now() - interval '30 days' THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'audit rows are append-only: % on % is not allowed', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END $$;

GRANT SELECT, DELETE ON audit_events, device_events TO patchpilot_retention;
CREATE POLICY retention_access ON audit_events TO patchpilot_retention USING (true);
CREATE POLICY retention_access ON device_events TO patchpilot_retention USING (true);
GRANT SELECT ON organizations, audit_chain_heads TO patchpilot_retention;
CREATE POLICY retention_access ON organizations TO patchpilot_retention USING (true);
CREATE POLICY retention_access ON audit_chain_heads TO patchpilot_retention USING (true);

-- Enterprise and MSP organisations choose their retention; other plans have their tier's.
ALTER TABLE organizations ADD COLUMN audit_retention_days integer
  CHECK (audit_retention_days BETWEEN 30 AND 36500);

-- Where a purged chain now starts: the last removed row's seq and hash. The first kept row's
-- previous-hash must equal `hash`, so the chain stays verifiable from here on.
CREATE TABLE audit_chain_anchors (
  organization_id uuid NOT NULL,
  chain text NOT NULL CHECK (chain IN ('audit', 'device')),
  seq bigint NOT NULL,
  hash bytea NOT NULL,
  purged_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, chain)
);
SELECT pp_enable_tenant_isolation('audit_chain_anchors');
GRANT SELECT ON audit_chain_anchors TO patchpilot_app, patchpilot_system;
GRANT SELECT, INSERT, UPDATE ON audit_chain_anchors TO patchpilot_retention;
CREATE POLICY retention_access ON audit_chain_anchors TO patchpilot_retention USING (true) WITH CHECK (true);

CREATE FUNCTION pp_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% rows are append-only: % is not allowed', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$;

-- The server's evidence signing key. The private key is sealed with the server's secret key
-- (AES-256-GCM, bound to the key id), so a database dump alone cannot sign anything.
CREATE TABLE evidence_keys (
  id text PRIMARY KEY,
  public_key bytea NOT NULL,
  sealed_private_key text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE evidence_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE evidence_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY system_access ON evidence_keys TO patchpilot_system USING (true) WITH CHECK (true);
GRANT SELECT, INSERT ON evidence_keys TO patchpilot_system;
CREATE TRIGGER evidence_keys_append_only BEFORE UPDATE OR DELETE ON evidence_keys
  FOR EACH ROW EXECUTE FUNCTION pp_reject_change();

-- Signed heads of an organisation's chains: anyone holding one can later prove the history up
-- to it was not rewritten.
CREATE TABLE audit_checkpoints (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id uuid NOT NULL DEFAULT pp_current_organization() REFERENCES organizations (id),
  chain text NOT NULL CHECK (chain IN ('audit', 'device')),
  seq bigint NOT NULL,
  head_hash bytea NOT NULL,
  signed_at timestamptz NOT NULL,
  key_id text NOT NULL REFERENCES evidence_keys (id),
  statement text NOT NULL,
  signature bytea NOT NULL
);
CREATE INDEX audit_checkpoints_org_idx ON audit_checkpoints (organization_id, signed_at);
SELECT pp_enable_tenant_isolation('audit_checkpoints');
GRANT SELECT, INSERT ON audit_checkpoints TO patchpilot_app, patchpilot_system;
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
  FOR EACH ROW EXECUTE FUNCTION pp_reject_change();

-- SIEM forwarding: one destination per organisation (Business and up). The CA certificate is
-- sealed with the server's secret key.
CREATE TABLE siem_configs (
  organization_id uuid PRIMARY KEY DEFAULT pp_current_organization() REFERENCES organizations (id),
  host text NOT NULL CHECK (char_length(host) BETWEEN 1 AND 253),
  port integer NOT NULL CHECK (port BETWEEN 1 AND 65535),
  transport text NOT NULL CHECK (transport IN ('udp', 'tcp', 'tls')),
  facility integer NOT NULL DEFAULT 16 CHECK (facility BETWEEN 0 AND 23),
  sealed_ca_pem text,
  enabled boolean NOT NULL DEFAULT true,
  -- Delivery state: one process delivers an organisation's events at a time, in order.
  leased_until timestamptz,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  failures integer NOT NULL DEFAULT 0,
  last_error text,
  last_delivered_seq bigint NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now()
);
SELECT pp_enable_tenant_isolation('siem_configs');
GRANT SELECT, INSERT, UPDATE, DELETE ON siem_configs TO patchpilot_app, patchpilot_system;

-- The outbox: every audit row of an organisation that forwards is queued in the transaction
-- that writes it (by this trigger, so no code path can forget), and removed once delivered.
CREATE TABLE siem_outbox (
  organization_id uuid NOT NULL DEFAULT pp_current_organization(),
  seq bigint NOT NULL,
  queued_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, seq)
);
SELECT pp_enable_tenant_isolation('siem_outbox');
GRANT SELECT, INSERT ON siem_outbox TO patchpilot_app;
GRANT SELECT, INSERT, DELETE ON siem_outbox TO patchpilot_system;

CREATE FUNCTION pp_queue_siem() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO siem_outbox (organization_id, seq)
    SELECT NEW.organization_id, NEW.seq
     WHERE EXISTS (SELECT 1 FROM siem_configs c WHERE c.organization_id = NEW.organization_id AND c.enabled);
  RETURN NULL;
END $$;
CREATE TRIGGER audit_events_siem AFTER INSERT ON audit_events
  FOR EACH ROW EXECUTE FUNCTION pp_queue_siem();
