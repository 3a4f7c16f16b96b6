-- cogman task log, version 12: a history entry may be a note (TaskLog::note) — something that
-- happened while the task's state stayed (a rerun, a wait for a handler).
ALTER TABLE task_events ADD COLUMN note text;  -- NoteKind name; NULL for a state change
