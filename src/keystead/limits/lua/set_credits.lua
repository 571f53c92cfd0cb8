-- Overwrite a credits balance. KEYS[1] counter; ARGV[1] balance; ARGV[2] now
-- ('' = server TIME), which starts the refill clock of a counter not seen yet.
local now = ARGV[2]
if now == '' then
  local t = redis.call('TIME')
  now = string.format('%.17g', tonumber(t[1]) + tonumber(t[2]) / 1000000)
end
redis.call('HSET', KEYS[1], 'r', ARGV[1])
redis.call('HSETNX', KEYS[1], 't', now)
return 1
