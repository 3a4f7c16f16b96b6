-- cogman embedded store, schema version 1.
-- Times are integer nanoseconds since the Unix epoch (UTC). Ids are UUID v7 strings
-- (lower-case, hyphenated), so text order is creation order.

-- The task log: one row per task, every field of `Task`.
CREATE TABLE tasks (
    id                 TEXT PRIMARY KEY NOT NULL,
    name               TEXT NOT NULL,
    payload            BLOB NOT NULL,
    priority           TEXT NOT NULL,              -- 'High' | 'Low'
    retry              INTEGER NOT NULL,
    attempt            INTEGER NOT NULL,
    original_task_id   TEXT NOT NULL,
    primary_key        TEXT,
    status             TEXT NOT NULL,              -- TaskState::as_str
    fail_error         TEXT,
    result             BLOB,
    duration           REAL,                       -- seconds
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    run_at             INTEGER,
    timeout_ms         INTEGER,
    workflow           TEXT,                       -- JSON of WorkflowLink
    outbox_lease_until INTEGER NOT NULL DEFAULT 0  -- re-enqueue claims (Outbox)
);
CREATE INDEX tasks_status ON tasks (status);
CREATE INDEX tasks_name ON tasks (name);
CREATE INDEX tasks_primary_key ON tasks (primary_key) WHERE primary_key IS NOT NULL;
CREATE INDEX tasks_original_task_id ON tasks (original_task_id);
CREATE INDEX tasks_created_at ON tasks (created_at);

-- Every applied state change, in order.
CREATE TABLE history (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id  TEXT NOT NULL,
    state    TEXT NOT NULL,
    at       INTEGER NOT NULL,
    error    TEXT,
    result   BLOB,
    duration REAL,
    worker   TEXT
);
CREATE INDEX history_task ON history (task_id, seq);

-- The queue. A row is claimable when visible_at <= now: visible_at is the run time until the
-- row is claimed, then the end of its lease. seq is the enqueue order.
CREATE TABLE queue (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id          TEXT NOT NULL UNIQUE,
    priority         INTEGER NOT NULL,             -- 0 = High, 1 = Low
    run_at           INTEGER NOT NULL,
    visible_at       INTEGER NOT NULL,
    lease_owner      TEXT,
    lease_token      INTEGER,                      -- NULL when not leased
    deliveries       INTEGER NOT NULL DEFAULT 0,   -- times handed to a consumer
    unsettled        INTEGER NOT NULL DEFAULT 0,   -- deliveries since the last settlement
    task             TEXT NOT NULL,                -- JSON of Task, payload left empty
    payload          BLOB NOT NULL
);
CREATE INDEX queue_claim ON queue (priority, visible_at, seq);

-- Tasks that can never run: malformed rows, poison (too many deliveries), dead-lettered by a
-- worker.
CREATE TABLE dead_letters (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id    TEXT NOT NULL,
    reason     TEXT NOT NULL,
    at         INTEGER NOT NULL,
    deliveries INTEGER NOT NULL,
    task       TEXT NOT NULL,
    payload    BLOB NOT NULL
);

-- Worker heartbeats.
CREATE TABLE workers (
    id             TEXT PRIMARY KEY NOT NULL,
    last_heartbeat INTEGER NOT NULL,
    info           TEXT NOT NULL                   -- JSON of WorkerInfo
);
