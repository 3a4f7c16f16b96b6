-- Inserts a task record, or advances the stored one (insert-or-advance).
-- KEYS[1] task hash, KEYS[2] history list.
-- ARGV[1] index prefix, ARGV[2] id, ARGV[3] state, ARGV[4] updated_at, ARGV[5] ttl (s),
-- ARGV[6] history entry (JSON), ARGV[7] history cap, ARGV[8] created_us (index score),
-- ARGV[9] name, ARGV[10] primary key ('' for none), ARGV[11] original task id,
-- ARGV[12] n = number of field/value pairs of the full record, ARGV[13 .. 12+2n] those pairs,
-- then field/value pairs to store if an existing record is advanced.
-- Returns {'created'} or what advance returns.
local task, history, prefix, id = KEYS[1], KEYS[2], ARGV[1], ARGV[2]
local state, ttl, score = ARGV[3], tonumber(ARGV[5]), ARGV[8]
local pairs_end = 12 + 2 * tonumber(ARGV[12])
local current = redis.call('HGET', task, 'status')
if current then
  return advance(task, history, prefix, id, current, state, ARGV[4], ttl, ARGV[6],
    tonumber(ARGV[7]), pairs_end + 1, #ARGV)
end
if RANK[state] == nil then
  return redis.error_reply('unknown state ' .. state)
end
local fields = {}
for i = 13, pairs_end, 2 do
  fields[#fields + 1] = ARGV[i]
  fields[#fields + 1] = ARGV[i + 1]
end
redis.call('HSET', task, unpack(fields))
redis.call('EXPIRE', task, ttl)
local indexes = {prefix .. 'all', status_index(prefix, state), prefix .. 'name:' .. ARGV[9],
  prefix .. 'original:' .. ARGV[11]}
if ARGV[10] ~= '' then
  indexes[#indexes + 1] = prefix .. 'pk:' .. ARGV[10]
end
for _, index in ipairs(indexes) do
  redis.call('ZADD', index, score, id)
  redis.call('EXPIRE', index, 2 * ttl)
end
push_history(history, ARGV[6], tonumber(ARGV[7]), ttl)
return {'created'}
