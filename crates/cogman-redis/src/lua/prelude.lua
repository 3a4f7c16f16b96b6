-- Shared by every task script (the Rust side prepends it).
--
-- Progress rank of each state. It mirrors TaskState::rank in cogman-core; a unit test in
-- scripts.rs checks every entry against the Rust function. A state may only be replaced by
-- one of a higher rank, so a task never goes backwards whatever order writes arrive in.
local RANK = {
  initiated = 0,
  scheduled = 1,
  queued = 2,
  in_progress = 3,
  retry = 4,
  success = 4,
  failed = 4,
  cancelled = 4,
}

-- Index key names; they mirror keys.rs (tested there).
local function status_index(prefix, state)
  return prefix .. 'status:' .. state
end

-- Appends a JSON state change to a task's history, keeps the newest `cap`, refreshes the TTL.
local function push_history(history, entry, cap, ttl)
  redis.call('RPUSH', history, entry)
  redis.call('LTRIM', history, -cap, -1)
  redis.call('EXPIRE', history, ttl)
end

-- Moves the task at `task` from state `current` to `new` if that advances it. ARGV[from..to]
-- holds extra field/value pairs to store with an advance (fail_error, result, duration).
-- Returns {'applied'}, {'unchanged'} or {'stale', current}.
local function advance(task, history, prefix, id, current, new, at, ttl, entry, cap, from, to)
  if current == new then
    return {'unchanged'}
  end
  local current_rank, new_rank = RANK[current], RANK[new]
  if current_rank == nil then
    return redis.error_reply('corrupt record: unknown state ' .. current)
  end
  if new_rank == nil then
    return redis.error_reply('unknown state ' .. new)
  end
  if new_rank <= current_rank then
    return {'stale', current}
  end
  local fields = {'status', new, 'updated_at', at}
  for i = from, to, 2 do
    fields[#fields + 1] = ARGV[i]
    fields[#fields + 1] = ARGV[i + 1]
  end
  redis.call('HSET', task, unpack(fields))
  redis.call('EXPIRE', task, ttl)
  local score = redis.call('HGET', task, 'created_us')
  redis.call('ZREM', status_index(prefix, current), id)
  local target = status_index(prefix, new)
  redis.call('ZADD', target, score, id)
  redis.call('EXPIRE', target, 2 * ttl)
  push_history(history, entry, cap, ttl)
  return {'applied'}
end
