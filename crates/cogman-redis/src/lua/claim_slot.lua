-- Claims a slot of a schedule, once. KEYS[1]: the schedule's claimed slots (a zset of slot
-- times in ms); KEYS[2]: the schedule's hash. ARGV[1]: the slot (ms); ARGV[2]: now (ms);
-- ARGV[3]: how long claims are kept behind the newest one (ms).
-- Returns 1 for the first claim of the slot, 0 for every later one and for a schedule that
-- does not exist (removed meanwhile: nothing of it is sent).
if redis.call('EXISTS', KEYS[2]) == 0 then
  return 0
end
if redis.call('ZADD', KEYS[1], 'NX', ARGV[1], ARGV[1]) == 0 then
  return 0
end
local slot = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (slot - tonumber(ARGV[3])))
-- An older slot claimed late does not become the last run.
local last = redis.call('HGET', KEYS[2], 'last_slot')
if not last or tonumber(last) < slot then
  redis.call('HSET', KEYS[2], 'last_slot', ARGV[1], 'last_at', ARGV[2])
  redis.call('HDEL', KEYS[2], 'last_task')
end
return 1
