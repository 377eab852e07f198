-- Stats (GET /api/ml/stats) in bounded time whatever the size of the document store and of the
-- item error history.
--
-- Documents per (owner, source type), kept exact by the store in the transaction that writes the
-- documents (upsert_documents adds the rows it inserted, delete_documents takes off the rows it
-- removed), so that counts by type and the top users never count(*) the documents table. A
-- document's owner never changes (a source record keeps its owner), so an update leaves it alone.
CREATE TABLE document_counts (
  user_id     TEXT NOT NULL,
  source_type TEXT NOT NULL,
  count       INTEGER NOT NULL,
  PRIMARY KEY (user_id, source_type)
) STRICT, WITHOUT ROWID;
INSERT INTO document_counts (user_id, source_type, count)
  SELECT user_id, source_type, count(*) FROM documents GROUP BY user_id, source_type;

-- Item errors recorded per UTC hour and failure kind (domain::failure_kind: the reason with the
-- values it embeds replaced), added to by append_job_errors in the same transaction. An
-- append-only record of "item errors recorded in that hour": a retry that re-processes an item
-- does not take its earlier error back, and retention removes the hours it has passed. The
-- example is one actual reason of the kind, for people.
CREATE TABLE job_error_counts (
  hour    INTEGER NOT NULL,  -- ms since the epoch, floored to the hour
  kind    TEXT NOT NULL,
  count   INTEGER NOT NULL,
  example TEXT NOT NULL,
  PRIMARY KEY (hour, kind)
) STRICT, WITHOUT ROWID;
-- Backfill from the errors already stored. The two reasons that embed a value are the two rules
-- of failure_kind (a number, a quoted value) that sync_problem's messages need; keep in step.
INSERT INTO job_error_counts (hour, kind, count, example)
  SELECT hour, kind, count(*), max(reason) FROM (
    SELECT (at / 3600000) * 3600000 AS hour, reason,
           CASE
             WHEN reason GLOB 'mood * is outside 1-5' THEN 'mood N is outside 1-5'
             WHEN reason GLOB 'status ''*'' is neither open nor done' THEN 'status ''…'' is neither open nor done'
             ELSE reason
           END AS kind
    FROM job_errors)
  GROUP BY hour, kind;

-- The job figures of a range: one range scan of finished jobs by end time that never reads the
-- table (a covering index; slot is in it because SQLite reads the column of a partial index's
-- condition from the table otherwise); failure_reason is read only for failed jobs. It replaces
-- jobs_by_end_time (0005), its prefix with the same condition, which retention now uses: with
-- both, the planner took the narrower one and read every job's row.
CREATE INDEX jobs_stats_by_end_time
  ON jobs (end_time, type, status, synced_items, skipped_items, failed_items, running_ms, start_time, slot)
  WHERE slot IS NULL;
DROP INDEX jobs_by_end_time;
