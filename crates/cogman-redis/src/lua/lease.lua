-- Takes or renews a lease. KEYS[1]: the lease's key; ARGV[1]: the holder; ARGV[2]: its
-- length in ms. Returns 1 when ARGV[1] holds the lease now (it was free, expired — Redis
-- dropped the key — or already its own), 0 while another holder's lease runs.
local held = redis.call('GET', KEYS[1])
if held and held ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
