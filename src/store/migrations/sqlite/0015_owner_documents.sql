-- A user's documents are found through a two-level index instead of documents_by_user
-- (docs/performance.md, "A user's documents: an index in two levels"). A commit of a sync holds
-- documents of every owner; documents_by_user, one b-tree ordered by owner, then had one leaf
-- rewritten per owner per commit: at 1,000,000 documents and 1,000 owners, 68 % of the WAL a
-- commit wrote (docs/benchmarks.md, "The WAL of a commit, by b-tree").
--
-- owner_recent holds the documents written (inserted, or changed owner or sync time) since the
-- last merge, in rowid order, so that a commit of new documents appends to its right edge;
-- owner_documents holds the others, ordered by owner. When owner_recent passes a bound
-- (StoreOptions::owner_recent_rows, 32,768), the writer moves its rows into owner_documents in one
-- statement, in key order: each owner's leaf is rewritten once per merge instead of once per
-- commit. Each document is in exactly one of the two, written in the transaction that writes
-- the document. (Built again from the documents when run again.)
DROP TABLE IF EXISTS owner_documents;
DROP TABLE IF EXISTS owner_recent;
CREATE TABLE owner_documents (
  user_id   TEXT NOT NULL,
  synced_at INTEGER NOT NULL,
  doc       INTEGER NOT NULL,  -- the document's rowid
  PRIMARY KEY (user_id, synced_at, doc)
) STRICT, WITHOUT ROWID;
CREATE TABLE owner_recent (
  doc       INTEGER PRIMARY KEY,  -- the document's rowid
  user_id   TEXT NOT NULL,
  synced_at INTEGER NOT NULL
) STRICT;
INSERT INTO owner_documents (user_id, synced_at, doc)
  SELECT user_id, synced_at, rowid FROM documents ORDER BY user_id, synced_at, rowid;
DROP INDEX IF EXISTS documents_by_user;
