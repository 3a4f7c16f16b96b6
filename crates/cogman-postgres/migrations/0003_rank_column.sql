-- cogman task log, version 3: no function call per written row, and one index fewer to update.
--
-- Versions 1-2 called the PL/pgSQL task_state_rank() three times per write (twice in the
-- WHERE, once in the CHECK constraint). Now tasks.status_rank is a stored generated column (a
-- plain CASE, evaluated when a row is written; it replaces task_state_rank()), the CHECK only
-- asks that it is known, and record_changes/create_tasks compare status_rank with the rank of
-- the new state: the one the caller passes to record_changes (cogman-core's TaskState::rank; a
-- test checks the column against it for every state), the generated one of the proposed row
-- in create_tasks.
--
-- The functions still apply a batch row by row, in array order: set-wise statements (one
-- UPDATE ... FROM unnest(...) per batch) were faster on batches of 50 in isolation, but slower
-- in cogman's pipeline, where batches are small and such a statement must be planned on each
-- call (a plan cached while the table was nearly empty scans it whole).
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

-- Applies state changes in array order, each under the rule: the UPDATE only matches when
-- the new state's rank (p_rank) is higher, and an applied change is appended to task_events.
-- Returns, per change: 'applied', 'unchanged', 'stale' (with the state kept) or 'missing'.
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
        WHERE id = p_task[i] AND status_rank < p_rank[i];
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
        WHERE t.status_rank < excluded.status_rank;
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
