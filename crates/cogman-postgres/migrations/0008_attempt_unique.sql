-- cogman task log, version 8: a chain's attempt numbers are unique, so of two manual retries
-- racing to create attempt N + 1 exactly one is stored (the other's create_tasks call fails on
-- this index and the writer answers it with the record that has the number).
--
-- Before this version two racing retries could both create the same number. Such copies are
-- renumbered first, after the chain's highest attempt, in creation (id) order, so the index can
-- be built; every other record keeps its number.
WITH ranked AS (
    SELECT id, original_task_id,
           row_number() OVER (PARTITION BY original_task_id, attempt ORDER BY id) AS copy
    FROM tasks
),
highest AS (
    SELECT original_task_id, max(attempt) AS top FROM tasks GROUP BY original_task_id
),
moved AS (
    SELECT r.id,
           h.top + row_number() OVER (PARTITION BY r.original_task_id ORDER BY r.id) AS attempt
    FROM ranked r JOIN highest h ON h.original_task_id = r.original_task_id
    WHERE r.copy > 1
)
UPDATE tasks SET attempt = moved.attempt FROM moved WHERE tasks.id = moved.id;

CREATE UNIQUE INDEX tasks_attempt ON tasks (original_task_id, attempt);
