-- cogman task log, version 2: task_state_rank in PL/pgSQL instead of SQL. A SQL function is
-- inlined into every expression that calls it, and inlining parses its body again each time
-- a statement is planned or a CHECK constraint is prepared: inside record_changes and
-- create_tasks that is once per row, and it made up most of their cost (measured: 20,000
-- state changes in batches of 50 took 3.0-3.3 s with the SQL body, 1.4 s with this one).
-- Same results: the rank of each state, NULL for an unknown one (or NULL).
CREATE OR REPLACE FUNCTION task_state_rank(state text) RETURNS integer
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
AS $$
BEGIN
    RETURN CASE state
        WHEN 'initiated' THEN 0
        WHEN 'scheduled' THEN 1
        WHEN 'queued' THEN 2
        WHEN 'in_progress' THEN 3
        WHEN 'retry' THEN 4
        WHEN 'success' THEN 4
        WHEN 'failed' THEN 4
        WHEN 'cancelled' THEN 4
    END;
END
$$;
