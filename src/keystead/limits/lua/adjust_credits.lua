-- Add ARGV[1] (may be negative) to the credits balance at KEYS[1]; returns the
-- new balance, or nil without creating anything when the counter is unknown.
if redis.call('HEXISTS', KEYS[1], 'r') == 0 then return nil end
local r = tonumber(redis.call('HGET', KEYS[1], 'r')) + tonumber(ARGV[1])
redis.call('HSET', KEYS[1], 'r', string.format('%.17g', r))
return r
