-- Claims a unique key. KEYS[1]: the key's name; ARGV[1]: the value to store (the holder's
-- id, with ':t' appended for a key held for a fixed time); ARGV[2]: its lifetime in ms.
-- Returns the value already stored (the key is held, or was claimed by this very call
-- before a retry), or false when the key was free and is now claimed.
local held = redis.call('GET', KEYS[1])
if held then
  return held
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false
