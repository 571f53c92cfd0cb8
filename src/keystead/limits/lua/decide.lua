-- One whole decision, all or nothing, in one call. Mirrors engine.py step
-- for step (same float operations in the same order). See docs/limits.md.
--
-- KEYS[i]  counter key of check i
-- ARGV[1]  now (epoch seconds) or '' to use the server's TIME
-- then one group per check, starting with its kind and cost:
--   g cost interval tolerance burst        GCRA rate limit (string: TAT)
--   s cost limit duration                  sliding window (list of expiries, oldest first)
--   q cost limit b1 b2 b3 b4               quota (hash p, u); b = period starts
--   c cost initial mode amount interval cap    credits (hash r, t)
--                                          mode 0 none, 1 set, 2 add; cap -1 none
--   n cost limit lease_s lease_id          concurrency (zset lease id -> expiry)
-- Returns one string: all_ok, then per check "ok remaining reset retry_after",
-- space-separated; reset and retry_after are '' when there is none.

local EPS = 1e-6
local call, tonumber, fmt, ceil, floor = redis.call, tonumber, string.format, math.ceil, math.floor
local function ms(seconds) return math.max(1, ceil(seconds * 1000)) end

local now
if ARGV[1] == '' then
  local t = call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
else
  now = tonumber(ARGV[1])
end

-- A sliding window's live entries: (count, newest expiry or nil, stale
-- entries still at the head). Expired entries are dropped 8 at a time.
local function window(key, now)
  local last = tonumber(call('LINDEX', key, -1))
  local stale = 0
  if last and last <= now then
    call('DEL', key)
    last = nil
  elseif last then
    local head = call('LRANGE', key, 0, 7)
    while tonumber(head[stale + 1]) <= now do
      stale = stale + 1
      if stale == #head then
        call('LTRIM', key, stale, -1)
        head, stale = call('LRANGE', key, 0, 63), 0
      end
    end
  end
  return call('LLEN', key) - stale, last, stale
end

-- Append cost entries expiring at max(now + duration, newest); returns the expiry.
local function log(key, now, c, duration, last)
  local expiry = now + duration
  if last and last > expiry then expiry = last end
  local value, left = fmt('%.17g', expiry), c
  while left > 0 do
    local batch = {}
    for j = 1, math.min(left, 1000) do batch[j] = value end
    call('RPUSH', key, unpack(batch))
    left = left - #batch
  end
  call('PEXPIRE', key, ms(expiry - now))
  return expiry
end

local n = #KEYS

-- The common cases, one GCRA limit or one sliding window, without the general
-- bookkeeping below: the same arithmetic as the 'g' and 's' branches.
if n == 1 and ARGV[2] == 'g' then
  local key, c = KEYS[1], tonumber(ARGV[3])
  local interval, tol, burst = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
  local tat = tonumber(call('GET', key)) or now
  if tat < now then tat = now end
  local new = tat + c * interval
  local pass = c == 0 or new - now <= tol + EPS
  if pass then tat = new end
  local reset, retry = fmt('%.17g', tat), ''
  if pass and c > 0 then call('SET', key, reset, 'PX', ms(tat - now)) end
  if not pass and c * interval <= tol + EPS then
    retry = fmt('%.17g', tat + c * interval - tol - now)
  end
  local remaining = math.min(burst, math.max(0, floor((tol - (tat - now) + EPS) / interval)))
  return (pass and '1 1 ' or '0 0 ') .. fmt('%d', remaining) .. ' ' .. reset .. ' ' .. retry
end
if n == 1 and ARGV[2] == 's' then
  local key, c, limit = KEYS[1], tonumber(ARGV[3]), tonumber(ARGV[4])
  local count, last, stale = window(key, now)
  local pass = c == 0 or count + c <= limit
  local retry = ''
  if pass and c > 0 then
    last, count = log(key, now, c, tonumber(ARGV[5]), last), count + c
  elseif not pass and c <= limit then
    retry = fmt('%.17g', tonumber(call('LINDEX', key, stale + count + c - limit - 1)) - now)
  end
  return (pass and '1 1 ' or '0 0 ') .. fmt('%d', math.max(0, limit - count)) .. ' '
    .. fmt('%.17g', count > 0 and last or now) .. ' ' .. retry
end

-- per check: kind, cost, first argument index, ok, and up to three state slots
local kind, cost, at, ok, sa, sb, sc = {}, {}, {}, {}, {}, {}, {}
local all_ok = true
local pos = 2
for i = 1, n do
  local key, k, c = KEYS[i], ARGV[pos], tonumber(ARGV[pos + 1])
  local p = pos + 2
  kind[i], cost[i], at[i] = k, c, p
  local pass
  if k == 'g' then
    pos = pos + 5
    local tat = tonumber(call('GET', key)) or now
    if tat < now then tat = now end
    local new = tat + c * tonumber(ARGV[p])
    pass = c == 0 or new - now <= tonumber(ARGV[p + 1]) + EPS
    sa[i], sb[i] = tat, new
  elseif k == 's' then
    pos = pos + 4
    local count, last, stale = window(key, now)
    pass = c == 0 or count + c <= tonumber(ARGV[p])
    sa[i], sb[i], sc[i] = count, last, stale
  elseif k == 'q' then
    pos = pos + 7
    local start, stop
    for j = p + 1, p + 3 do
      local b0, b1 = tonumber(ARGV[j]), tonumber(ARGV[j + 1])
      if b0 <= now and now < b1 then start, stop = b0, b1 end
    end
    if not start then return redis.error_reply('LIMITER clock skew beyond one period') end
    local h = call('HMGET', key, 'p', 'u')
    local period, used = tonumber(h[1]), tonumber(h[2]) or 0
    if period == nil or period < start then period, used = start, 0 end
    pass = c == 0 or used + c <= tonumber(ARGV[p])
    sa[i], sb[i] = used, {period, stop}
  elseif k == 'c' then
    pos = pos + 7
    local mode, amount, interval = tonumber(ARGV[p + 1]), tonumber(ARGV[p + 2]),
      tonumber(ARGV[p + 3])
    local h = call('HMGET', key, 'r', 't')
    local r, t = tonumber(h[1]) or tonumber(ARGV[p]), tonumber(h[2]) or now
    if mode ~= 0 and now >= t + interval then
      local steps = floor((now - t) / interval)
      if mode == 1 then
        r = math.max(r, amount)
      else
        local topped, cap = r + steps * amount, tonumber(ARGV[p + 4])
        if cap >= 0 then topped = math.min(topped, math.max(cap, r)) end
        r = topped
      end
      t = t + steps * interval
    end
    pass = c == 0 or r >= c
    sa[i], sb[i] = r, t
  elseif k == 'n' then
    pos = pos + 5
    call('ZREMRANGEBYSCORE', key, '-inf', now)
    local count = call('ZCARD', key)
    pass = c == 0 or count < tonumber(ARGV[p])
    sa[i] = count
  else
    return redis.error_reply('LIMITER unknown check kind ' .. tostring(k))
  end
  ok[i] = pass
  if not pass then all_ok = false end
end

-- Phase two: spend on every counter (all_ok) or on none, and describe each.
local out = {all_ok and '1' or '0'}
for i = 1, n do
  local key, k, c, p, pass = KEYS[i], kind[i], cost[i], at[i], ok[i]
  local remaining, reset, retry
  if k == 'g' then
    local interval, tol, burst = tonumber(ARGV[p]), tonumber(ARGV[p + 1]), tonumber(ARGV[p + 2])
    local tat = sa[i]
    if all_ok then tat = sb[i] end
    reset = fmt('%.17g', tat)
    if all_ok and c > 0 then call('SET', key, reset, 'PX', ms(tat - now)) end
    remaining = math.min(burst, math.max(0, floor((tol - (tat - now) + EPS) / interval)))
    if not pass and c * interval <= tol + EPS then
      retry = fmt('%.17g', tat + c * interval - tol - now)
    end
  elseif k == 's' then
    local limit, count, last = tonumber(ARGV[p]), sa[i], sb[i]
    if all_ok and c > 0 then
      last, count = log(key, now, c, tonumber(ARGV[p + 1]), last), count + c
    end
    remaining = math.max(0, limit - count)
    reset = fmt('%.17g', count > 0 and last or now)
    if not pass and c <= limit then
      retry = fmt('%.17g', tonumber(call('LINDEX', key, sc[i] + count + c - limit - 1)) - now)
    end
  elseif k == 'q' then
    local limit, used, stop = tonumber(ARGV[p]), sa[i], sb[i][2]
    if all_ok then
      used = used + c
      call('HSET', key, 'p', fmt('%.17g', sb[i][1]), 'u', used)
      call('PEXPIRE', key, ms(stop - now) + 60000)
    end
    remaining = math.max(0, limit - used)
    reset = fmt('%.17g', stop)
    if not pass and c <= limit then retry = fmt('%.17g', stop - now) end
  elseif k == 'c' then
    local mode, amount, interval = tonumber(ARGV[p + 1]), tonumber(ARGV[p + 2]),
      tonumber(ARGV[p + 3])
    local r, t = sa[i], sb[i]
    if all_ok then r = r - c end
    -- written even when refused: creating the counter or refilling spends nothing
    call('HSET', key, 'r', fmt('%.17g', r), 't', fmt('%.17g', t))
    remaining = math.max(0, r)
    if mode ~= 0 then reset = fmt('%.17g', t + interval) end
    if not pass and mode == 1 and amount >= c then
      retry = fmt('%.17g', t + interval - now)
    elseif not pass and mode == 2 then
      local cap = tonumber(ARGV[p + 4])
      if cap < 0 or cap >= c then
        retry = fmt('%.17g', t + ceil((c - r) / amount) * interval - now)
      end
    end
  else
    local limit, lease, count = tonumber(ARGV[p]), tonumber(ARGV[p + 1]), sa[i]
    if all_ok and c > 0 then
      call('ZADD', key, fmt('%.17g', now + lease), ARGV[p + 2])
      local want = ms(lease) + 1000
      if call('PTTL', key) < want then call('PEXPIRE', key, want) end
      count = count + 1
    end
    remaining = math.max(0, limit - count)
    local first = call('ZRANGE', key, 0, 0, 'WITHSCORES')
    local expiry = tonumber(first[2]) or now
    reset = fmt('%.17g', expiry)
    if not pass then retry = fmt('%.17g', expiry - now) end
  end
  out[#out + 1] = pass and '1' or '0'
  out[#out + 1] = fmt('%d', remaining)
  out[#out + 1] = reset or ''
  out[#out + 1] = retry or ''
end
return table.concat(out, ' ')
