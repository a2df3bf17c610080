-- Alerting: each organisation's alert rules, the alerts they raised (one open alert per rule for
-- as long as its condition lasts), and the outbox of notices (e-mail, webhook) still to deliver.

CREATE TABLE alert_rules (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id uuid NOT NULL DEFAULT pp_current_organization() REFERENCES organizations (id),
  name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
  kind text NOT NULL CHECK (kind IN ('device_offline', 'checkin_error_spike', 'feed_stale', 'backup_failed',
                                     'restore_test_failed', 'sla_breach')),
  enabled boolean NOT NULL DEFAULT true,
  -- Hours (device_offline, feed_stale) or a count (checkin_error_spike, sla_breach); the platform's
  -- backup and restore-test rules have none.
  threshold integer CHECK (threshold BETWEEN 1 AND 1000000),
  -- The window errors are counted in (checkin_error_spike only).
  window_minutes integer CHECK (window_minutes BETWEEN 1 AND 10080),
  emails text[] NOT NULL DEFAULT '{}' CHECK (cardinality(emails) <= 20),
  webhook_url text CHECK (char_length(webhook_url) <= 2000),
  -- The webhook's signing secret, sealed with the server's secret key (never stored in the clear).
  sealed_webhook_secret text,
  created_by uuid REFERENCES users (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((webhook_url IS NULL) = (sealed_webhook_secret IS NULL)),
  CHECK (cardinality(emails) > 0 OR webhook_url IS NOT NULL)
);
CREATE INDEX alert_rules_org_idx ON alert_rules (organization_id, created_at);
SELECT pp_enable_tenant_isolation('alert_rules');
GRANT SELECT, INSERT, UPDATE, DELETE ON alert_rules TO patchpilot_app, patchpilot_system;

CREATE TABLE alerts (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id uuid NOT NULL DEFAULT pp_current_organization() REFERENCES organizations (id),
  rule_id uuid NOT NULL REFERENCES alert_rules (id),
  kind text NOT NULL,
  state text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'resolved')),
  summary text NOT NULL CHECK (char_length(summary) BETWEEN 1 AND 500),
  details jsonb NOT NULL DEFAULT '{}',
  raised_at timestamptz NOT NULL DEFAULT now(),
  resolved_at timestamptz,
  CHECK ((state = 'resolved') = (resolved_at IS NOT NULL))
);
-- One episode at a time: a rule whose condition persists has one open alert, raised once.
CREATE UNIQUE INDEX alerts_one_open_per_rule ON alerts (rule_id) WHERE state = 'open';
CREATE INDEX alerts_org_idx ON alerts (organization_id, raised_at DESC);
SELECT pp_enable_tenant_isolation('alerts');
GRANT SELECT, INSERT, UPDATE, DELETE ON alerts TO patchpilot_app, patchpilot_system;

-- The outbox: a notice per alert, event (raised, resolved) and channel, written in the transaction
-- that raised or resolved the alert and delivered after commit with retries and backoff.
CREATE TABLE alert_deliveries (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id uuid NOT NULL DEFAULT pp_current_organization() REFERENCES organizations (id),
  alert_id uuid NOT NULL REFERENCES alerts (id),
  event text NOT NULL CHECK (event IN ('raised', 'resolved')),
  channel text NOT NULL CHECK (channel IN ('email', 'webhook')),
  state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
  attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  leased_until timestamptz,
  last_error text CHECK (char_length(last_error) <= 500),
  delivered_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (alert_id, event, channel)
);
CREATE INDEX alert_deliveries_due_idx ON alert_deliveries (next_attempt_at) WHERE state = 'pending';
SELECT pp_enable_tenant_isolation('alert_deliveries');
GRANT SELECT, INSERT, UPDATE, DELETE ON alert_deliveries TO patchpilot_app, patchpilot_system;
