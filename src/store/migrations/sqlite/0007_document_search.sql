-- Document search (issue 4). Each document keeps its source record's creation time, so that a
-- listing can filter and sort by the source date as well as by the sync date. Listings page by
-- (date, rowid): the rowid of a document never changes when a sync updates it, so it is also
-- the bound of a search's snapshot.
ALTER TABLE documents ADD COLUMN source_created_at INTEGER NOT NULL DEFAULT 0;
UPDATE documents SET source_created_at =
  coalesce(unixepoch(json_extract(metadata, '$.createdAt')), 0) * 1000;
DROP INDEX documents_by_synced;
CREATE INDEX documents_by_synced ON documents (synced_at);
CREATE INDEX documents_by_source_created ON documents (source_created_at);
