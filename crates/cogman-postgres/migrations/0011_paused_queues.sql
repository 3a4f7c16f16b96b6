-- cogman task log, version 11: paused queues.
--
-- One row per paused named queue. Workers take no task of a queue listed here.
CREATE TABLE paused_queues (
    queue text PRIMARY KEY,
    since timestamptz NOT NULL
);
