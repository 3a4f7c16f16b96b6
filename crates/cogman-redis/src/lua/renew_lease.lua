-- Extends a running holder's lease in a limit bucket, on the server's clock; a lease that is
-- gone (given back, or run out and removed) stays gone.
-- KEYS[1]: the bucket's leases (zset: holder -> expiry, µs); ARGV: holder, lease (µs)
local time = redis.call('TIME')
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], tonumber(time[1]) * 1000000 + tonumber(time[2]) + tonumber(ARGV[2]), ARGV[1])
end
return 0
