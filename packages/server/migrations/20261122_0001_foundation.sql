-- Foundation: roles, tenancy helpers, organisations, users, memberships, sessions, invitations,
-- the two append-only audit tables and their hash-chain heads.

-- Roles are cluster-wide: several PatchPilot databases on one server share them, so creating
-- them must tolerate another database (or a parallel migration) having done it first.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'patchpilot_app') THEN
    CREATE ROLE patchpilot_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'patchpilot_system') THEN
    CREATE ROLE patchpilot_system NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;
GRANT patchpilot_app TO CURRENT_USER;
GRANT patchpilot_system TO CURRENT_USER;

GRANT USAGE ON SCHEMA public TO patchpilot_app, patchpilot_system;

-- The organisation a tenant transaction is bound to; NULL outside one, which matches no row.
CREATE FUNCTION pp_current_organization() RETURNS uuid
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT nullif(current_setting('patchpilot.organization_id', true), '')::uuid $$;
GRANT EXECUTE ON FUNCTION pp_current_organization() TO patchpilot_app, patchpilot_system;

-- Every tenant table goes through this: RLS enabled and forced (so even the owner is filtered),
-- the application role sees and writes only the current organisation's rows, and the system
-- role (cross-tenant work: sign-in, jobs) sees all.
CREATE FUNCTION pp_enable_tenant_isolation(tbl regclass, org_column text DEFAULT 'organization_id')
  RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
  EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
  EXECUTE format(
    'CREATE POLICY tenant_isolation ON %s TO patchpilot_app '
    'USING (%I = pp_current_organization()) WITH CHECK (%I = pp_current_organization())',
    tbl, org_column, org_column);
  EXECUTE format('CREATE POLICY system_access ON %s TO patchpilot_system USING (true) WITH CHECK (true)', tbl);
END $$;

-- Append-only: no role may change or remove an audit row. Retention (rows past the plan's
-- retention) is the only removal and is added with its own role.
CREATE FUNCTION pp_reject_audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit rows are append-only: % on % is not allowed', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END $$;


CREATE TABLE organizations (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
  plan text NOT NULL DEFAULT 'free'
    CHECK (plan IN ('free', 'starter', 'professional', 'business', 'enterprise', 'msp')),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
SELECT pp_enable_tenant_isolation('organizations', 'id');
GRANT SELECT, UPDATE ON organizations TO patchpilot_app;
GRANT SELECT, INSERT, UPDATE ON organizations TO patchpilot_system;

-- People are global (one person may belong to several organisations, as an MSP technician does);
-- a tenant sees a user only through a membership of its own organisation.
CREATE TABLE users (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email text NOT NULL CHECK (email = lower(email) AND char_length(email) BETWEEN 3 AND 254),
  name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
  password_hash text,
  password_changed_at timestamptz,
  last_login_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (email);

CREATE TABLE memberships (
  organization_id uuid NOT NULL DEFAULT pp_current_organization() REFERENCES organizations (id),
  user_id uuid NOT NULL REFERENCES users (id),
  role text NOT NULL CHECK (role IN ('owner', 'admin', 'operator', 'auditor', 'msp_tenant_admin')),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, user_id)
);
CREATE INDEX memberships_user_idx ON memberships (user_id);
CREATE INDEX memberships_page_idx ON memberships (organization_id, created_at, user_id);
SELECT pp_enable_tenant_isolation('memberships');
GRANT SELECT, INSERT, UPDATE, DELETE ON memberships TO patchpilot_app, patchpilot_system;

ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_members ON users TO patchpilot_app
  USING (EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = users.id))
  WITH CHECK (EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = users.id));
CREATE POLICY system_access ON users TO patchpilot_system USING (true) WITH CHECK (true);
GRANT SELECT ON users TO patchpilot_app;
GRANT SELECT, INSERT, UPDATE ON users TO patchpilot_system;

CREATE TABLE sessions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES users (id),
  token_hash bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  idle_expires_at timestamptz NOT NULL,
  absolute_expires_at timestamptz NOT NULL,
  revoked_at timestamptz,
  ip text,
  user_agent text
);
CREATE UNIQUE INDEX sessions_token_hash_key ON sessions (token_hash);
CREATE INDEX sessions_user_idx ON sessions (user_id) WHERE revoked_at IS NULL;
-- Sessions belong to a person, not a tenant: only the system role reads them.
ALTER TABLE sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE sessions FORCE ROW LEVEL SECURITY;
CREATE POLICY system_access ON sessions TO patchpilot_system USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, UPDATE ON sessions TO patchpilot_system;

CREATE TABLE invitations (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id uuid NOT NULL DEFAULT pp_current_organization() REFERENCES organizations (id),
  email text NOT NULL CHECK (email = lower(email)),
  role text NOT NULL CHECK (role IN ('owner', 'admin', 'operator', 'auditor', 'msp_tenant_admin')),
  token_hash bytea NOT NULL,
  invited_by uuid REFERENCES users (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  accepted_at timestamptz,
  accepted_by uuid REFERENCES users (id),
  revoked_at timestamptz
);
CREATE UNIQUE INDEX invitations_token_hash_key ON invitations (token_hash);
CREATE INDEX invitations_org_idx ON invitations (organization_id, created_at);
SELECT pp_enable_tenant_isolation('invitations');
GRANT SELECT, INSERT, UPDATE ON invitations TO patchpilot_app, patchpilot_system;

-- One-time links that create the first organisation.
CREATE TABLE setup_tokens (
  token_hash bytea PRIMARY KEY,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  used_at timestamptz
);
ALTER TABLE setup_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE setup_tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY system_access ON setup_tokens TO patchpilot_system USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, UPDATE, DELETE ON setup_tokens TO patchpilot_system;

-- Fixed-window counters shared by every server process (sign-in throttling).
CREATE TABLE rate_limit_buckets (
  key text PRIMARY KEY,
  window_started_at timestamptz NOT NULL,
  hits integer NOT NULL
);
ALTER TABLE rate_limit_buckets ENABLE ROW LEVEL SECURITY;
ALTER TABLE rate_limit_buckets FORCE ROW LEVEL SECURITY;
CREATE POLICY system_access ON rate_limit_buckets TO patchpilot_system USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, UPDATE, DELETE ON rate_limit_buckets TO patchpilot_system;

-- Audit chains. Each organisation has two (audit, device); events that belong to no
-- organisation (a sign-in attempt for an unknown address) go to the platform chain, whose
-- organisation id is the nil UUID, which no organisation can have.
CREATE TABLE audit_chain_heads (
  organization_id uuid NOT NULL DEFAULT pp_current_organization(),
  chain text NOT NULL CHECK (chain IN ('audit', 'device')),
  seq bigint NOT NULL DEFAULT 0,
  prev_hash bytea NOT NULL DEFAULT decode(repeat('00', 32), 'hex'),
  head_hash bytea NOT NULL DEFAULT decode(repeat('00', 32), 'hex'),
  PRIMARY KEY (organization_id, chain)
);
SELECT pp_enable_tenant_isolation('audit_chain_heads');
GRANT SELECT, UPDATE ON audit_chain_heads TO patchpilot_app;
GRANT SELECT, INSERT, UPDATE ON audit_chain_heads TO patchpilot_system;
INSERT INTO audit_chain_heads (organization_id, chain)
  VALUES ('00000000-0000-0000-0000-000000000000', 'audit'), ('00000000-0000-0000-0000-000000000000', 'device');

CREATE TABLE audit_events (
  organization_id uuid NOT NULL DEFAULT pp_current_organization(),
  seq bigint NOT NULL,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  occurred_at timestamptz NOT NULL,
  actor_type text NOT NULL CHECK (actor_type IN ('user', 'api_token', 'device', 'system', 'anonymous')),
  actor_id text,
  action text NOT NULL,
  target_type text,
  target_id text,
  result text NOT NULL CHECK (result IN ('success', 'failure')),
  error_code text,
  ip text,
  user_agent text,
  request_id text,
  details jsonb NOT NULL DEFAULT '{}',
  prev_hash bytea NOT NULL,
  hash bytea NOT NULL,
  PRIMARY KEY (organization_id, seq)
);
CREATE UNIQUE INDEX audit_events_id_key ON audit_events (id);
CREATE INDEX audit_events_time_idx ON audit_events (organization_id, occurred_at);
CREATE INDEX audit_events_action_idx ON audit_events (organization_id, action, seq);
CREATE INDEX audit_events_actor_idx ON audit_events (organization_id, actor_id, seq);
CREATE INDEX audit_events_target_idx ON audit_events (organization_id, target_type, target_id, seq);
SELECT pp_enable_tenant_isolation('audit_events');
GRANT SELECT, INSERT ON audit_events TO patchpilot_app, patchpilot_system;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION pp_reject_audit_change();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION pp_reject_audit_change();

CREATE TABLE device_events (
  organization_id uuid NOT NULL DEFAULT pp_current_organization(),
  seq bigint NOT NULL,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  occurred_at timestamptz NOT NULL,
  device_id uuid,
  actor_type text NOT NULL CHECK (actor_type IN ('device', 'system', 'user', 'api_token')),
  actor_id text,
  event_type text NOT NULL,
  result text NOT NULL CHECK (result IN ('success', 'failure')),
  error_code text,
  request_id text,
  details jsonb NOT NULL DEFAULT '{}',
  prev_hash bytea NOT NULL,
  hash bytea NOT NULL,
  PRIMARY KEY (organization_id, seq)
);
CREATE UNIQUE INDEX device_events_id_key ON device_events (id);
CREATE INDEX device_events_device_idx ON device_events (organization_id, device_id, seq);
CREATE INDEX device_events_time_idx ON device_events (organization_id, occurred_at);
SELECT pp_enable_tenant_isolation('device_events');
GRANT SELECT, INSERT ON device_events TO patchpilot_app, patchpilot_system;
CREATE TRIGGER device_events_append_only BEFORE UPDATE OR DELETE ON device_events
  FOR EACH ROW EXECUTE FUNCTION pp_reject_audit_change();
CREATE TRIGGER device_events_no_truncate BEFORE TRUNCATE ON device_events
  FOR EACH STATEMENT EXECUTE FUNCTION pp_reject_audit_change();
