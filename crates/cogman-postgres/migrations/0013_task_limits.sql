-- cogman task log, version 12: rate and concurrency limits.
--
-- `task_limits` holds each limit (JSON); `limit_buckets` the rate state of each bucket (the
-- theoretical arrival time of the generic cell rate algorithm, microseconds since the epoch
-- on the server's clock; NULL for a fresh bucket); `limit_reservations` the later start given
-- to each task the rate refused; `limit_leases` the running tasks of each bucket, each until
-- its lease runs out.
CREATE TABLE task_limits (
    name       text PRIMARY KEY,
    definition text NOT NULL
);
CREATE TABLE limit_buckets (
    bucket text PRIMARY KEY,
    tat    bigint
);
CREATE TABLE limit_leases (
    bucket     text NOT NULL,
    holder     text NOT NULL,
    expires_us bigint NOT NULL,
    PRIMARY KEY (bucket, holder)
);
CREATE TABLE limit_reservations (
    bucket text NOT NULL,
    holder text NOT NULL,
    at_us  bigint NOT NULL,
    PRIMARY KEY (bucket, holder)
);
