-- Pauses (ARGV[1] = '1') or resumes ('0') a schedule; resuming a paused one moves its
-- `since` to ARGV[2] (now, ms), so slots passed while paused are never sent.
-- KEYS[1]: the schedule's hash. Returns 0 when there is no such schedule, else 1.
local was = redis.call('HGET', KEYS[1], 'paused')
if not was then
  return 0
end
if was == '1' and ARGV[1] == '0' then
  redis.call('HSET', KEYS[1], 'since', ARGV[2])
end
redis.call('HSET', KEYS[1], 'paused', ARGV[1])
return 1
