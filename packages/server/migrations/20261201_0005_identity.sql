-- Identity at scale: TOTP second factors and recovery codes, two-step sign-in, organisation
-- security settings, API tokens, and MSP client organisations with their technicians' assignments.

-- A person's TOTP key, sealed with the server's secret box (never in the clear). It is on only once
-- confirmed with a code; last_used_step is the time step of the last accepted code, so a code is
-- accepted once (replay refused).
CREATE TABLE user_totp (
  user_id uuid PRIMARY KEY REFERENCES users (id),
  secret_sealed text NOT NULL CHECK (char_length(secret_sealed) BETWEEN 10 AND 500),
  confirmed_at timestamptz,
  last_used_step bigint,
  created_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE user_totp ENABLE ROW LEVEL SECURITY;
ALTER TABLE user_totp FORCE ROW LEVEL SECURITY;
CREATE POLICY system_access ON user_totp TO patchpilot_system USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, UPDATE, DELETE ON user_totp TO patchpilot_system;

-- Single-use recovery codes: only their SHA-256 is kept.
CREATE TABLE user_recovery_codes (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES users (id),
  code_hash bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  used_at timestamptz
);
CREATE UNIQUE INDEX user_recovery_codes_hash_key ON user_recovery_codes (user_id, code_hash);
ALTER TABLE user_recovery_codes ENABLE ROW LEVEL SECURITY;
ALTER TABLE user_recovery_codes FORCE ROW LEVEL SECURITY;
CREATE POLICY system_access ON user_recovery_codes TO patchpilot_system USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, UPDATE, DELETE ON user_recovery_codes TO patchpilot_system;

-- The first step of a two-step sign-in: the password was right, the second factor is awaited.
-- Short-lived, single use, a few attempts.
CREATE TABLE pending_sign_ins (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES users (id),
  token_hash bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  used_at timestamptz
);
CREATE UNIQUE INDEX pending_sign_ins_token_hash_key ON pending_sign_ins (token_hash);
CREATE INDEX pending_sign_ins_user_idx ON pending_sign_ins (user_id);
ALTER TABLE pending_sign_ins ENABLE ROW LEVEL SECURITY;
ALTER TABLE pending_sign_ins FORCE ROW LEVEL SECURITY;
CREATE POLICY system_access ON pending_sign_ins TO patchpilot_system USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, UPDATE, DELETE ON pending_sign_ins TO patchpilot_system;

-- Per organisation: whose accounts must have a second factor before they reach its data.
CREATE TABLE organization_security_settings (
  organization_id uuid PRIMARY KEY DEFAULT pp_current_organization() REFERENCES organizations (id),
  two_factor_required text NOT NULL DEFAULT 'off' CHECK (two_factor_required IN ('off', 'admins', 'all')),
  updated_at timestamptz NOT NULL DEFAULT now()
);
SELECT pp_enable_tenant_isolation('organization_security_settings');
GRANT SELECT, INSERT, UPDATE ON organization_security_settings TO patchpilot_app, patchpilot_system;

-- API tokens for automation (`ppat_…`): a role within one organisation, no higher than their
-- creator's; only the SHA-256 is stored.
CREATE TABLE api_tokens (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id uuid NOT NULL DEFAULT pp_current_organization() REFERENCES organizations (id),
  name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
  role text NOT NULL CHECK (role IN ('owner', 'admin', 'operator', 'auditor')),
  token_hash bytea NOT NULL,
  hint text NOT NULL CHECK (char_length(hint) <= 20),
  created_by uuid REFERENCES users (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz,
  last_used_at timestamptz,
  revoked_at timestamptz,
  UNIQUE (organization_id, name)
);
CREATE UNIQUE INDEX api_tokens_token_hash_key ON api_tokens (token_hash);
SELECT pp_enable_tenant_isolation('api_tokens');
GRANT SELECT, INSERT, UPDATE ON api_tokens TO patchpilot_app, patchpilot_system;

-- MSP: a client organisation's row naming the MSP organisation that manages it. It is the
-- client's row (its Owner sees who manages it); the MSP's list of clients is read by the system
-- role, filtered by msp_organization_id.
CREATE TABLE msp_clients (
  organization_id uuid PRIMARY KEY DEFAULT pp_current_organization() REFERENCES organizations (id),
  msp_organization_id uuid NOT NULL REFERENCES organizations (id),
  created_by uuid REFERENCES users (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  CHECK (organization_id <> msp_organization_id)
);
CREATE INDEX msp_clients_msp_idx ON msp_clients (msp_organization_id);
SELECT pp_enable_tenant_isolation('msp_clients');
GRANT SELECT, INSERT, DELETE ON msp_clients TO patchpilot_app, patchpilot_system;

-- Which MSP staff act in a client (the client's rows, so its Owner sees who may act there).
CREATE TABLE msp_assignments (
  organization_id uuid NOT NULL DEFAULT pp_current_organization() REFERENCES organizations (id),
  msp_organization_id uuid NOT NULL REFERENCES organizations (id),
  user_id uuid NOT NULL REFERENCES users (id),
  assigned_by uuid REFERENCES users (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, user_id),
  FOREIGN KEY (organization_id) REFERENCES msp_clients (organization_id)
);
CREATE INDEX msp_assignments_user_idx ON msp_assignments (user_id);
SELECT pp_enable_tenant_isolation('msp_assignments');
GRANT SELECT, INSERT, DELETE ON msp_assignments TO patchpilot_app, patchpilot_system;

-- Erasing a person (GDPR art. 17) deletes their sessions.
GRANT DELETE ON sessions TO patchpilot_system;
