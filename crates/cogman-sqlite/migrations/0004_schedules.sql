-- Periodic tasks: schedules, one claim per (schedule, slot) so each slot is sent once, and
-- named leases (the scheduler's leader election).
CREATE TABLE schedules (
    id           TEXT PRIMARY KEY,
    definition   TEXT NOT NULL,      -- the Schedule as JSON (its paused flag is the column)
    paused       INTEGER NOT NULL DEFAULT 0,
    since        INTEGER NOT NULL,   -- ns; slots at or before it are never sent
    last_slot    INTEGER,
    last_at      INTEGER,
    last_task_id TEXT
) STRICT;

CREATE TABLE schedule_slots (
    schedule_id TEXT NOT NULL,
    slot        INTEGER NOT NULL,
    claimed_at  INTEGER NOT NULL,
    task_id     TEXT,
    PRIMARY KEY (schedule_id, slot)
) STRICT, WITHOUT ROWID;

CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at INTEGER NOT NULL      -- ns
) STRICT;
