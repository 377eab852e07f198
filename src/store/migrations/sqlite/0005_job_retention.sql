-- Retention of job history (docs/jobs.md): the sweep looks for finished jobs (slot NULL) by end time.
CREATE INDEX jobs_by_end_time ON jobs (end_time) WHERE slot IS NULL;
