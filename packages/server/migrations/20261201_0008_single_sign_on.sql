-- Single sign-on: an organisation's OpenID Connect and SAML identity providers, the sign-ins in
-- flight (state, nonce and PKCE verifier kept server-side, single use), SAML assertion ids seen
-- (replay protection), and sessions an identity provider vouched for, bound to its organisation.

-- OpenID Connect (Business and up). The client secret is sealed with the server's secret key.
CREATE TABLE sso_oidc_configs (
  organization_id uuid PRIMARY KEY DEFAULT pp_current_organization() REFERENCES organizations (id),
  issuer text NOT NULL CHECK (char_length(issuer) BETWEEN 9 AND 500),
  client_id text NOT NULL CHECK (char_length(client_id) BETWEEN 1 AND 255),
  sealed_client_secret text NOT NULL,
  allowed_domains text[] NOT NULL CHECK (cardinality(allowed_domains) BETWEEN 1 AND 50),
  default_role text NOT NULL CHECK (default_role IN ('admin', 'operator', 'auditor')),
  enabled boolean NOT NULL DEFAULT true,
  sso_required boolean NOT NULL DEFAULT false,
  updated_at timestamptz NOT NULL DEFAULT now()
);
SELECT pp_enable_tenant_isolation('sso_oidc_configs');
GRANT SELECT, INSERT, UPDATE, DELETE ON sso_oidc_configs TO patchpilot_app, patchpilot_system;

-- SAML 2.0 (Enterprise and up): what the identity provider's metadata said.
CREATE TABLE sso_saml_configs (
  organization_id uuid PRIMARY KEY DEFAULT pp_current_organization() REFERENCES organizations (id),
  idp_entity_id text NOT NULL CHECK (char_length(idp_entity_id) BETWEEN 1 AND 500),
  idp_sso_url text NOT NULL CHECK (char_length(idp_sso_url) BETWEEN 9 AND 1000),
  idp_certificates text[] NOT NULL CHECK (cardinality(idp_certificates) BETWEEN 1 AND 5),
  allowed_domains text[] NOT NULL CHECK (cardinality(allowed_domains) BETWEEN 1 AND 50),
  default_role text NOT NULL CHECK (default_role IN ('admin', 'operator', 'auditor')),
  enabled boolean NOT NULL DEFAULT true,
  sso_required boolean NOT NULL DEFAULT false,
  updated_at timestamptz NOT NULL DEFAULT now()
);
SELECT pp_enable_tenant_isolation('sso_saml_configs');
GRANT SELECT, INSERT, UPDATE, DELETE ON sso_saml_configs TO patchpilot_app, patchpilot_system;

-- A sign-in sent to the identity provider and not yet back: the SHA-256 of its OIDC state or SAML
-- request id, the SHA-256 of the browser-binding cookie, and (OIDC) the sealed PKCE verifier and nonce.
CREATE TABLE sso_flows (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id uuid NOT NULL DEFAULT pp_current_organization() REFERENCES organizations (id),
  protocol text NOT NULL CHECK (protocol IN ('oidc', 'saml')),
  state_hash bytea NOT NULL,
  browser_hash bytea NOT NULL,
  sealed_secrets text,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  used_at timestamptz
);
CREATE UNIQUE INDEX sso_flows_state_key ON sso_flows (organization_id, protocol, state_hash);
CREATE INDEX sso_flows_expiry_idx ON sso_flows (organization_id, expires_at);
SELECT pp_enable_tenant_isolation('sso_flows');
GRANT SELECT, INSERT, UPDATE, DELETE ON sso_flows TO patchpilot_app, patchpilot_system;

-- SAML assertion ids already accepted, kept until the assertion would have expired anyway.
CREATE TABLE sso_saml_assertions (
  organization_id uuid NOT NULL DEFAULT pp_current_organization() REFERENCES organizations (id),
  assertion_id text NOT NULL CHECK (char_length(assertion_id) BETWEEN 1 AND 256),
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (organization_id, assertion_id)
);
SELECT pp_enable_tenant_isolation('sso_saml_assertions');
GRANT SELECT, INSERT, DELETE ON sso_saml_assertions TO patchpilot_app, patchpilot_system;

-- A session opened by an organisation's identity provider reaches that organisation only.
ALTER TABLE sessions ADD COLUMN sso_organization_id uuid REFERENCES organizations (id);
