-- Appends a history note to a task hash: field 'note:<n>' holds '<state> <entry JSON>', the
-- state being the task's status now, and field 'notes' counts them. Nothing is written when the
-- task has no record (so no hash without a TTL is created) or already holds ARGV[1] notes.
-- KEYS[1]: the task hash. ARGV[1]: most notes a task keeps. ARGV[2]: the entry (JSON).
-- Returns 'added', 'full' or 'missing'.
local status = redis.call('HGET', KEYS[1], 'status')
if not status then
  return 'missing'
end
local held = tonumber(redis.call('HGET', KEYS[1], 'notes') or '0')
if held >= tonumber(ARGV[1]) then
  return 'full'
end
held = held + 1
redis.call('HSET', KEYS[1], 'notes', held, 'note:' .. held, status .. ' ' .. ARGV[2])
return 'added'
