-- cogman task log, version 1: tasks, their state changes, worker heartbeats, and the
-- functions that apply writes under the transition rule. Runs with search_path set to the
-- configured schema, inside the migration transaction.

-- Progress rank of each state. Mirrors TaskState::rank in cogman-core; a test checks every
-- pair of states against the Rust rule. NULL for an unknown state.
CREATE FUNCTION task_state_rank(state text) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT CASE state
        WHEN 'initiated' THEN 0
        WHEN 'scheduled' THEN 1
        WHEN 'queued' THEN 2
        WHEN 'in_progress' THEN 3
        WHEN 'retry' THEN 4
        WHEN 'success' THEN 4
        WHEN 'failed' THEN 4
        WHEN 'cancelled' THEN 4
    END
$$;

CREATE TABLE tasks (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    payload bytea NOT NULL,
    priority text NOT NULL CHECK (priority IN ('High', 'Low')),
    retry bigint NOT NULL,
    attempt bigint NOT NULL,
    original_task_id uuid NOT NULL,
    primary_key text,
    status text NOT NULL CHECK (task_state_rank(status) IS NOT NULL),
    fail_error text,
    result bytea,
    duration double precision,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    run_at timestamptz,
    timeout_ms bigint,
    workflow jsonb,
    -- Outbox lease: a client re-enqueuing this initiated task owns it until then.
    claimed_until timestamptz
);

-- Listing order is (created_at DESC, id DESC); one index per filter that lists use.
CREATE INDEX tasks_created ON tasks (created_at DESC, id DESC);
CREATE INDEX tasks_status_created ON tasks (status, created_at DESC, id DESC);
CREATE INDEX tasks_name_created ON tasks (name, created_at DESC, id DESC);
CREATE INDEX tasks_primary_key_created ON tasks (primary_key, created_at DESC, id DESC)
    WHERE primary_key IS NOT NULL;
CREATE INDEX tasks_original_created ON tasks (original_task_id, created_at DESC, id DESC);
-- The outbox scans initiated tasks in id order.
CREATE INDEX tasks_unpublished ON tasks (id) WHERE status = 'initiated';

-- Every applied change of every task (the creation included), in order.
CREATE TABLE task_events (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_id uuid NOT NULL,
    status text NOT NULL,
    at timestamptz NOT NULL,
    error text,
    result bytea,
    duration double precision,
    worker text
);
CREATE INDEX task_events_task ON task_events (task_id, seq);

CREATE TABLE workers (
    id text PRIMARY KEY,
    host text NOT NULL,
    pid bigint NOT NULL,
    concurrency bigint NOT NULL,
    in_flight bigint NOT NULL,
    handlers text[] NOT NULL,
    started_at timestamptz NOT NULL,
    last_heartbeat timestamptz NOT NULL
);
CREATE INDEX workers_last_heartbeat ON workers (last_heartbeat);

-- Applies state changes in array order, each under the rule: the UPDATE only matches when
-- the new state's rank is higher, and an applied change is appended to task_events. One call
-- is one transaction, so a batch of changes costs one round trip and one commit.
-- Returns, per change: 'applied', 'unchanged', 'stale' (with the state kept) or 'missing'.
CREATE FUNCTION record_changes(
    p_task uuid[],
    p_status text[],
    p_at timestamptz[],
    p_error text[],
    p_result bytea[],
    p_duration double precision[],
    p_worker text[]
) RETURNS TABLE (ord integer, outcome text, current_status text)
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
DECLARE
    kept text;
BEGIN
    FOR i IN 1 .. coalesce(array_length(p_task, 1), 0) LOOP
        ord := i;
        UPDATE tasks
        SET status = p_status[i],
            updated_at = p_at[i],
            fail_error = coalesce(p_error[i], fail_error),
            result = coalesce(p_result[i], result),
            duration = coalesce(p_duration[i], duration)
        WHERE id = p_task[i]
          AND task_state_rank(status) < task_state_rank(p_status[i]);
        IF FOUND THEN
            INSERT INTO task_events (task_id, status, at, error, result, duration, worker)
            VALUES (p_task[i], p_status[i], p_at[i], p_error[i], p_result[i], p_duration[i],
                    p_worker[i]);
            outcome := 'applied';
            current_status := p_status[i];
        ELSE
            SELECT status INTO kept FROM tasks WHERE id = p_task[i];
            IF NOT FOUND THEN
                outcome := 'missing';
                current_status := NULL;
            ELSIF kept = p_status[i] THEN
                outcome := 'unchanged';
                current_status := kept;
            ELSE
                outcome := 'stale';
                current_status := kept;
            END IF;
        END IF;
        RETURN NEXT;
    END LOOP;
END
$$;

-- Inserts tasks, or advances existing ones under the rule (insert-or-advance), in array
-- order; every insert or advance is appended to task_events.
-- Returns, per task: 'applied' or 'unchanged'.
CREATE FUNCTION create_tasks(
    p_id uuid[],
    p_name text[],
    p_payload bytea[],
    p_priority text[],
    p_retry bigint[],
    p_attempt bigint[],
    p_original uuid[],
    p_primary_key text[],
    p_status text[],
    p_fail_error text[],
    p_result bytea[],
    p_duration double precision[],
    p_created_at timestamptz[],
    p_updated_at timestamptz[],
    p_run_at timestamptz[],
    p_timeout_ms bigint[],
    p_workflow text[]
) RETURNS TABLE (ord integer, outcome text)
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
BEGIN
    FOR i IN 1 .. coalesce(array_length(p_id, 1), 0) LOOP
        ord := i;
        INSERT INTO tasks AS t (id, name, payload, priority, retry, attempt, original_task_id,
                                primary_key, status, fail_error, result, duration, created_at,
                                updated_at, run_at, timeout_ms, workflow)
        VALUES (p_id[i], p_name[i], p_payload[i], p_priority[i], p_retry[i], p_attempt[i],
                p_original[i], p_primary_key[i], p_status[i], p_fail_error[i], p_result[i],
                p_duration[i], p_created_at[i], p_updated_at[i], p_run_at[i], p_timeout_ms[i],
                p_workflow[i]::jsonb)
        ON CONFLICT (id) DO UPDATE
        SET status = excluded.status,
            updated_at = excluded.updated_at,
            fail_error = coalesce(excluded.fail_error, t.fail_error),
            result = coalesce(excluded.result, t.result),
            duration = coalesce(excluded.duration, t.duration)
        WHERE task_state_rank(t.status) < task_state_rank(excluded.status);
        IF FOUND THEN
            INSERT INTO task_events (task_id, status, at, error, result, duration)
            VALUES (p_id[i], p_status[i], p_updated_at[i], p_fail_error[i], p_result[i],
                    p_duration[i]);
            outcome := 'applied';
        ELSE
            outcome := 'unchanged';
        END IF;
        RETURN NEXT;
    END LOOP;
END
$$;
