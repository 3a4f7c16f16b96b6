-- cogman task log, version 4: record_changes also takes changes that were held back
-- (TaskLog::record_behind) and merges them into a later change of the same task: the row is
-- written once, with the last change that applies, and every change that applies is appended
-- to task_events in order. Applying a merged change gives the same row, history and answer as
-- applying its earlier changes and then itself one call after the other.
--
-- The earlier changes come in the p_prior_* arrays, in order; p_prior_of[j] is the position
-- (1-based) in p_task of the change that prior j precedes, and the arrays are sorted by it.
-- A change with no prior takes the single-UPDATE path of version 3.
DROP FUNCTION record_changes(uuid[], text[], smallint[], timestamptz[], text[], bytea[],
                             double precision[], text[]);

CREATE FUNCTION record_changes(
    p_task uuid[],
    p_status text[],
    p_rank smallint[],
    p_at timestamptz[],
    p_error text[],
    p_result bytea[],
    p_duration double precision[],
    p_worker text[],
    p_prior_of integer[],
    p_prior_status text[],
    p_prior_rank smallint[],
    p_prior_at timestamptz[],
    p_prior_error text[],
    p_prior_result bytea[],
    p_prior_duration double precision[],
    p_prior_worker text[]
) RETURNS TABLE (ord integer, outcome text, current_status text)
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
DECLARE
    kept text;
    kept_rank smallint;
    j integer := 1;
    priors integer := coalesce(array_length(p_prior_of, 1), 0);
    moved boolean;
    m_at timestamptz;
    m_error text;
    m_result bytea;
    m_duration double precision;
BEGIN
    FOR i IN 1 .. coalesce(array_length(p_task, 1), 0) LOOP
        ord := i;
        IF j > priors OR p_prior_of[j] <> i THEN
            UPDATE tasks
            SET status = p_status[i],
                updated_at = p_at[i],
                fail_error = coalesce(p_error[i], fail_error),
                result = coalesce(p_result[i], result),
                duration = coalesce(p_duration[i], duration)
            WHERE id = p_task[i] AND status_rank < p_rank[i];
            IF FOUND THEN
                INSERT INTO task_events (task_id, status, at, error, result, duration, worker)
                VALUES (p_task[i], p_status[i], p_at[i], p_error[i], p_result[i],
                        p_duration[i], p_worker[i]);
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
        ELSE
            SELECT status, status_rank INTO kept, kept_rank
            FROM tasks WHERE id = p_task[i] FOR UPDATE;
            IF NOT FOUND THEN
                WHILE j <= priors AND p_prior_of[j] = i LOOP
                    j := j + 1;
                END LOOP;
                outcome := 'missing';
                current_status := NULL;
            ELSE
                moved := false;
                m_error := NULL;
                m_result := NULL;
                m_duration := NULL;
                WHILE j <= priors AND p_prior_of[j] = i LOOP
                    IF p_prior_rank[j] > kept_rank THEN
                        INSERT INTO task_events (task_id, status, at, error, result, duration,
                                                 worker)
                        VALUES (p_task[i], p_prior_status[j], p_prior_at[j], p_prior_error[j],
                                p_prior_result[j], p_prior_duration[j], p_prior_worker[j]);
                        kept := p_prior_status[j];
                        kept_rank := p_prior_rank[j];
                        m_at := p_prior_at[j];
                        m_error := coalesce(p_prior_error[j], m_error);
                        m_result := coalesce(p_prior_result[j], m_result);
                        m_duration := coalesce(p_prior_duration[j], m_duration);
                        moved := true;
                    END IF;
                    j := j + 1;
                END LOOP;
                IF p_rank[i] > kept_rank THEN
                    INSERT INTO task_events (task_id, status, at, error, result, duration, worker)
                    VALUES (p_task[i], p_status[i], p_at[i], p_error[i], p_result[i],
                            p_duration[i], p_worker[i]);
                    kept := p_status[i];
                    m_at := p_at[i];
                    m_error := coalesce(p_error[i], m_error);
                    m_result := coalesce(p_result[i], m_result);
                    m_duration := coalesce(p_duration[i], m_duration);
                    moved := true;
                    outcome := 'applied';
                ELSIF kept = p_status[i] THEN
                    outcome := 'unchanged';
                ELSE
                    outcome := 'stale';
                END IF;
                current_status := kept;
                IF moved THEN
                    UPDATE tasks
                    SET status = kept,
                        updated_at = m_at,
                        fail_error = coalesce(m_error, fail_error),
                        result = coalesce(m_result, result),
                        duration = coalesce(m_duration, duration)
                    WHERE id = p_task[i];
                END IF;
            END IF;
        END IF;
        RETURN NEXT;
    END LOOP;
END
$$;
