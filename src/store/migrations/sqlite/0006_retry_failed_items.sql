-- Retry of only the failed items of a completed job (docs/jobs.md). Each item error records the
-- attempt that found it; a job being retried that way names the first attempt whose errors are
-- still current: errors of earlier attempts are the items left to process again, and each is
-- deleted in the transaction that processes its item, so that a retry stopped at any moment goes
-- on where it stopped.
ALTER TABLE job_errors ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1;
ALTER TABLE jobs ADD COLUMN retry_before_attempt INTEGER NOT NULL DEFAULT 0;
