-- SIEM messages as RFC 5424 (the default) or ArcSight CEF, over the same syslog transports.
ALTER TABLE siem_configs ADD COLUMN format text NOT NULL DEFAULT 'rfc5424'
  CHECK (format IN ('rfc5424', 'cef'));

-- Evidence packs show each organisation the platform's backups and restore tests, since its
-- records are in them. The application role may read only the columns that describe a run:
-- never file names, copy locations, error texts, problems or details, which may name other
-- organisations (row counts, chain heads). The rows themselves carry no organisation.
GRANT SELECT (id, trigger, state, started_at, finished_at, duration_ms, bytes, verified_at, removed_at)
  ON backup_runs TO patchpilot_app;
CREATE POLICY evidence_read ON backup_runs FOR SELECT TO patchpilot_app USING (true);
GRANT SELECT (id, ok, started_at, finished_at, duration_ms, backup_bytes) ON restore_tests TO patchpilot_app;
CREATE POLICY evidence_read ON restore_tests FOR SELECT TO patchpilot_app USING (true);

-- MFA coverage evidence: whether a person who may act in the current organisation (a member,
-- or an MSP technician assigned to it) has a confirmed second factor, and since when. Never the
-- sealed key or the last used step. memberships and msp_assignments are themselves under
-- row-level security, so the policy sees the current organisation's people only.
GRANT SELECT (user_id, confirmed_at) ON user_totp TO patchpilot_app;
CREATE POLICY organization_people ON user_totp FOR SELECT TO patchpilot_app
  USING (
    EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = user_totp.user_id)
    OR EXISTS (SELECT 1 FROM msp_assignments a WHERE a.user_id = user_totp.user_id)
  );
