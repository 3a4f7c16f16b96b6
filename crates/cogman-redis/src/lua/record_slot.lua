-- Records the task sent for a claimed slot, if that slot is still the schedule's last run.
-- KEYS[1]: the schedule's hash; ARGV[1]: the slot (ms); ARGV[2]: the task id.
-- Returns 1 when recorded.
if redis.call('HGET', KEYS[1], 'last_slot') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'last_task', ARGV[2])
  return 1
end
return 0
