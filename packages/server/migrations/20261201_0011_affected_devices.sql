-- "Which devices have CVE-X": a page of a vulnerability's open findings in first-seen order is an
-- index range read in order (no sort of every affected finding), and the totals count findings
-- from the index alone, leaving out the (few) retired devices instead of joining every live one.
CREATE INDEX findings_vulnerability_open_idx
  ON findings (organization_id, vulnerability_id, first_seen_at, id) INCLUDE (device_id)
  WHERE status = 'open';
CREATE INDEX devices_retired_idx ON devices (organization_id, id) WHERE retired_at IS NOT NULL;
