-- A bulk job's target as columns (issue 11), read once with the job instead of a JSON string
-- parsed again for every event. `bulk_target` says what the job acts on: 'filter' (the filter as
-- the client wrote it, in the six bulk_filter_* columns, each NULL when absent) or 'ids' (their
-- number in bulk_id_count, the ids themselves in bulk_targets); NULL for syncs. A bulk job whose
-- old `params` cannot be read keeps a NULL target and fails when a worker claims it, as before.
ALTER TABLE jobs ADD COLUMN bulk_target TEXT;
ALTER TABLE jobs ADD COLUMN bulk_id_count INTEGER;
ALTER TABLE jobs ADD COLUMN bulk_filter_q TEXT;
ALTER TABLE jobs ADD COLUMN bulk_filter_type TEXT;
ALTER TABLE jobs ADD COLUMN bulk_filter_user_id TEXT;
ALTER TABLE jobs ADD COLUMN bulk_filter_from TEXT;
ALTER TABLE jobs ADD COLUMN bulk_filter_to TEXT;
ALTER TABLE jobs ADD COLUMN bulk_filter_date_field TEXT;

UPDATE jobs SET
  bulk_target = 'filter',
  bulk_filter_q = json_extract(params, '$.filter.q'),
  bulk_filter_type = json_extract(params, '$.filter.type'),
  bulk_filter_user_id = json_extract(params, '$.filter.userId'),
  bulk_filter_from = json_extract(params, '$.filter.from'),
  bulk_filter_to = json_extract(params, '$.filter.to'),
  bulk_filter_date_field = json_extract(params, '$.filter.dateField')
WHERE params IS NOT NULL AND json_valid(params) AND json_type(params, '$.filter') = 'object';

UPDATE jobs SET
  bulk_target = 'ids',
  bulk_id_count = json_extract(params, '$.idCount')
WHERE params IS NOT NULL AND json_valid(params) AND json_type(params, '$.filter') IS NULL
  AND json_type(params, '$.idCount') = 'integer';

ALTER TABLE jobs DROP COLUMN params;
