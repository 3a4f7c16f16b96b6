-- cogman task log, version 3: writes applied set-wise, with no function call per row.
--
-- Versions 1-2 applied a batch in a PL/pgSQL loop, one UPDATE/INSERT per write, and called
-- the PL/pgSQL task_state_rank() three times per write (twice in the WHERE, once in the CHECK
-- constraint); those calls were most of the cost of a write. Now:
-- - tasks.status_rank is a stored generated column (a plain CASE, evaluated when a row is
--   written; it replaces task_state_rank()), and the CHECK only asks that it is known;
-- - record_changes and create_tasks apply the whole batch with one statement each, comparing
--   status_rank with the rank of the new state: the one the caller passes to record_changes
--   (cogman-core's TaskState::rank; a test checks the column against it for every state), the
--   generated one of the proposed row in create_tasks. A batch must name each task at most once: the
--   caller splits changes of one task over successive calls, in order.
-- Both plan their statements afresh on each call (plan_cache_mode): a plan cached while the
-- table was nearly empty scans it whole, which made a run that starts on a fresh schema
-- slower with every batch (measured: 20,000 tasks x 4 writes took 10.2 s with cached plans,
-- 5.0 s planned per call, 5.8 s with the version 2 functions).
-- Callers sort each batch by task id, so concurrent batches usually lock rows in the same
-- order; if the planner picks another order and two batches deadlock, PostgreSQL aborts one
-- and the writer retries it (a deadlock is a transient error).

ALTER TABLE tasks
    ADD COLUMN status_rank smallint GENERATED ALWAYS AS (
        CASE status
            WHEN 'initiated' THEN 0
            WHEN 'scheduled' THEN 1
            WHEN 'queued' THEN 2
            WHEN 'in_progress' THEN 3
            WHEN 'retry' THEN 4
            WHEN 'success' THEN 4
            WHEN 'failed' THEN 4
            WHEN 'cancelled' THEN 4
        END
    ) STORED;
ALTER TABLE tasks DROP CONSTRAINT tasks_status_check;
ALTER TABLE tasks ADD CONSTRAINT tasks_status_known CHECK (status_rank IS NOT NULL);
DROP FUNCTION task_state_rank(text);

-- First attempts are their own original (original_task_id = id), so the attempts of a task
-- are that row (found by primary key) plus the later attempts, the only rows this index keeps:
-- a state change of a first attempt no longer adds an entry to it.
DROP INDEX tasks_original_created;
CREATE INDEX tasks_later_attempts ON tasks (original_task_id, created_at DESC, id DESC)
    WHERE original_task_id <> id;

DROP FUNCTION record_changes(uuid[], text[], timestamptz[], text[], bytea[],
                             double precision[], text[]);
DROP FUNCTION create_tasks(uuid[], text[], bytea[], text[], bigint[], bigint[], uuid[], text[],
                           text[], text[], bytea[], double precision[], timestamptz[],
                           timestamptz[], timestamptz[], bigint[], text[]);

-- Applies state changes (at most one per task) under the rule: a row is updated only when the
-- new rank is higher, and each applied change is appended to task_events.
-- Returns, per change in array order: 'applied', 'unchanged', 'stale' (with the state kept)
-- or 'missing'.
CREATE FUNCTION record_changes(
    p_task uuid[],
    p_status text[],
    p_rank smallint[],
    p_at timestamptz[],
    p_error text[],
    p_result bytea[],
    p_duration double precision[],
    p_worker text[]
) RETURNS TABLE (ord integer, outcome text, current_status text)
LANGUAGE plpgsql
SET search_path FROM CURRENT
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    applied uuid[];
BEGIN
    WITH input AS (
        SELECT *
        FROM unnest(p_task, p_status, p_rank, p_at, p_error, p_result, p_duration, p_worker)
            AS i(task, status, rank, at, error, result, duration, worker)
    ), advanced AS (
        UPDATE tasks AS t
        SET status = i.status,
            updated_at = i.at,
            fail_error = coalesce(i.error, t.fail_error),
            result = coalesce(i.result, t.result),
            duration = coalesce(i.duration, t.duration)
        FROM input AS i
        WHERE t.id = i.task AND t.status_rank < i.rank
        RETURNING i.*
    ), logged AS (
        INSERT INTO task_events (task_id, status, at, error, result, duration, worker)
        SELECT task, status, at, error, result, duration, worker FROM advanced
        RETURNING task_id
    )
    SELECT coalesce(array_agg(task_id), '{}') INTO applied FROM logged;

    RETURN QUERY
    SELECT i.ord::integer,
           CASE
               WHEN a.id IS NOT NULL THEN 'applied'
               WHEN t.id IS NULL THEN 'missing'
               WHEN t.status = i.status THEN 'unchanged'
               ELSE 'stale'
           END,
           t.status
    FROM unnest(p_task, p_status) WITH ORDINALITY AS i(task, status, ord)
    LEFT JOIN unnest(applied) AS a(id) ON a.id = i.task
    LEFT JOIN tasks AS t ON t.id = i.task
    ORDER BY i.ord;
END
$$;

-- Inserts tasks, or advances existing ones under the rule (insert-or-advance), at most one
-- per task; every insert or advance is appended to task_events.
-- Returns, per task in array order: 'applied' or 'unchanged'.
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
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    applied uuid[];
BEGIN
    WITH input AS (
        SELECT *
        FROM unnest(p_id, p_name, p_payload, p_priority, p_retry, p_attempt, p_original,
                    p_primary_key, p_status, p_fail_error, p_result, p_duration,
                    p_created_at, p_updated_at, p_run_at, p_timeout_ms, p_workflow)
            AS i(id, name, payload, priority, retry, attempt, original, primary_key, status,
                 fail_error, result, duration, created_at, updated_at, run_at, timeout_ms,
                 workflow)
    ), written AS (
        INSERT INTO tasks AS t (id, name, payload, priority, retry, attempt, original_task_id,
                                primary_key, status, fail_error, result, duration, created_at,
                                updated_at, run_at, timeout_ms, workflow)
        SELECT id, name, payload, priority, retry, attempt, original, primary_key, status,
               fail_error, result, duration, created_at, updated_at, run_at, timeout_ms,
               workflow::jsonb
        FROM input
        ORDER BY id
        ON CONFLICT (id) DO UPDATE
        SET status = excluded.status,
            updated_at = excluded.updated_at,
            fail_error = coalesce(excluded.fail_error, t.fail_error),
            result = coalesce(excluded.result, t.result),
            duration = coalesce(excluded.duration, t.duration)
        WHERE t.status_rank < excluded.status_rank
        RETURNING t.id
    ), logged AS (
        INSERT INTO task_events (task_id, status, at, error, result, duration)
        SELECT i.id, i.status, i.updated_at, i.fail_error, i.result, i.duration
        FROM input AS i JOIN written AS w ON w.id = i.id
        RETURNING task_id
    )
    SELECT coalesce(array_agg(task_id), '{}') INTO applied FROM logged;

    RETURN QUERY
    SELECT i.ord::integer,
           CASE WHEN a.id IS NOT NULL THEN 'applied' ELSE 'unchanged' END
    FROM unnest(p_id) WITH ORDINALITY AS i(id, ord)
    LEFT JOIN unnest(applied) AS a(id) ON a.id = i.id
    ORDER BY i.ord;
END
$$;
