-- Deletes the records of the given tasks that are in a final state, and drops index entries
-- whose record has already expired.
-- ARGV[1] index prefix, ARGV[2] task key prefix, ARGV[3] history key prefix, ARGV[4..] ids.
-- Returns the number of records deleted.
local prefix, task_prefix, history_prefix = ARGV[1], ARGV[2], ARGV[3]
local deleted = 0
for i = 4, #ARGV do
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
    redis.call('DEL', task, history_prefix .. id)
    redis.call('ZREM', prefix .. 'all', id)
    redis.call('ZREM', status_index(prefix, state), id)
    redis.call('ZREM', prefix .. 'name:' .. record[2], id)
    redis.call('ZREM', prefix .. 'original:' .. record[4], id)
    if record[3] then
      redis.call('ZREM', prefix .. 'pk:' .. record[3], id)
    end
    deleted = deleted + 1
  end
end
return deleted
