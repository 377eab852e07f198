-- The full-text index moves to a file of its own beside the database (`<database>-search`),
-- written by the store's search indexer on a thread of its own, so that indexing runs beside the
-- writer of the documents instead of inside its transactions (docs/performance.md, "The
-- full-text index in a file of its own"). The writer records here, in the documents'
-- transaction, the rowids each write inserted and those it changed or deleted (JSON arrays);
-- the indexer takes the changes after the last one it indexed and drops nothing: the writer
-- deletes the rows the index has taken. AUTOINCREMENT so that a number is never given twice,
-- even once every row is gone. The first pass after this migration builds the new index from
-- the documents.
DROP TABLE IF EXISTS documents_fts;
CREATE TABLE IF NOT EXISTS search_index_changes (
  seq      INTEGER PRIMARY KEY AUTOINCREMENT,
  inserted TEXT NOT NULL,
  changed  TEXT NOT NULL
) STRICT;
