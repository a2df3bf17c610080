-- Every foreign key that follows its parent on delete (CASCADE, SET NULL) gets an index on its
-- referencing columns, so removing a parent row finds its children by index, not by a scan.
--
-- The one that cost: a stored advisory's CPE matches, by their advisory (its affected ranges
-- already had this index). Storing a batch reads the products of the advisories it replaces, and
-- deleting an advisory cascades to its matches; without the index each was a scan of every CPE
-- match (300,000 for NVD), once per batch and once per replaced advisory.
CREATE INDEX cpe_matches_advisory_idx ON cpe_matches (source, advisory_id);
-- Small tables, for the same rule: a deleted device group or maintenance window.
CREATE INDEX enrollment_tokens_group_idx ON enrollment_tokens (group_id) WHERE group_id IS NOT NULL;
CREATE INDEX rollouts_window_idx ON rollouts (window_id) WHERE window_id IS NOT NULL;
