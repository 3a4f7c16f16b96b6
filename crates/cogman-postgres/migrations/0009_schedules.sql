-- cogman task log, version 9: periodic tasks (the ScheduleStore ability). A schedule's
-- definition is JSON text (its paused flag is the column); schedule_slots holds one row per
-- claimed (schedule, slot), so each slot is sent once; leases elects the scheduler.
CREATE TABLE schedules (
    id           text PRIMARY KEY,
    definition   text NOT NULL,
    paused       boolean NOT NULL DEFAULT false,
    since        timestamptz NOT NULL,
    last_slot    timestamptz,
    last_at      timestamptz,
    last_task_id uuid
);

CREATE TABLE schedule_slots (
    schedule_id text NOT NULL,
    slot        timestamptz NOT NULL,
    claimed_at  timestamptz NOT NULL,
    task_id     uuid,
    PRIMARY KEY (schedule_id, slot)
);

CREATE TABLE leases (
    name       text PRIMARY KEY,
    holder     text NOT NULL,
    expires_at timestamptz NOT NULL
);
