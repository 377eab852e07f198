-- The FTS5 index is fed once per batch by INSERT … SELECT from the store's batch methods
-- (upsert_documents, delete_documents) instead of per-row triggers: every statement that writes
-- an FTS5 table opens a savepoint, and FTS5 flushes its pending terms to disk at each one, which
-- made the triggers cost most of a sync's time.
DROP TRIGGER documents_fts_insert;
DROP TRIGGER documents_fts_delete;
DROP TRIGGER documents_fts_update;
