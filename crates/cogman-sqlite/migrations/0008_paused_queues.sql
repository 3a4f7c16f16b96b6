-- cogman embedded store, schema version 8: paused queues.
-- One row per paused named queue; `since` in nanoseconds since the epoch. Workers leave the
-- rows of `queue` whose queue has a row here.
CREATE TABLE paused_queues (
    queue TEXT PRIMARY KEY NOT NULL,
    since INTEGER NOT NULL
);
