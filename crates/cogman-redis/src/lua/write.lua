-- Applies a batch of writes (creates and state changes) atomically and answers each one.
-- Writes come grouped by task, each group in submission order. A group reads its record once
-- (HMGET), checks the rule write by write, stores each applied write with one HSET, and then
-- sets the record's TTL once. Index changes are gathered over the whole batch: one ZREM and
-- one ZADD per index key with every member moved, and the key's TTL set once. A failure (a key
-- of the wrong type, say) fails only the writes it concerns.
--
-- History lives in the task hash: the change that brought the task to state s is the field
-- 'history:<s>'. The rule only ever raises the rank, so a task holds at most one entry per
-- rank, and ordering them by rank orders them in time.
--
-- ARGV[1] task key prefix, ARGV[2] index prefix, ARGV[3] ttl (s), then the groups, each a task
-- id followed by its writes. Arguments are read by what they are, so no counts are sent: a
-- write starts with 'c' (a create) or a state (a change), anything else starts the next group.
--   create: 'c', state, updated_at, history entry (JSON), created_us (index score), name,
--           primary key ('' for none), original task id, n, then n field/value pairs of the
--           new record besides those filled from the arguments before (name, status,
--           created_us); if the record exists, only its outcome pairs (OUTCOME_FIELDS) are
--           stored with the advance
--   change: state, updated_at, history entry (JSON), then outcome pairs: field/value pairs
--           as long as the field is one of OUTCOME_FIELDS
-- OUTCOME_FIELDS (fail_error, result, duration) is defined before this by the Rust side. Field
-- names, states, 'c' and task ids never collide, and values are never read as names.
-- Returns one string per write, in the order sent: 'created', 'applied', 'unchanged',
-- 'missing', 'stale:<current state>', 'corrupt:<reason>' or 'error:<message>'.

-- Globals read once: every global read is a table lookup in Redis's Lua.
local argv, call, unpack, tonumber = ARGV, redis.call, unpack, tonumber
local task_prefix, prefix, ttl = argv[1], argv[2], argv[3]
local index_ttl = tostring(2 * tonumber(ttl))
local count = #argv
local replies = {}

-- Strings built once per batch: state -> its history field, state -> its index key.
local history_fields, status_keys = {}, {}
for state, _ in pairs(RANK) do
  history_fields[state] = 'history:' .. state
  status_keys[state] = status_index(prefix, state)
end
local all_key = prefix .. 'all'

-- The text of an error raised by redis.call (a table with `err` since Redis 7).
local function error_text(e)
  if type(e) == 'table' and e.err then
    return e.err
  end
  return tostring(e)
end

-- Whether a write starts at argv[at].
local function is_write(at)
  local word = argv[at]
  return word == 'c' or RANK[word] ~= nil
end

-- The write at argv[at]: whether it is a create, where its state is (updated_at and history
-- entry follow), where its field/value pairs start, and the position after it.
local function parse_write(at)
  if argv[at] == 'c' then
    local pairs_at = at + 9
    return true, at + 1, pairs_at, pairs_at + 2 * tonumber(argv[at + 8])
  end
  local after = at + 3
  while OUTCOME_FIELDS[argv[after]] do
    after = after + 2
  end
  return false, at, at + 3, after
end

-- Index changes of the whole batch: index key -> arguments (ids, after their score for ZADD).
local additions, removals = {}, {}

local function plan(plans, key, id, score)
  local args = plans[key]
  if not args then
    args = {}
    plans[key] = args
  end
  local size = #args
  if score then
    args[size + 1] = score
    args[size + 2] = id
  else
    args[size + 1] = id
  end
end

-- The answer to moving a task from state `current` to `new`: nil when the rule allows it.
local function refusal(current, new)
  if current == new then
    return 'unchanged'
  end
  local current_rank, new_rank = RANK[current], RANK[new]
  if current_rank == nil then
    return 'corrupt:unknown state ' .. current
  end
  if new_rank == nil then
    return 'error:unknown state ' .. new
  end
  if new_rank <= current_rank then
    return 'stale:' .. current
  end
  return nil
end

-- Stores the advance of the record at `key` to `state` by the write whose state is at argv[s]
-- and whose pairs are argv[from .. to]; a create keeps only its outcome pairs.
local function store_advance(key, state, s, create, from, to)
  if not create then
    return call('HSET', key, 'status', state, 'updated_at', argv[s + 1],
      history_fields[state], argv[s + 2], unpack(argv, from, to))
  end
  local fields = {'status', state, 'updated_at', argv[s + 1], history_fields[state], argv[s + 2]}
  for i = from, to, 2 do
    if OUTCOME_FIELDS[argv[i]] then
      fields[#fields + 1] = argv[i]
      fields[#fields + 1] = argv[i + 1]
    end
  end
  return call('HSET', key, unpack(fields))
end

-- Stores a new record for the create at argv[at] (state at argv[at + 1], pairs from..to).
local function store_new(key, at, from, to)
  return call('HSET', key, 'name', argv[at + 5], 'status', argv[at + 1], 'created_us',
    argv[at + 4], history_fields[argv[at + 1]], argv[at + 3], unpack(argv, from, to))
end

-- The writes of the group starting at argv[at]: the position after them and their number.
local function group_end(at)
  local w = 0
  while is_write(at) do
    local _, _, _, after = parse_write(at)
    at, w = after, w + 1
  end
  return at, w
end

-- Turns the answers replies[r + 1 .. r + w] into error `e`, except those that changed nothing.
local function fail(r, w, e)
  local failure = 'error:' .. error_text(e)
  for done = r + 1, r + w do
    local reply = replies[done]
    if reply == nil or reply == 'created' or reply == 'applied' then
      replies[done] = failure
    end
  end
end

-- Applies the writes of task `id` starting at argv[at]; their answers go to replies[r + 1 ..].
-- Returns the position after them and how many there were.
local function apply_group(id, at, r)
  local key = task_prefix .. id
  local stored = call('HMGET', key, 'status', 'created_us')
  local status, score = stored[1] or nil, stored[2] or nil
  local broken = status and not score and 'corrupt:the record has no created_us'
  local stored_status, created, w = status, nil, 0
  while is_write(at) do
    local create, s, from, after = parse_write(at)
    local state, reply = argv[s], nil
    if broken then
      reply = broken
    elseif status then
      reply = refusal(status, state)
      if not reply then
        store_advance(key, state, s, create, from, after - 1)
        status, reply = state, 'applied'
      end
    elseif not create then
      reply = 'missing'
    elseif RANK[state] == nil then
      reply = 'error:unknown state ' .. state
    else
      store_new(key, at, from, after - 1)
      status, score, created, reply = state, argv[at + 4], at, 'created'
    end
    w = w + 1
    replies[r + w] = reply
    at = after
  end
  if status == stored_status then
    return at, w
  end
  call('EXPIRE', key, ttl)
  if created then
    plan(additions, all_key, id, score)
    plan(additions, prefix .. 'name:' .. argv[created + 5], id, score)
    if argv[created + 6] ~= '' then
      plan(additions, prefix .. 'pk:' .. argv[created + 6], id, score)
    end
    -- A first attempt is its own original: it is found by its id, not in an index.
    local original = argv[created + 7]
    if original ~= id then
      plan(additions, prefix .. 'original:' .. original, id, score)
    end
  else
    plan(removals, status_keys[stored_status], id)
  end
  plan(additions, status_keys[status], id, score)
  return at, w
end

-- The group being applied: its position and the number of writes before it.
local at, r = 4, 0

-- Applies the groups from `at` on, moving `at` and `r` past each one done.
local function apply_groups()
  while at <= count do
    local after, w = apply_group(argv[at], at + 1, r)
    at, r = after, r + w
  end
end

-- Applies every group under one pcall; a group that fails (a key of the wrong type, say)
-- fails its writes alone, and the next group goes on.
while at <= count do
  local ok, e = pcall(apply_groups)
  if not ok then
    local after, w = group_end(at + 1)
    fail(r, w, e)
    at, r = after, r + w
  end
end

-- Runs `command` on each planned key, at most ARGS_PER_CALL arguments per call (Lua's unpack
-- has a limit; the number is even, so score/member pairs stay together), then `after` on it.
-- Returns the tasks whose index change failed (id -> error), or nil.
local ARGS_PER_CALL = 1000
local function run(command, plans, after, failed)
  for key, args in pairs(plans) do
    local ok, e = pcall(function()
      for from = 1, #args, ARGS_PER_CALL do
        call(command, key, unpack(args, from, math.min(from + ARGS_PER_CALL - 1, #args)))
      end
      if after then
        call(after, key, index_ttl)
      end
    end)
    if not ok then
      failed = failed or {}
      for i = 1, #args do
        failed[args[i]] = e
      end
    end
  end
  return failed
end

local failed = run('ZADD', additions, 'EXPIRE', run('ZREM', removals, nil, nil))
if failed then
  at, r = 4, 0
  while at <= count do
    local e = failed[argv[at]]
    local after, w = group_end(at + 1)
    if e then
      fail(r, w, e)
    end
    at, r = after, r + w
  end
end
return replies
