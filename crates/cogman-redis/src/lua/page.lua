-- One page of an index, newest first: ids ordered by (score desc, id desc).
-- KEYS[1] index zset.
-- ARGV[1] max score, ARGV[2] cursor id or '', ARGV[3] min score, ARGV[4] limit.
-- Without a cursor, returns entries with min <= score <= max. With one, returns entries
-- strictly after (max, cursor): same score and a smaller id, or a smaller score.
-- Returns a flat array {id, score, id, score, ...}.
local key, max, cursor, min = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
local limit = tonumber(ARGV[4])
local out = {}
if cursor ~= '' then
  local ties = redis.call('ZRANGEBYSCORE', key, max, max)
  for i = #ties, 1, -1 do
    if ties[i] < cursor then
      out[#out + 1] = ties[i]
      out[#out + 1] = max
      if #out >= 2 * limit then
        return out
      end
    end
  end
  max = '(' .. max
end
local rest = redis.call('ZREVRANGEBYSCORE', key, max, min, 'WITHSCORES', 'LIMIT', 0, limit - #out / 2)
for i = 1, #rest do
  out[#out + 1] = rest[i]
end
return out
