-- A number that moves whenever a commit inserts or deletes a user or changes what a token check
-- reads of one (id, email, role, status, token version), whichever connection or process made it
-- (this server, the CLI writing the file directly, the sqlite3 shell). The server's rights cache
-- reads it instead of `PRAGMA data_version`, which every commit moves (a sync's batches
-- included): see docs/performance.md, "The request path". A user's last sign-in time
-- (`last_login_at`) and name do not move it. Written to run again on a database that has it (the
-- store's tests replay later migrations).
CREATE TABLE IF NOT EXISTS rights_version (
  id      INTEGER PRIMARY KEY CHECK (id = 1),
  version INTEGER NOT NULL
) STRICT;
INSERT OR IGNORE INTO rights_version (id, version) VALUES (1, 0);

CREATE TRIGGER IF NOT EXISTS users_rights_insert AFTER INSERT ON users
BEGIN
  UPDATE rights_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER IF NOT EXISTS users_rights_delete AFTER DELETE ON users
BEGIN
  UPDATE rights_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER IF NOT EXISTS users_rights_update AFTER UPDATE OF id, email, role, status, token_version ON users
WHEN OLD.id IS NOT NEW.id OR OLD.email IS NOT NEW.email OR OLD.role IS NOT NEW.role
  OR OLD.status IS NOT NEW.status OR OLD.token_version IS NOT NEW.token_version
BEGIN
  UPDATE rights_version SET version = version + 1 WHERE id = 1;
END;
