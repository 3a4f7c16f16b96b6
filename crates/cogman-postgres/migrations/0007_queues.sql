-- cogman task log, version 7: named queues.
--
-- Every task carries the named queue it was sent to (rows written before read as 'default'),
-- and every worker heartbeat the queues that worker serves. create_tasks takes the queue as
-- one more array.
ALTER TABLE tasks ADD COLUMN queue text NOT NULL DEFAULT 'default';
CREATE INDEX tasks_queue ON tasks (queue, created_at DESC, id DESC);
ALTER TABLE workers ADD COLUMN queues text[] NOT NULL DEFAULT ARRAY['default'];

DROP FUNCTION create_tasks(uuid[], text[], bytea[], text[], bigint[], bigint[], uuid[], text[],
                           text[], text[], bytea[], double precision[], timestamptz[],
                           timestamptz[], timestamptz[], bigint[], text[]);

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
    p_workflow text[],
    p_queue text[]
) RETURNS TABLE (ord integer, outcome text)
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
BEGIN
    FOR i IN 1 .. coalesce(array_length(p_id, 1), 0) LOOP
        ord := i;
        INSERT INTO tasks AS t (id, name, payload, priority, retry, attempt, original_task_id,
                                primary_key, status, fail_error, result, duration, created_at,
                                updated_at, run_at, timeout_ms, workflow, queue)
        VALUES (p_id[i], p_name[i], p_payload[i], p_priority[i], p_retry[i], p_attempt[i],
                p_original[i], p_primary_key[i], p_status[i], p_fail_error[i], p_result[i],
                p_duration[i], p_created_at[i], p_updated_at[i], p_run_at[i], p_timeout_ms[i],
                p_workflow[i]::jsonb, p_queue[i])
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
