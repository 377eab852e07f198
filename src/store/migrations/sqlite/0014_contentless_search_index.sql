-- The full-text index in `<database>-search` becomes contentless (FTS5 `content=''`): it keeps
-- the words' positions and the documents' lengths, not a second copy of every title and text
-- (docs/performance.md, "A contentless index"). Removing a document from such an index takes
-- the title and text it was indexed with, so the writer now records, with each change, the
-- rowids it inserted and, for every document whose title or text left the index (changed or
-- deleted), its rowid with the title and text it had: `removed`, a JSON array of
-- [rowid, title, text]. A change of a document's metadata alone records nothing. The changes
-- recorded the old way are dropped with their table; the indexer builds the index again from the
-- documents (its file's table is contentful from 0013, and the database's change counter starts
-- again below the index's).
DROP TABLE IF EXISTS search_index_changes;
CREATE TABLE search_index_changes (
  seq      INTEGER PRIMARY KEY AUTOINCREMENT,
  inserted TEXT NOT NULL,
  removed  TEXT NOT NULL
) STRICT;
