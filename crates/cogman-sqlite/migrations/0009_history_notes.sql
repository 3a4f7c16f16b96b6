-- cogman embedded store, schema version 9: a history entry may be a note (TaskLog::note) —
-- something that happened while the task's state stayed (a rerun, a wait for a handler).
ALTER TABLE history ADD COLUMN note TEXT;  -- NoteKind name; NULL for a state change
