-- cogman task log, version 10: unique keys.
--
-- A key is held by one task (the first attempt's id) until expires_at (the server's clock),
-- or until released when expires_at is NULL ("until finished"). A claim is one
-- INSERT ... ON CONFLICT that takes a free key, replaces an expired row, or leaves a live one,
-- in the transaction that records the task.
CREATE TABLE unique_keys (
    key        text PRIMARY KEY,
    task_id    uuid NOT NULL,
    expires_at timestamptz
);
