-- The app data that syncs copy: journal entries and goals. A deleted record stays as a tombstone
-- (deleted_at set) so that the next sync removes its document. change_seq numbers every change
-- of a table in commit order (writers are serialized), which is what incremental syncs follow.
CREATE TABLE journal_entries (
  id         TEXT PRIMARY KEY,
  user_id    TEXT NOT NULL,
  title      TEXT NOT NULL,
  body       TEXT NOT NULL,
  mood       INTEGER,
  tags       TEXT NOT NULL DEFAULT '[]',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  deleted_at INTEGER,
  change_seq INTEGER NOT NULL
) STRICT;
CREATE INDEX journal_entries_by_user ON journal_entries (user_id, created_at, id);
CREATE INDEX journal_entries_by_created ON journal_entries (created_at, id);
CREATE UNIQUE INDEX journal_entries_by_change ON journal_entries (change_seq);

CREATE TABLE goals (
  id          TEXT PRIMARY KEY,
  user_id     TEXT NOT NULL,
  title       TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  status      TEXT NOT NULL,
  target_date TEXT,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  deleted_at  INTEGER,
  change_seq  INTEGER NOT NULL
) STRICT;
CREATE INDEX goals_by_user ON goals (user_id, created_at, id);
CREATE INDEX goals_by_created ON goals (created_at, id);
CREATE UNIQUE INDEX goals_by_change ON goals (change_seq);
