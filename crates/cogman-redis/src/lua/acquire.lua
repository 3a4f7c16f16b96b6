-- Admits one task under a bucket's limits, atomically: the same rule as the other logs'
-- (cogman_core::limits::gcra and LimitStore::acquire), in microseconds on the server's clock.
-- KEYS[1]: the bucket's rate state (its theoretical arrival time)
-- KEYS[2]: the bucket's leases (zset: holder -> expiry)
-- KEYS[3]: the bucket's reservations (hash: holder -> reserved start)
-- ARGV: holder, lease (µs), concurrency (0: none), interval (µs; 0: no rate), burst
-- Returns {1} when admitted, {0, 1} for a full concurrency, {0, 2, wait µs} for the rate.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local holder, lease = ARGV[1], tonumber(ARGV[2])
local max, interval, burst = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local keep_ms = 3600000
if max > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  local running = redis.call('ZCARD', KEYS[2])
  if redis.call('ZSCORE', KEYS[2], holder) then running = running - 1 end
  if running >= max then return {0, 1} end
end
if interval > 0 then
  local reserved = redis.call('HGET', KEYS[3], holder)
  if reserved then
    reserved = tonumber(reserved)
    if reserved > now then return {0, 2, reserved - now} end
    redis.call('HDEL', KEYS[3], holder)
  else
    local tat = tonumber(redis.call('GET', KEYS[1]) or now)
    if tat < now then tat = now end
    local allowed = tat - interval * (burst - 1)
    local next = tat + interval
    redis.call('SET', KEYS[1], string.format('%d', next), 'PX', math.floor((next - now) / 1000) + keep_ms)
    if allowed > now then
      redis.call('HSET', KEYS[3], holder, string.format('%d', allowed))
      redis.call('PEXPIRE', KEYS[3], math.floor((allowed - now) / 1000) + keep_ms)
      return {0, 2, allowed - now}
    end
  end
end
if max > 0 then
  redis.call('ZADD', KEYS[2], now + lease, holder)
  redis.call('PEXPIRE', KEYS[2], math.floor(lease / 1000) + keep_ms)
end
return {1}
