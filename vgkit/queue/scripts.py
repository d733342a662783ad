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
    P reclaim                    set while the fleet needs no new XAUTOCLAIM scan (PX)
    P result:{id}                result JSON, with a TTL
    P events:{id}                the job's events from its first claim on (capped; TTL once it ends)
    P done                       one entry {job: id} per job that ended (succeeded, dead,
                                 cancelled), capped at ~DONE_MAXLEN: what ``wait`` blocks on

:func:`render` writes a queue's constants (prefix, timeouts, limits) into the
scripts once, so each call sends only what changes: the worker, the job, the
outcome. Scripts derive their keys from the prefix, so the queue needs a
standalone Redis (or a single cluster slot). Times are Redis server
milliseconds (``TIME``), so waits measured across machines do not depend on
their clocks.
"""

from __future__ import annotations

__all__ = ["DONE_MAXLEN", "NAMES", "render"]

#: About how many ended jobs the ``done`` stream keeps (waiters re-read a job's status
#: every few seconds anyway, so a trimmed entry delays a waiter, it never loses one).
DONE_MAXLEN = 10_000

_PRELUDE = """
redis.replicate_commands()
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function stream_of(priority) return P .. 'stream:' .. priority end
-- final: set the stream's TTL. Every job ends in an event that sets it (succeeded,
-- dead, cancelled), so the events before need not touch it.
local function journal(id, event, final)
  local key = P .. 'events:' .. id
  event.type = 'job'
  event.job_id = id
  redis.call('XADD', key, 'MAXLEN', '~', MAXLEN, '*', 'e', cjson.encode(event))
  if final then
    redis.call('PEXPIRE', key, TTL)
    -- a dead job retried is final for its old events only: it has not ended
    if event.status ~= 'queued' then
      redis.call('XADD', P .. 'done', 'MAXLEN', '~', DONE_MAXLEN, '*', 'job', id)
    end
  end
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
local function expire_job(job)
  redis.call('PEXPIRE', job, TTL)
  local key = redis.call('HGET', job, 'idempotency_key')
  if key and key ~= '' then redis.call('PEXPIRE', P .. 'idem:' .. key, TTL) end
end
local function dead_letter(job, id, stream, entry, err, now)
  local st = redis.call('HMGET', job, 'priority', 'attempts', 'tries')
  local history = {}
  for n = 1, tonumber(st[3]) do
    local a = redis.call('HGET', job, 'attempt:' .. n)
    if a then history[#history + 1] = a end
  end
  local dentry = redis.call('XADD', P .. 'dead', '*', 'job', id, 'priority', st[1],
    'error', err, 'attempts', st[2], 'dead_at', now,
    'history', '[' .. table.concat(history, ',') .. ']')
  redis.call('HSET', job, 'status', 'dead', 'error', err, 'finished_at', now,
    'dead_entry', dentry, 'worker', '')
  redis.call('XACK', stream, GROUP, entry)
  redis.call('XDEL', stream, entry)
  journal(id, {status = 'dead', attempt = tonumber(st[2]), error = err, ts = now / 1000}, true)
end
"""

# Scripts that claim start their ARGV with the worker's name and the priority
# its claim order starts at (see base.claim_order).
_CLAIMING = """
local CONSUMER = ARGV[1]
local ORDER = ({high = {'high', 'normal', 'low'}, normal = {'normal', 'low', 'high'},
  low = {'low', 'normal', 'high'}})[ARGV[2]]
-- Make a delivered entry this worker's running job; nil if it is stale or dead.
local function take(stream, entry, id, reclaimed, now)
  local job = P .. 'job:' .. id
  local st = redis.call('HMGET', job, 'status', 'entry', 'attempts', 'tries', 'worker',
    'priority', 'request', 'queued_at', 'trace', 'session')
  local status = st[1]
  if st[2] ~= entry or not (status == 'queued' or status == 'running') then
    -- a stale delivery: the job expired, finished, was cancelled or has a newer entry
    redis.call('XACK', stream, GROUP, entry)
    redis.call('XDEL', stream, entry)
    return nil
  end
  local lost = reclaimed and status == 'running'
  if lost then
    close_attempt(job, st[4], 'lost',
      'worker ' .. st[5] .. ' stopped renewing its claim (crashed or hung)', now)
    if tonumber(st[3]) >= MAX_ATTEMPTS then
      dead_letter(job, id, stream, entry,
        'lost ' .. st[3] .. ' times: the workers running it stopped renewing their claims', now)
      return nil
    end
  end
  local attempts, tries = tonumber(st[3]) + 1, tonumber(st[4]) + 1
  redis.call('HSET', job, 'status', 'running', 'worker', CONSUMER, 'started_at', now,
    'attempts', attempts, 'tries', tries, 'attempt:' .. tries,
    cjson.encode({number = tries, worker = CONSUMER, started_at = now / 1000,
    outcome = 'running'}))
  journal(id, {status = 'running', attempt = attempts, worker = CONSUMER, ts = now / 1000})
  return {id, entry, st[6], attempts, st[7], st[8], now, lost and 1 or 0, st[9] or '',
    st[10] or ''}
end
-- The next job for this worker: {claim...}, {'again'} after many stale entries,
-- or {'', next retry due (ms) or '', now}.
local function claim_next(now)
  -- retries whose backoff is over go back to the end of their priority's stream
  local delayed = P .. 'delayed'
  local due = redis.call('ZRANGEBYSCORE', delayed, '-inf', now, 'LIMIT', 0, 100)
  for _, id in ipairs(due) do
    redis.call('ZREM', delayed, id)
    local job = P .. 'job:' .. id
    local st = redis.call('HMGET', job, 'status', 'priority')
    if st[1] == 'retrying' then
      local entry = redis.call('XADD', stream_of(st[2]), '*', 'job', id)
      redis.call('HSET', job, 'status', 'queued', 'queued_at', now, 'entry', entry)
      redis.call('HDEL', job, 'retry_at')
    end
  end
  -- Entries idle past the visibility timeout (crashed workers, handed-back jobs)
  -- come first. The scan runs when the gate key is absent: at most once per
  -- GATE_MS for the whole fleet while it finds nothing, every time while it does.
  local gate = P .. 'reclaim'
  local scan = redis.call('SET', gate, 1, 'NX', 'PX', GATE_MS)
  local budget = 64
  for i = 1, 3 do
    local stream = stream_of(ORDER[i])
    while budget > 0 do
      budget = budget - 1
      local entry, id, reclaimed = nil, nil, false
      if scan then
        local cursor = redis.call('HGET', P .. 'cursor', stream) or '0-0'
        local auto = redis.call('XAUTOCLAIM', stream, GROUP, CONSUMER, VISIBILITY, cursor,
          'COUNT', 1)
        if auto[1] ~= cursor then redis.call('HSET', P .. 'cursor', stream, auto[1]) end
        local got = auto[2][1]
        if type(got) == 'table' then
          entry, id, reclaimed = got[1], got[2][2], true
        end
        if entry or auto[1] ~= '0-0' then redis.call('DEL', gate) end
      end
      if not entry then
        local read = redis.call('XREADGROUP', 'GROUP', GROUP, CONSUMER, 'COUNT', 1,
          'STREAMS', stream, '>')
        if read then
          local got = read[1][2][1]
          entry, id = got[1], got[2][2]
        end
      end
      if not entry then break end
      local claimed = take(stream, entry, id, reclaimed, now)
      if claimed then return claimed end
    end
  end
  if budget <= 0 then return {'again'} end
  local nxt = redis.call('ZRANGE', delayed, 0, 0, 'WITHSCORES')
  return {'', nxt[2] or '', now}
end
"""

_SCRIPTS: dict[str, tuple[bool, str]] = {}
"""Name -> (whether it claims, body)."""

# Why a script: the idempotency check and the insert must be one step, or two
# submissions with the same key could both insert; and the stream entry, the
# status hash and the key mapping must appear together or a worker could claim
# an entry with no job behind it.
_SCRIPTS["SUBMIT"] = (
    False,
    """
-- ARGV: id, priority, request, idempotency key or '', traceparent, session id
local id, idem = ARGV[1], ARGV[4]
if idem ~= '' then
  local existing = redis.call('GET', P .. 'idem:' .. idem)
  if existing and redis.call('EXISTS', P .. 'job:' .. existing) == 1 then
    return {existing, 0}
  end
end
if MAXSIZE > 0 then
  local n = redis.call('XLEN', stream_of('high')) + redis.call('XLEN', stream_of('normal'))
    + redis.call('XLEN', stream_of('low'))
  if n >= MAXSIZE then return {'', n} end
end
local now = now_ms()
local entry = redis.call('XADD', stream_of(ARGV[2]), '*', 'job', id)
redis.call('HSET', P .. 'job:' .. id, 'id', id, 'priority', ARGV[2], 'request', ARGV[3],
  'idempotency_key', idem, 'status', 'queued', 'attempts', 0, 'tries', 0,
  'submitted_at', now, 'queued_at', now, 'entry', entry, 'trace', ARGV[5],
  'session', ARGV[6])
redis.call('ZADD', P .. 'index', now, id)
if idem ~= '' then redis.call('SET', P .. 'idem:' .. idem, id) end
-- no event: a follower learns of the submission from the status hash, and the
-- job's event stream starts when a worker takes it
return {id, 1}
""",
)

# Why a script: taking an entry from the stream (XREADGROUP / XAUTOCLAIM) and
# marking the job running under this worker must be one step; otherwise a crash
# in between leaves a delivered entry whose hash still says queued, and the
# heartbeat and lease checks that prevent double completion would not hold.
# Due retries are moved from the schedule into their stream in the same step,
# so a retry is never both scheduled and queued. Reclaimed jobs whose attempts
# are used up go to the dead letters here too.
_SCRIPTS["CLAIM"] = (
    True,
    """
-- ARGV: worker, first priority
return claim_next(now_ms())
""",
)

# An idle worker blocks in XREADGROUP, so Redis hands each new entry to exactly
# one waiting worker (instead of waking them all). Delivery and "running" are
# then two steps; that is safe because a worker that dies in between leaves the
# entry pending with the job still queued, and the next reclaim scan takes it
# like a handed-back job, without counting an attempt. Why a script: marking the
# job running is the same atomic step as in CLAIM; entries delivered beyond the
# one taken are handed back in the same step.
_SCRIPTS["ADOPT"] = (
    True,
    """
-- ARGV: worker, first priority, then stream, entry and job id of each delivered
-- entry, best priority first
local now = now_ms()
local claimed = nil
for i = 3, #ARGV, 3 do
  local stream, entry, id = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if claimed then
    redis.call('XCLAIM', stream, GROUP, 'released', 0, entry, 'IDLE', RELEASED_IDLE, 'JUSTID')
    redis.call('DEL', P .. 'reclaim')
  else
    claimed = take(stream, entry, id, false, now)
  end
end
return claimed or {''}
""",
)

# Why a script: finishing an attempt acknowledges the stream entry and, in the
# same step, stores the result, schedules the retry, or writes the dead letter.
# Acknowledged-but-not-rescheduled loses the job; rescheduled-but-pending runs it
# twice. The lease check (still this worker, still this entry) in the same step
# makes a worker whose claim was reclaimed unable to finish the job a second time.
# A worker that completes a job and wants another gets it in the same call.
_SCRIPTS["FINISH"] = (
    True,
    """
-- ARGV: worker, first priority, then id, entry, priority, outcome
--       (succeeded|failed|fatal|released|cancelled), payload (result JSON or error),
--       backoff ms, claim next (1|0)
local id, entry, outcome, payload = ARGV[3], ARGV[4], ARGV[6], ARGV[7]
local job, stream = P .. 'job:' .. id, stream_of(ARGV[5])
local st = redis.call('HMGET', job, 'status', 'worker', 'entry', 'attempts', 'tries',
  'started_at', 'idempotency_key', 'error')
if st[1] ~= 'running' or st[2] ~= CONSUMER or st[3] ~= entry then return {'lost'} end
local now = now_ms()
local attempts = tonumber(st[4])
-- the attempt record as it ends (the running one was written by the claim)
local function ended(result, err)
  return 'attempt:' .. st[5], cjson.encode({number = tonumber(st[5]), worker = CONSUMER,
    started_at = tonumber(st[6]) / 1000, finished_at = now / 1000, outcome = result,
    error = err})
end
if outcome == 'released' then
  -- back to the head of the line: the entry stays pending, made idle for long
  -- enough that the next reclaim scan takes it; the attempt does not count
  local field, record = ended('released')
  redis.call('HSET', job, 'status', 'queued', 'worker', '', 'queued_at', now,
    'attempts', attempts - 1, field, record)
  redis.call('XCLAIM', stream, GROUP, 'released', 0, entry, 'IDLE', RELEASED_IDLE, 'JUSTID')
  redis.call('DEL', P .. 'reclaim')
  journal(id, {status = 'queued', attempt = attempts - 1, ts = now / 1000})
  return {'queued'}
end
if outcome == 'failed' or outcome == 'fatal' then
  local field, record = ended('failed', payload)
  redis.call('HSET', job, field, record)
  if outcome == 'fatal' or attempts >= MAX_ATTEMPTS then
    dead_letter(job, id, stream, entry, payload, now)
    return {'dead'}
  end
  local due = now + tonumber(ARGV[8])
  redis.call('XACK', stream, GROUP, entry)
  redis.call('XDEL', stream, entry)
  redis.call('ZADD', P .. 'delayed', due, id)
  redis.call('HSET', job, 'status', 'retrying', 'error', payload, 'retry_at', due, 'worker', '')
  journal(id, {status = 'retrying', attempt = attempts, error = payload, retry_at = due / 1000,
    ts = now / 1000})
  return {'retrying'}
end
redis.call('XACK', stream, GROUP, entry)
redis.call('XDEL', stream, entry)
if outcome == 'succeeded' then
  redis.call('SET', P .. 'result:' .. id, payload, 'PX', TTL)
  if st[8] then redis.call('HDEL', job, 'error') end
end
local field, record = ended(outcome)
redis.call('HSET', job, 'status', outcome, 'finished_at', now, field, record)
redis.call('PEXPIRE', job, TTL)
if st[7] and st[7] ~= '' then redis.call('PEXPIRE', P .. 'idem:' .. st[7], TTL) end
journal(id, {status = outcome, attempt = attempts, worker = CONSUMER, ts = now / 1000}, true)
if ARGV[9] == '1' then
  local nxt = claim_next(now)
  if nxt[1] ~= 'again' then
    table.insert(nxt, 1, outcome)
    return nxt
  end
end
return {outcome}
""",
)

# Why a script: the lease check and the renewal must be one step, or a worker
# could renew (XCLAIM) an entry another worker reclaimed a moment before.
_SCRIPTS["HEARTBEAT"] = (
    False,
    """
-- ARGV: worker, then job id, priority and entry per held job
local out = {}
for i = 2, #ARGV, 3 do
  local id, entry = ARGV[i], ARGV[i + 2]
  local st = redis.call('HMGET', P .. 'job:' .. id, 'status', 'worker', 'entry', 'cancel')
  if st[1] == 'running' and st[2] == ARGV[1] and st[3] == entry then
    redis.call('XCLAIM', stream_of(ARGV[i + 1]), GROUP, ARGV[1], 0, entry, 'JUSTID')
    out[#out + 1] = st[4] == '1' and 'cancel' or 'held'
  else
    out[#out + 1] = 'lost'
  end
end
return out
""",
)

# Why a script: a queued job's entry is removed and the status set in one step,
# or a worker could claim the job between the two.
_SCRIPTS["CANCEL"] = (
    False,
    """
-- ARGV: id
local id = ARGV[1]
local job = P .. 'job:' .. id
local st = redis.call('HMGET', job, 'status', 'priority', 'entry', 'attempts')
if not st[1] then return 'missing' end
if st[1] == 'running' then
  redis.call('HSET', job, 'cancel', 1)
  return 'running'
end
if st[1] ~= 'queued' and st[1] ~= 'retrying' then return st[1] end
if st[1] == 'queued' then
  redis.call('XACK', stream_of(st[2]), GROUP, st[3])
  redis.call('XDEL', stream_of(st[2]), st[3])
end
redis.call('ZREM', P .. 'delayed', id)
local now = now_ms()
redis.call('HSET', job, 'status', 'cancelled', 'finished_at', now, 'worker', '')
expire_job(job)
journal(id, {status = 'cancelled', attempt = tonumber(st[4]), ts = now / 1000}, true)
return 'cancelled'
""",
)

# Why a script: the dead letter is removed and the job queued again in one step,
# or a crash in between loses it (or queues it while it is still a dead letter).
_SCRIPTS["RETRY_DEAD"] = (
    False,
    """
-- ARGV: id
local id = ARGV[1]
local job = P .. 'job:' .. id
local st = redis.call('HMGET', job, 'status', 'priority', 'dead_entry')
if not st[1] then return 'missing' end
if st[1] ~= 'dead' then return st[1] end
redis.call('XDEL', P .. 'dead', st[3])
local now = now_ms()
local entry = redis.call('XADD', stream_of(st[2]), '*', 'job', id)
redis.call('HSET', job, 'status', 'queued', 'attempts', 0, 'queued_at', now, 'entry', entry)
redis.call('HDEL', job, 'dead_entry', 'error', 'finished_at')
journal(id, {status = 'queued', attempt = 0, ts = now / 1000}, true)
return 'queued'
""",
)

# Why a script: a job retried from the dead letters while the purge runs must
# not be deleted; checking the status and deleting happen in one step.
_SCRIPTS["PURGE"] = (
    False,
    """
-- ARGV: batch size. Returns how many jobs it deleted, and how many entries it read.
local entries = redis.call('XRANGE', P .. 'dead', '-', '+', 'COUNT', ARGV[1])
local n = 0
for _, e in ipairs(entries) do
  local id = e[2][2]
  local job = P .. 'job:' .. id
  if redis.call('HGET', job, 'status') == 'dead' then
    local key = redis.call('HGET', job, 'idempotency_key')
    if key and key ~= '' then redis.call('DEL', P .. 'idem:' .. key) end
    redis.call('DEL', job, P .. 'events:' .. id, P .. 'result:' .. id)
    redis.call('ZREM', P .. 'index', id)
    n = n + 1
  end
  redis.call('XDEL', P .. 'dead', e[1])
end
return {n, #entries}
""",
)

#: The scripts :func:`render` returns.
NAMES = tuple(_SCRIPTS)


def _lua(value: str | int) -> str:
    """A Lua literal; strings escaped byte by byte (Redis runs Lua 5.1: no \\u)."""
    if isinstance(value, int):
        return str(value)
    safe = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:_-."
    return '"' + "".join(chr(b) if b in safe else f"\\{b:03d}" for b in value.encode()) + '"'


def render(
    *,
    prefix: str,
    group: str,
    visibility_ms: int,
    max_attempts: int,
    events_maxlen: int,
    ttl_ms: int,
    gate_ms: int,
    maxsize: int,
    released_idle_ms: int,
) -> dict[str, str]:
    """Every script, with a queue's constants written in (``maxsize`` 0: unbounded)."""
    constants: dict[str, str | int] = {
        "P": prefix,
        "GROUP": group,
        "VISIBILITY": visibility_ms,
        "MAX_ATTEMPTS": max_attempts,
        "MAXLEN": events_maxlen,
        "TTL": ttl_ms,
        "GATE_MS": gate_ms,
        "MAXSIZE": maxsize,
        "RELEASED_IDLE": released_idle_ms,
        "DONE_MAXLEN": DONE_MAXLEN,
    }
    header = "".join(f"local {name} = {_lua(value)}\n" for name, value in constants.items())
    return {
        name: header + _PRELUDE + (_CLAIMING if claims else "") + body
        for name, (claims, body) in _SCRIPTS.items()
    }
