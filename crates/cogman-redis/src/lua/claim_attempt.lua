-- Claims attempt number N of a chain for one record: SET NX on the chain's attempt key, with
-- the record's TTL. Returns the id that holds the number: ARGV[1] when this call (or an
-- earlier call for the same record) claimed it, another record's id when that one did.
-- KEYS[1] {ns}:attempt:{original}:{n}; ARGV[1] the record's id, ARGV[2] TTL in seconds.
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then
  return ARGV[1]
end
return redis.call('GET', KEYS[1]) or ARGV[1]
