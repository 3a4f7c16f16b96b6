-- cogman embedded store, schema version 7: unique keys.
-- A key is held by one task (the first attempt's id) until expires_at (nanoseconds since the
-- epoch), or until released when expires_at is NULL ("until finished"). A row whose time is
-- up is replaced by the next claim in the transaction that records the new task.
CREATE TABLE unique_keys (
    key        TEXT PRIMARY KEY NOT NULL,
    task_id    TEXT NOT NULL,
    expires_at INTEGER
);
