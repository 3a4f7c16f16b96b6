-- cogman embedded store, schema version 3: named queues.
-- Every task and every queue row carries the named queue it was sent to; rows written before
-- read as 'default'. A worker claims only from the queues it serves.
ALTER TABLE tasks ADD COLUMN queue TEXT NOT NULL DEFAULT 'default';
CREATE INDEX tasks_queue ON tasks (queue);

ALTER TABLE queue ADD COLUMN queue TEXT NOT NULL DEFAULT 'default';
CREATE INDEX queue_claim_named ON queue (queue, priority, visible_at, seq);
