-- Releases a unique key only while ARGV[1] (the exact value stored by the claim) holds it.
-- KEYS[1]: the key's name. Returns 1 when deleted, 0 otherwise.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
