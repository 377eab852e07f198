-- Bulk document jobs (issue 4): what a bulk_delete or bulk_resync job acts on must survive a
-- restart. `params` holds the small part, shown in the job JSON: the action and the filter as the
-- client wrote it (or the number of ids); NULL for syncs. The ids of a job given by ids (up to
-- 10,000) live in bulk_targets, numbered in request order, so that the job's checkpoint_seq is
-- the number of the last target it processed and no event has to carry them.
ALTER TABLE jobs ADD COLUMN params TEXT;
CREATE TABLE bulk_targets (
  job_id      TEXT NOT NULL,
  seq         INTEGER NOT NULL,
  document_id TEXT NOT NULL,
  PRIMARY KEY (job_id, seq)
) STRICT;
