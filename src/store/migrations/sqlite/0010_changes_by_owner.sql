-- A user's own sync reads that user's changes in change_seq order (Reader::journal_changes and
-- goal_changes with an owner, count_changes with an owner): with only the index on change_seq it
-- walked every owner's changes in the range. With (user_id, change_seq) it reads just the owner's
-- rows, so a per-user sync runs at the rate of a sync of every user (docs/sync-engine.md).
CREATE INDEX journal_entries_by_user_change ON journal_entries (user_id, change_seq);
CREATE INDEX goals_by_user_change ON goals (user_id, change_seq);
