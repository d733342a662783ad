"""The Lua scripts behind :class:`~vgkit.queue.redis.RedisJobQueue`.

Every state change of a job touches several keys: its status hash, a priority
stream and its consumer group, the retry schedule, the dead-letter stream, the
result and the job's event stream. If a client died between two of those
commands a job could be lost (acknowledged but never rescheduled), run twice
(rescheduled but still pending) or reported wrongly (a result without a status).
So each change is one script: Redis runs a script atomically, and a client that
dies mid-call leaves either all of it or none of it.

Keys (``P`` is the key prefix plus ``q:``)::

    P stream:{high,normal,low}   one stream per priority, entries {job: id}; group "workers"
    P job:{id}                   hash: status, priority, request JSON, attempts, times,
                                 worker, entry (the live stream entry), attempt:N JSON
    P idem:{key}                 idempotency key -> job id (lives as long as the job)
    P index                      sorted set of job ids by submission time (``list``)
    P delayed                    sorted set of retrying job ids by due time (ms)
    P dead                       the dead-letter stream: job, error, attempts, history
    P cursor                     XAUTOCLAIM cursor per stream
    P result:{id}                result JSON, with a TTL
    P events:{id}                the job's event stream (capped, with a TTL)

Times are Redis server milliseconds (``TIME``), so waits measured across
machines do not depend on their clocks. The scripts derive job keys from stream
entries, so the queue needs a standalone Redis (or a single cluster slot).
"""

from __future__ import annotations

__all__ = ["CANCEL", "CLAIM", "FINISH", "HEARTBEAT", "PURGE", "RETRY_DEAD", "SUBMIT"]

_PRELUDE = """
redis.replicate_commands()
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function journal(prefix, id, maxlen, ttl, event)
  local key = prefix .. 'events:' .. id
  event.type = 'job'
  event.job_id = id
  redis.call('XADD', key, 'MAXLEN', '~', maxlen, '*', 'e', cjson.encode(event))
  redis.call('PEXPIRE', key, ttl)
end
local function close_attempt(job, tries, outcome, err, now)
  local field = 'attempt:' .. tries
  local raw = redis.call('HGET', job, field)
  if not raw then return end
  local a = cjson.decode(raw)
  a.finished_at = now / 1000
  a.outcome = outcome
  if err then a.error = err end
  redis.call('HSET', job, field, cjson.encode(a))
end
local function expire_job(job, prefix, ttl)
  redis.call('PEXPIRE', job, ttl)
  local key = redis.call('HGET', job, 'idempotency_key')
  if key and key ~= '' then redis.call('PEXPIRE', prefix .. 'idem:' .. key, ttl) end
end
local function dead_letter(job, id, stream, group, entry, err, now, prefix, dead, maxlen, ttl)
  local st = redis.call('HMGET', job, 'priority', 'attempts', 'tries')
  local history = {}
  for n = 1, tonumber(st[3]) do
    local a = redis.call('HGET', job, 'attempt:' .. n)
    if a then history[#history + 1] = a end
  end
  local dentry = redis.call('XADD', dead, '*', 'job', id, 'priority', st[1], 'error', err,
    'attempts', st[2], 'dead_at', now, 'history', '[' .. table.concat(history, ',') .. ']')
  redis.call('HSET', job, 'status', 'dead', 'error', err, 'finished_at', now,
    'dead_entry', dentry, 'worker', '')
  redis.call('XACK', stream, group, entry)
  redis.call('XDEL', stream, entry)
  journal(prefix, id, maxlen, ttl, {status = 'dead', attempt = tonumber(st[2]), error = err,
    ts = now / 1000})
end
"""

# Why a script: the idempotency check and the insert must be one step, or two
# submissions with the same key could both insert; and the stream entry, the
# status hash and the key mapping must appear together or a worker could claim
# an entry with no job behind it.
SUBMIT = (
    _PRELUDE
    + """
-- KEYS: job, stream, index, idem, stream:high, stream:normal, stream:low
-- ARGV: id, priority, request, idempotency key or '', prefix, maxsize (0: none),
--       events maxlen, ttl ms
local prefix = ARGV[5]
if ARGV[4] ~= '' then
  local existing = redis.call('GET', KEYS[4])
  if existing and redis.call('EXISTS', prefix .. 'job:' .. existing) == 1 then
    return {existing, 0}
  end
end
local maxsize = tonumber(ARGV[6])
if maxsize > 0 then
  local n = redis.call('XLEN', KEYS[5]) + redis.call('XLEN', KEYS[6]) + redis.call('XLEN', KEYS[7])
  if n >= maxsize then return {'', n} end
end
local now = now_ms()
local entry = redis.call('XADD', KEYS[2], '*', 'job', ARGV[1])
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'priority', ARGV[2], 'request', ARGV[3],
  'idempotency_key', ARGV[4], 'status', 'queued', 'attempts', 0, 'tries', 0,
  'submitted_at', now, 'queued_at', now, 'entry', entry)
redis.call('ZADD', KEYS[3], now, ARGV[1])
if ARGV[4] ~= '' then redis.call('SET', KEYS[4], ARGV[1]) end
journal(prefix, ARGV[1], ARGV[7], ARGV[8], {status = 'queued', attempt = 0, ts = now / 1000})
return {ARGV[1], 1}
"""
)

# Why a script: taking an entry from the stream (XREADGROUP / XAUTOCLAIM) and
# marking the job running under this worker must be one step; otherwise a crash
# in between leaves a delivered entry whose hash still says queued, and the
# heartbeat and lease checks that prevent double completion would not hold.
# Due retries are moved from the schedule into their stream in the same step,
# so a retry is never both scheduled and queued. Reclaimed jobs whose attempts
# are used up go to the dead letters here too.
CLAIM = (
    _PRELUDE
    + """
-- KEYS: the three streams in this claim's order, delayed, dead, cursor
-- ARGV: group, consumer, visibility ms, max attempts, prefix, events maxlen, ttl ms
local group, consumer, prefix = ARGV[1], ARGV[2], ARGV[5]
local maxlen, ttl = ARGV[6], ARGV[7]
local now = now_ms()
local due = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now, 'LIMIT', 0, 100)
for _, id in ipairs(due) do
  redis.call('ZREM', KEYS[4], id)
  local job = prefix .. 'job:' .. id
  local st = redis.call('HMGET', job, 'status', 'priority')
  if st[1] == 'retrying' then
    local entry = redis.call('XADD', prefix .. 'stream:' .. st[2], '*', 'job', id)
    redis.call('HSET', job, 'status', 'queued', 'queued_at', now, 'entry', entry)
    redis.call('HDEL', job, 'retry_at')
  end
end
local budget = 64
for i = 1, 3 do
  local stream = KEYS[i]
  while budget > 0 do
    budget = budget - 1
    local entry, id, reclaimed = nil, nil, false
    local cursor = redis.call('HGET', KEYS[6], stream) or '0-0'
    local auto = redis.call('XAUTOCLAIM', stream, group, consumer, ARGV[3], cursor, 'COUNT', 1)
    if auto[1] ~= cursor then redis.call('HSET', KEYS[6], stream, auto[1]) end
    local got = auto[2][1]
    if type(got) == 'table' then
      entry, id, reclaimed = got[1], got[2][2], true
    else
      local read = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', 1,
        'STREAMS', stream, '>')
      if read then
        got = read[1][2][1]
        entry, id = got[1], got[2][2]
      end
    end
    if not entry then break end
    local job = prefix .. 'job:' .. id
    local st = redis.call('HMGET', job, 'status', 'entry', 'attempts', 'tries', 'worker',
      'priority', 'request', 'queued_at')
    local status = st[1]
    if st[2] ~= entry or not (status == 'queued' or status == 'running') then
      -- a stale delivery: the job expired, finished, was cancelled or has a newer entry
      redis.call('XACK', stream, group, entry)
      redis.call('XDEL', stream, entry)
    else
      local lost = reclaimed and status == 'running'
      if lost then
        close_attempt(job, st[4], 'lost',
          'worker ' .. st[5] .. ' stopped renewing its claim (crashed or hung)', now)
      end
      if lost and tonumber(st[3]) >= tonumber(ARGV[4]) then
        dead_letter(job, id, stream, group, entry,
          'lost ' .. st[3] .. ' times: the workers running it stopped renewing their claims',
          now, prefix, KEYS[5], maxlen, ttl)
      else
        local attempts = redis.call('HINCRBY', job, 'attempts', 1)
        local tries = redis.call('HINCRBY', job, 'tries', 1)
        redis.call('HSET', job, 'status', 'running', 'worker', consumer, 'started_at', now,
          'attempt:' .. tries, cjson.encode({number = tries, worker = consumer,
          started_at = now / 1000, outcome = 'running'}))
        journal(prefix, id, maxlen, ttl, {status = 'running', attempt = attempts,
          worker = consumer, ts = now / 1000})
        return {id, entry, st[6], attempts, st[7], st[8], now, lost and 1 or 0}
      end
    end
  end
end
if budget <= 0 then return {'again'} end
-- nothing to claim: where each stream ends (a worker blocks on new entries after
-- these ids, so nothing added after this script can be missed) and the next retry
local tails = {}
for i = 1, 3 do
  local last = redis.call('XREVRANGE', KEYS[i], '+', '-', 'COUNT', 1)
  tails[i] = last[1] and last[1][1] or '0-0'
end
local nxt = redis.call('ZRANGE', KEYS[4], 0, 0, 'WITHSCORES')
return {'', tails[1], tails[2], tails[3], nxt[2] or '', now}
"""
)

# Why a script: finishing an attempt acknowledges the stream entry and, in the
# same step, stores the result, schedules the retry, or writes the dead letter.
# Acknowledged-but-not-rescheduled loses the job; rescheduled-but-pending runs it
# twice. The lease check (still this worker, still this entry) in the same step
# makes a worker whose claim was reclaimed unable to finish the job a second time.
FINISH = (
    _PRELUDE
    + """
-- KEYS: job, stream, delayed, dead, result
-- ARGV: id, entry, consumer, group, outcome (succeeded|failed|fatal|released|cancelled),
--       payload (result JSON or error), ttl ms, max attempts, backoff ms, prefix,
--       events maxlen, idle ms for released entries
local job, stream, id, entry, group = KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[4]
local prefix, maxlen, ttl = ARGV[10], ARGV[11], ARGV[7]
local st = redis.call('HMGET', job, 'status', 'worker', 'entry', 'attempts', 'tries')
if st[1] ~= 'running' or st[2] ~= ARGV[3] or st[3] ~= entry then return {'lost'} end
local now = now_ms()
local outcome, attempts = ARGV[5], tonumber(st[4])
if outcome == 'released' then
  -- back to the head of the line: the entry stays pending, made idle for long
  -- enough that the next claim's XAUTOCLAIM takes it; the attempt does not count
  close_attempt(job, st[5], 'released', nil, now)
  redis.call('HINCRBY', job, 'attempts', -1)
  redis.call('HSET', job, 'status', 'queued', 'worker', '', 'queued_at', now)
  redis.call('XCLAIM', stream, group, 'released', 0, entry, 'IDLE', ARGV[12], 'JUSTID')
  journal(prefix, id, maxlen, ttl, {status = 'queued', attempt = attempts - 1, ts = now / 1000})
  return {'queued'}
end
if outcome == 'failed' or outcome == 'fatal' then
  close_attempt(job, st[5], 'failed', ARGV[6], now)
  if outcome == 'fatal' or attempts >= tonumber(ARGV[8]) then
    dead_letter(job, id, stream, group, entry, ARGV[6], now, prefix, KEYS[4], maxlen, ttl)
    return {'dead'}
  end
  local due = now + tonumber(ARGV[9])
  redis.call('XACK', stream, group, entry)
  redis.call('XDEL', stream, entry)
  redis.call('ZADD', KEYS[3], due, id)
  redis.call('HSET', job, 'status', 'retrying', 'error', ARGV[6], 'retry_at', due, 'worker', '')
  journal(prefix, id, maxlen, ttl, {status = 'retrying', attempt = attempts, error = ARGV[6],
    retry_at = due / 1000, ts = now / 1000})
  return {'retrying'}
end
redis.call('XACK', stream, group, entry)
redis.call('XDEL', stream, entry)
if outcome == 'succeeded' then
  redis.call('SET', KEYS[5], ARGV[6], 'PX', ttl)
  redis.call('HDEL', job, 'error')
end
close_attempt(job, st[5], outcome, nil, now)
redis.call('HSET', job, 'status', outcome, 'finished_at', now)
expire_job(job, prefix, ttl)
journal(prefix, id, maxlen, ttl, {status = outcome, attempt = attempts, worker = ARGV[3],
  ts = now / 1000})
return {outcome}
"""
)

# Why a script: the lease check and the renewal must be one step, or a worker
# could renew (XCLAIM) an entry another worker reclaimed a moment before.
HEARTBEAT = """
-- KEYS: the held jobs; ARGV: consumer, group, then stream and entry per job
local out = {}
for i, job in ipairs(KEYS) do
  local stream, entry = ARGV[1 + 2 * i], ARGV[2 + 2 * i]
  local st = redis.call('HMGET', job, 'status', 'worker', 'entry', 'cancel')
  if st[1] == 'running' and st[2] == ARGV[1] and st[3] == entry then
    redis.call('XCLAIM', stream, ARGV[2], ARGV[1], 0, entry, 'JUSTID')
    out[i] = st[4] == '1' and 'cancel' or 'held'
  else
    out[i] = 'lost'
  end
end
return out
"""

# Why a script: a queued job's entry is removed and the status set in one step,
# or a worker could claim the job between the two.
CANCEL = (
    _PRELUDE
    + """
-- KEYS: job, delayed; ARGV: id, group, prefix, ttl ms, events maxlen
local job, id, prefix = KEYS[1], ARGV[1], ARGV[3]
local st = redis.call('HMGET', job, 'status', 'priority', 'entry', 'attempts')
if not st[1] then return 'missing' end
if st[1] == 'running' then
  redis.call('HSET', job, 'cancel', 1)
  return 'running'
end
if st[1] ~= 'queued' and st[1] ~= 'retrying' then return st[1] end
if st[1] == 'queued' then
  local stream = prefix .. 'stream:' .. st[2]
  redis.call('XACK', stream, ARGV[2], st[3])
  redis.call('XDEL', stream, st[3])
end
redis.call('ZREM', KEYS[2], id)
local now = now_ms()
redis.call('HSET', job, 'status', 'cancelled', 'finished_at', now, 'worker', '')
expire_job(job, prefix, ARGV[4])
journal(prefix, id, ARGV[5], ARGV[4], {status = 'cancelled', attempt = tonumber(st[4]),
  ts = now / 1000})
return 'cancelled'
"""
)

# Why a script: the dead letter is removed and the job queued again in one step,
# or a crash in between loses it (or queues it while it is still a dead letter).
RETRY_DEAD = (
    _PRELUDE
    + """
-- KEYS: job, dead; ARGV: id, prefix, events maxlen, ttl ms
local job, id, prefix = KEYS[1], ARGV[1], ARGV[2]
local st = redis.call('HMGET', job, 'status', 'priority', 'dead_entry')
if not st[1] then return 'missing' end
if st[1] ~= 'dead' then return st[1] end
redis.call('XDEL', KEYS[2], st[3])
local now = now_ms()
local entry = redis.call('XADD', prefix .. 'stream:' .. st[2], '*', 'job', id)
redis.call('HSET', job, 'status', 'queued', 'attempts', 0, 'queued_at', now, 'entry', entry)
redis.call('HDEL', job, 'dead_entry', 'error', 'finished_at')
journal(prefix, id, ARGV[3], ARGV[4], {status = 'queued', attempt = 0, ts = now / 1000})
return 'queued'
"""
)

# Why a script: a job retried from the dead letters while the purge runs must
# not be deleted; checking the status and deleting happen in one step.
PURGE = """
-- KEYS: dead, index; ARGV: prefix, batch size. Returns how many jobs it deleted.
local prefix = ARGV[1]
local entries = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', ARGV[2])
local n = 0
for _, e in ipairs(entries) do
  local id = e[2][2]
  local job = prefix .. 'job:' .. id
  if redis.call('HGET', job, 'status') == 'dead' then
    local key = redis.call('HGET', job, 'idempotency_key')
    if key and key ~= '' then redis.call('DEL', prefix .. 'idem:' .. key) end
    redis.call('DEL', job, prefix .. 'events:' .. id, prefix .. 'result:' .. id)
    redis.call('ZREM', KEYS[2], id)
    n = n + 1
  end
  redis.call('XDEL', KEYS[1], e[1])
end
return {n, #entries}
"""
