-- Deletes the records of the given tasks that are in a final state, unless another attempt of
-- the same task (same original) still waits or runs, and drops index entries whose record has
-- already expired.
-- A deleted retry's claim on its attempt number goes too (when it still holds it).
-- ARGV[1] index prefix, ARGV[2] task key prefix, ARGV[3] attempt key prefix, ARGV[4..] ids.
-- Returns the number of records deleted.
local prefix, task_prefix, attempt_prefix = ARGV[1], ARGV[2], ARGV[3]
local deleted = 0

-- True when an attempt of the chain whose first attempt is `original` has not finished.
local function chain_unfinished(original)
  local first = redis.call('HGET', task_prefix .. original, 'status')
  if first and RANK[first] < RANK.success then
    return true
  end
  for _, other in ipairs(redis.call('ZRANGE', prefix .. 'original:' .. original, 0, -1)) do
    local state = redis.call('HGET', task_prefix .. other, 'status')
    if state and RANK[state] < RANK.success then
      return true
    end
  end
  return false
end

for i = 4, #ARGV do
  local id = ARGV[i]
  local task = task_prefix .. id
  local record = redis.call('HMGET', task, 'status', 'name', 'primary_key', 'original_task_id',
    'attempt')
  local state = record[1]
  if not state then
    redis.call('ZREM', prefix .. 'all', id)
    for name, _ in pairs(RANK) do
      redis.call('ZREM', status_index(prefix, name), id)
    end
  elseif RANK[state] == RANK.success and not chain_unfinished(record[4] or id) then
    redis.call('DEL', task)
    redis.call('ZREM', prefix .. 'all', id)
    redis.call('ZREM', status_index(prefix, state), id)
    redis.call('ZREM', prefix .. 'name:' .. record[2], id)
    -- Only retries are in an original-task index (and only they store original_task_id).
    if record[4] then
      redis.call('ZREM', prefix .. 'original:' .. record[4], id)
      local claim = attempt_prefix .. record[4] .. ':' .. (record[5] or '0')
      if redis.call('GET', claim) == id then
        redis.call('DEL', claim)
      end
    end
    if record[3] then
      redis.call('ZREM', prefix .. 'pk:' .. record[3], id)
    end
    deleted = deleted + 1
  end
end
return deleted
