-- cogman embedded store, schema version 9: rate and concurrency limits.
-- `task_limits` holds each limit (JSON); `limit_buckets` the rate state of each bucket (the
-- theoretical arrival time of the generic cell rate algorithm, in nanoseconds since the
-- epoch); `limit_reservations` the later start given to each task the rate refused;
-- `limit_leases` the running tasks of each bucket, each until its lease runs out.
CREATE TABLE task_limits (
    name       TEXT PRIMARY KEY NOT NULL,
    definition TEXT NOT NULL
);
CREATE TABLE limit_buckets (
    bucket TEXT PRIMARY KEY NOT NULL,
    tat    INTEGER NOT NULL
);
CREATE TABLE limit_leases (
    bucket     TEXT NOT NULL,
    holder     TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (bucket, holder)
);
CREATE TABLE limit_reservations (
    bucket TEXT NOT NULL,
    holder TEXT NOT NULL,
    at     INTEGER NOT NULL,
    PRIMARY KEY (bucket, holder)
);
