-- Deletes the records of the given tasks that are in a final state, and drops index entries
-- whose record has already expired.
-- ARGV[1] index prefix, ARGV[2] task key prefix, ARGV[3..] ids.
-- Returns the number of records deleted.
local prefix, task_prefix = ARGV[1], ARGV[2]
local deleted = 0
for i = 3, #ARGV do
  local id = ARGV[i]
  local task = task_prefix .. id
  local record = redis.call('HMGET', task, 'status', 'name', 'primary_key', 'original_task_id')
  local state = record[1]
  if not state then
    redis.call('ZREM', prefix .. 'all', id)
    for name, _ in pairs(RANK) do
      redis.call('ZREM', status_index(prefix, name), id)
    end
  elseif RANK[state] == RANK.success then
    redis.call('DEL', task)
    redis.call('ZREM', prefix .. 'all', id)
    redis.call('ZREM', status_index(prefix, state), id)
    redis.call('ZREM', prefix .. 'name:' .. record[2], id)
    -- Only retries are in an original-task index (and only they store original_task_id).
    if record[4] then
      redis.call('ZREM', prefix .. 'original:' .. record[4], id)
    end
    if record[3] then
      redis.call('ZREM', prefix .. 'pk:' .. record[3], id)
    end
    deleted = deleted + 1
  end
end
return deleted
