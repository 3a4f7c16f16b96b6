-- Applies one state change under the transition rule.
-- KEYS[1] task hash, KEYS[2] history list.
-- ARGV[1] index prefix, ARGV[2] id, ARGV[3] new state, ARGV[4] updated_at, ARGV[5] ttl (s),
-- ARGV[6] history entry (JSON), ARGV[7] history cap, ARGV[8..] field/value pairs to store.
-- Returns {'applied'}, {'unchanged'}, {'stale', current} or {'missing'}.
local current = redis.call('HGET', KEYS[1], 'status')
if not current then
  return {'missing'}
end
return advance(KEYS[1], KEYS[2], ARGV[1], ARGV[2], current, ARGV[3], ARGV[4],
  tonumber(ARGV[5]), ARGV[6], tonumber(ARGV[7]), 8, #ARGV)
