-- The embedded ML document store, sync jobs and their item errors, and each scope's watermark.
CREATE TABLE documents (
  id           TEXT PRIMARY KEY,
  user_id      TEXT NOT NULL,
  source_type  TEXT NOT NULL,
  source_id    TEXT NOT NULL,
  title        TEXT NOT NULL,
  text         TEXT NOT NULL,
  metadata     TEXT NOT NULL DEFAULT '{}',
  content_hash TEXT NOT NULL,
  synced_at    INTEGER NOT NULL,
  version      INTEGER NOT NULL DEFAULT 1,
  job_id       TEXT,
  UNIQUE (source_type, source_id)
) STRICT;
CREATE INDEX documents_by_user ON documents (user_id, synced_at);
CREATE INDEX documents_by_synced ON documents (synced_at, id);

-- Full-text index over title and text, kept in step by triggers.
CREATE VIRTUAL TABLE documents_fts USING fts5(title, text, content='documents', content_rowid='rowid');
CREATE TRIGGER documents_fts_insert AFTER INSERT ON documents BEGIN
  INSERT INTO documents_fts (rowid, title, text) VALUES (new.rowid, new.title, new.text);
END;
CREATE TRIGGER documents_fts_delete AFTER DELETE ON documents BEGIN
  INSERT INTO documents_fts (documents_fts, rowid, title, text) VALUES ('delete', old.rowid, old.title, old.text);
END;
CREATE TRIGGER documents_fts_update AFTER UPDATE ON documents BEGIN
  INSERT INTO documents_fts (documents_fts, rowid, title, text) VALUES ('delete', old.rowid, old.title, old.text);
  INSERT INTO documents_fts (rowid, title, text) VALUES (new.rowid, new.title, new.text);
END;

CREATE TABLE jobs (
  id               TEXT PRIMARY KEY,
  user_id          TEXT NOT NULL,
  type             TEXT NOT NULL,
  status           TEXT NOT NULL,
  scope            TEXT NOT NULL,
  scope_user_id    TEXT,
  mode             TEXT NOT NULL,
  total_items      INTEGER NOT NULL DEFAULT 0,
  synced_items     INTEGER NOT NULL DEFAULT 0,
  skipped_items    INTEGER NOT NULL DEFAULT 0,
  failed_items     INTEGER NOT NULL DEFAULT 0,
  error_count      INTEGER NOT NULL DEFAULT 0,
  errors           TEXT NOT NULL DEFAULT '[]',
  start_time       INTEGER,
  end_time         INTEGER,
  running_ms       INTEGER NOT NULL DEFAULT 0,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL,
  attempt          INTEGER NOT NULL DEFAULT 1,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  failure_reason   TEXT NOT NULL DEFAULT '',
  checkpoint_seq   INTEGER NOT NULL DEFAULT 0,
  target_seq       INTEGER NOT NULL DEFAULT 0,
  from_seq         INTEGER NOT NULL DEFAULT 0,
  -- "scope key|type" while the job is active, NULL once finished: at most one active job per slot.
  slot             TEXT UNIQUE
) STRICT;
CREATE INDEX jobs_by_created ON jobs (created_at, id);
CREATE INDEX jobs_by_status ON jobs (status, created_at);
CREATE INDEX jobs_by_user ON jobs (user_id, created_at);
CREATE INDEX jobs_by_scope_user ON jobs (scope_user_id, created_at);

CREATE TABLE job_errors (
  job_id  TEXT NOT NULL,
  seq     INTEGER NOT NULL,
  item_id TEXT NOT NULL,
  reason  TEXT NOT NULL,
  at      INTEGER NOT NULL,
  PRIMARY KEY (job_id, seq)
) STRICT;

CREATE TABLE sync_watermarks (
  scope_key TEXT PRIMARY KEY,  -- "all|journal_entries", "user:<id>|goals", …
  seq       INTEGER NOT NULL
) STRICT;
