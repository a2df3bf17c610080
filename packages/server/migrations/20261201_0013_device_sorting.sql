-- Sorting the devices table by something other than the hostname, at 100,000 devices: each
-- sort key has an index that returns a page in order, so a page never sorts the whole fleet.

-- A device's open findings, the highest risk among them and the earliest SLA due date, kept by
-- the database itself from the findings table (one statement per change, for every device the
-- change touched), so no code path that opens, closes, suppresses, re-scores or re-dates findings
-- can leave them stale. The dashboard's compliance count reads the due date instead of every
-- finding.
ALTER TABLE devices ADD COLUMN open_findings integer NOT NULL DEFAULT 0;
-- A float rather than the findings' numeric: its comparison is leakproof, so under row-level
-- security PostgreSQL can still use the keyset condition of a later page as an index condition.
ALTER TABLE devices ADD COLUMN open_risk double precision NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN open_sla_due_at timestamptz;

CREATE FUNCTION pp_count_open_findings() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE devices d
     SET open_findings = s.open_findings, open_risk = s.open_risk, open_sla_due_at = s.open_sla_due_at
    FROM (SELECT f.device_id,
                 count(*) FILTER (WHERE f.status = 'open')::int AS open_findings,
                 coalesce(max(f.risk) FILTER (WHERE f.status = 'open'), 0)::float8 AS open_risk,
                 min(f.sla_due_at) FILTER (WHERE f.status = 'open') AS open_sla_due_at
            FROM findings f
           WHERE f.device_id IN (SELECT DISTINCT c.device_id FROM changed_findings c)
           GROUP BY f.device_id) s
   WHERE d.id = s.device_id
     AND (d.open_findings, d.open_risk, d.open_sla_due_at)
         IS DISTINCT FROM (s.open_findings, s.open_risk, s.open_sla_due_at);
  RETURN NULL;
END $$;
CREATE TRIGGER findings_count_inserted AFTER INSERT ON findings
  REFERENCING NEW TABLE AS changed_findings
  FOR EACH STATEMENT EXECUTE FUNCTION pp_count_open_findings();
CREATE TRIGGER findings_count_updated AFTER UPDATE ON findings
  REFERENCING NEW TABLE AS changed_findings
  FOR EACH STATEMENT EXECUTE FUNCTION pp_count_open_findings();

-- The findings already there (row-level security applies to the owner too: the system role
-- sees every organisation's rows).
SET LOCAL ROLE patchpilot_system;
UPDATE devices d
   SET open_findings = s.open_findings, open_risk = s.open_risk, open_sla_due_at = s.open_sla_due_at
  FROM (SELECT device_id, count(*)::int AS open_findings, max(risk)::float8 AS open_risk,
               min(sla_due_at) AS open_sla_due_at
          FROM findings WHERE status = 'open' GROUP BY device_id) s
 WHERE d.id = s.device_id;
RESET ROLE;

CREATE INDEX devices_risk_idx ON devices (organization_id, open_risk, open_findings, id);
CREATE INDEX devices_os_idx ON devices (organization_id, os_name, os_version, hostname, id);
-- Last seen (and online state, which is "seen within the last few check-ins").
CREATE INDEX device_presence_seen_idx ON device_presence (organization_id, last_seen_at, device_id);
