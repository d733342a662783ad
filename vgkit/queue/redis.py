"""RedisJobQueue: the job queue on Redis Streams, shared by any number of workers.

One stream per priority with one consumer group (``workers``): a claim reads
the streams in the order :func:`~vgkit.queue.base.claim_order` gives (high,
normal, low, with a fairness ratio so low never starves) and marks the job
running in the same Lua step. An idle worker blocks in XREADGROUP, so Redis
hands each new entry to one waiting worker rather than waking them all; a
worker that finishes a job gets its next one in the same call
(``complete_and_claim``), so a busy worker costs one round trip per job.

A worker renews its claims with heartbeats; an entry idle for longer than the
visibility timeout (its worker crashed or hung) is taken over by a later claim
with XAUTOCLAIM. A failed attempt is retried after an exponential backoff (a
sorted set that claims drain) until ``max_attempts``, then the job moves to the
dead-letter stream with its error and attempt history. Results live under their
own key with a TTL; a job's events go to a capped per-job stream, so a follower
that starts late still sees them from the beginning. Everything is JSON; see
:mod:`vgkit.queue.scripts` for the keys and why each state change is a script.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import hashlib
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson
import redis.asyncio as aioredis
from redis.exceptions import NoScriptError, RedisError, ResponseError

from vgkit._tasks import stop
from vgkit.config import settings
from vgkit.errors import (
    ConfigError,
    InvalidRequestError,
    JobNotFoundError,
    JobStateError,
    QueueError,
    QueueFullError,
    QueueUnavailableError,
)
from vgkit.events import Event
from vgkit.metrics import MetricsRegistry, default_registry
from vgkit.models import VideoRequest
from vgkit.queue import scripts
from vgkit.queue.base import (
    Claim,
    Lease,
    QueueConfig,
    QueueStats,
    check_submission,
    claim_order,
    retry_delay,
    submit_span,
)
from vgkit.queue.jobs import (
    Attempt,
    DeadLetter,
    Job,
    JobEvent,
    JobResult,
    JobStatus,
    Payload,
    Priority,
    QueueEvent,
    new_job_id,
    parse_payload,
    parse_queue_entry,
)
from vgkit.queue.persistence import Persistence, read_persistence, warn_if_volatile
from vgkit.resource import AsyncResource

__all__ = ["GROUP", "RedisJobQueue", "display_url"]

#: The consumer group every worker joins.
GROUP = "workers"
#: Longest pause between two reclaim scans (XAUTOCLAIM) of the whole fleet.
RECLAIM_SCAN_MS = 250
#: Idle time given to a handed-back entry so the next reclaim scan takes it,
#: whatever visibility timeout that worker uses (ten days, in ms).
RELEASED_IDLE_MS = 10 * 24 * 3600 * 1000
#: Seconds for which a finish that found nothing to claim stands in for a claim.
FRESH_LOOK = 0.05
_PURGE_BATCH = 500
#: Stands in for a request that no longer parses, on its way to the dead letters.
_UNREADABLE = VideoRequest(topic="unreadable request")


def display_url(url: str) -> str:
    """The URL with any password masked, for logs and messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:***@{parts.hostname}" + (
        f":{parts.port}" if parts.port else ""
    )
    return urlunsplit(parts._replace(netloc=netloc))


def _sha1(source: str) -> str:
    return hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()


def _seconds(ms: str | None) -> float | None:
    return None if ms in (None, "") else int(float(ms)) / 1000


class RedisJobQueue(AsyncResource):
    """The job queue in Redis (see the module docstring).

    ``redis``: a URL, a ``redis.asyncio.Redis`` made with ``decode_responses=True``,
    or None for ``VGKIT_REDIS_URL``. ``key_prefix`` (default the setting,
    ``vgkit:``) comes before every key; the queue's keys are under ``<prefix>q:``.
    """

    def __init__(
        self,
        redis: aioredis.Redis | str | None = None,
        *,
        key_prefix: str | None = None,
        config: QueueConfig | None = None,
        metrics: MetricsRegistry | None = None,
    ) -> None:
        if redis is None or isinstance(redis, str):
            url = redis or settings().redis_url
            if not url:
                raise ConfigError("no Redis for the job queue: pass a URL or set VGKIT_REDIS_URL")
            if not url.startswith(("redis://", "rediss://", "unix://")):
                raise ConfigError(
                    f"Redis URL must start with redis://, rediss:// or unix://, not {url!r}"
                )
            # A blocking pool: past POOL_SIZE commands in flight (hundreds of waiters
            # reading their status at once, say) a command waits for a connection
            # instead of failing with redis-py's "Too many connections".
            pool = aioredis.BlockingConnectionPool.from_url(
                url,
                decode_responses=True,
                socket_connect_timeout=2.0,
                max_connections=POOL_SIZE,
                timeout=POOL_WAIT,
            )
            self.redis: aioredis.Redis = aioredis.Redis(connection_pool=pool)
            self._owned = True
            self.url = display_url(url)
        else:
            if not redis.connection_pool.connection_kwargs.get("decode_responses"):
                raise ConfigError("RedisJobQueue needs a client made with decode_responses=True")
            self.redis = redis
            self._owned = False
            kwargs = redis.connection_pool.connection_kwargs
            self.url = f"redis://{kwargs.get('host', '?')}:{kwargs.get('port', '?')}"
        self.config = config if config is not None else QueueConfig()
        self.prefix = (key_prefix if key_prefix is not None else settings().key_prefix) + "q:"
        self.streams = {p: f"{self.prefix}stream:{p.value}" for p in Priority}
        self._delayed = self.prefix + "delayed"
        self._dead = self.prefix + "dead"
        self._index = self.prefix + "index"
        visibility_ms = int(self.config.visibility_timeout * 1000)
        sources = scripts.render(
            prefix=self.prefix,
            group=GROUP,
            visibility_ms=visibility_ms,
            max_attempts=self.config.max_attempts,
            events_maxlen=self.config.events_maxlen,
            ttl_ms=self._ttl_ms,
            gate_ms=max(1, min(visibility_ms // 4, RECLAIM_SCAN_MS)),
            maxsize=self.config.maxsize or 0,
            released_idle_ms=RELEASED_IDLE_MS,
        )
        # Called with EVALSHA directly: redis-py's Script wrapper costs a fifth
        # of a call's client time on the hot path. Loaded on first NOSCRIPT.
        self._scripts = {name: (_sha1(source), source) for name, source in sources.items()}
        self._claims = 0
        self._looked: dict[str, tuple[float, str, str]] = {}
        """Per worker: when a finish last found nothing to claim, the next retry, Redis time."""
        self._groups_ready = False
        self.persistence: Persistence | None = None
        """Redis's persistence settings, read on first contact (None until then)."""
        self._ended = _EndedJobs(self)
        self.metrics = metrics if metrics is not None else default_registry()
        submitted = self.metrics.queue_submitted()
        self._submitted = {p: submitted.labels(p.value) for p in Priority}

    # -- plumbing ----------------------------------------------------------

    def job_key(self, job_id: str) -> str:
        return f"{self.prefix}job:{job_id}"

    def events_key(self, job_id: str) -> str:
        return f"{self.prefix}events:{job_id}"

    @property
    def done_key(self) -> str:
        """The stream of jobs that ended (see :meth:`wait`)."""
        return self.prefix + "done"

    def result_key(self, job_id: str) -> str:
        return f"{self.prefix}result:{job_id}"

    @property
    def _ttl_ms(self) -> int:
        return int(self.config.result_ttl * 1000)

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except ResponseError as exc:
            raise QueueError(f"Redis refused a queue command: {exc}") from exc
        except RedisError as exc:
            raise QueueUnavailableError(
                f"Redis at {self.url} did not answer ({exc}); the queued jobs are untouched. "
                "Start Redis or point --redis / VGKIT_REDIS_URL at one"
            ) from exc

    async def _ensure_groups(self) -> None:
        if self._groups_ready:
            return
        if self.persistence is None:
            # First contact: is the queue safe across a Redis restart? Warn once if not.
            self.persistence = await read_persistence(self.redis)
            warn_if_volatile(self.url, self.persistence)
        for stream in self.streams.values():
            try:
                # From id 0, not $: entries added before the group existed are work too.
                await self.redis.xgroup_create(stream, GROUP, id="0", mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
        self._groups_ready = True

    async def _run(self, name: str, *args: Any) -> Any:
        sha, source = self._scripts[name]
        with self._errors():
            for last in (False, False, True):
                if not self._groups_ready:
                    await self._ensure_groups()
                try:
                    return await self.redis.evalsha(sha, 0, *args)
                except NoScriptError:  # a new or restarted Redis: load the script
                    if last:
                        raise
                    await self.redis.script_load(source)
                except ResponseError as exc:
                    if last or "NOGROUP" not in str(exc):
                        raise
                    # Someone deleted a stream (and its group), or Redis restarted empty.
                    self._groups_ready = False
            raise AssertionError("unreachable")

    async def aclose(self) -> None:
        await self._ended.aclose()
        if self._owned:
            await self.redis.aclose()

    # -- clients -----------------------------------------------------------

    async def submit(
        self,
        request: Payload,
        *,
        priority: Priority | str = Priority.NORMAL,
        idempotency_key: str | None = None,
    ) -> str:
        prio = Priority.parse(priority)
        key = check_submission(request, idempotency_key)
        job_id = new_job_id()
        request_json = request.model_dump_json()
        with submit_span(job_id, self.metrics) as span:
            found, created = await self._run(
                "SUBMIT", job_id, prio.value, request_json, key or "",
                span.context.traceparent, span.session_id or "",
            )  # fmt: skip
        if not found:
            raise QueueFullError(int(created), self.config.maxsize or 0)
        if int(created):
            self._submitted[prio].inc()
        return str(found)

    async def status(self, job_id: str) -> Job:
        with self._errors():
            fields: Any = await self.redis.hgetall(self.job_key(job_id))
        if not fields:
            raise JobNotFoundError(job_id)
        return _job(fields)

    async def result(self, job_id: str) -> JobResult | None:
        with self._errors():
            raw = await self.redis.get(self.result_key(job_id))
            if raw is None and not await self.redis.exists(self.job_key(job_id)):
                raise JobNotFoundError(job_id)
        return None if raw is None else JobResult.model_validate_json(raw)

    async def cancel(self, job_id: str) -> JobStatus:
        status = await self._run("CANCEL", job_id)
        if status == "missing":
            raise JobNotFoundError(job_id)
        return JobStatus(status)

    async def list(
        self, *, status: JobStatus | str | None = None, limit: int = 50
    ) -> builtins.list[Job]:
        wanted = None if status is None else JobStatus.parse(status).value
        jobs: builtins.list[Job] = []
        gone: builtins.list[str] = []
        page, start = 200, 0
        with self._errors():
            while len(jobs) < limit:
                ids: Any = await self.redis.zrevrange(self._index, start, start + page - 1)
                if not ids:
                    break
                start += page
                async with self.redis.pipeline(transaction=False) as pipe:
                    for job_id in ids:
                        pipe.hgetall(self.job_key(job_id))
                    rows = await pipe.execute()
                for job_id, fields in zip(ids, rows, strict=True):
                    if not fields:
                        gone.append(job_id)
                    elif wanted is None or fields.get("status") == wanted:
                        jobs.append(_job(fields))
            if gone:  # finished jobs whose TTL ran out
                await self.redis.zrem(self._index, *gone)
        return jobs[:limit]

    async def wait(self, job_id: str, *, timeout: float | None = None) -> Job:
        """Wait until the job ends (TimeoutError after ``timeout`` seconds).

        Waiters do not poll: the scripts add every job that ends to one stream
        (``P done``), one listener per queue client blocks on it and wakes the
        waiters of the jobs it names, so a thousand waiters cost one blocked
        XREAD, not a thousand status reads every quarter second. Each waiter still
        reads its job's status every ``WAIT_RECHECK`` seconds (a trimmed stream, a
        Redis restart), so a missed entry delays a waiter, it never strands one.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        woken = await self._ended.register(job_id)
        try:
            while True:
                job = await self.status(job_id)
                if job.done:
                    return job
                left = WAIT_RECHECK if deadline is None else deadline - time.monotonic()
                if left <= 0:
                    status = job.status.value
                    raise TimeoutError(f"job {job_id} is still {status} after {timeout} s")
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(min(left, WAIT_RECHECK)):
                        await woken.wait()
                woken.clear()
                self._ended.ensure_listening()
        finally:
            self._ended.unregister(job_id, woken)

    async def follow(self, job_id: str) -> AsyncIterator[QueueEvent]:
        job = await self.status(job_id)
        # The submission is not in the event stream (it starts with the first claim).
        yield JobEvent(job_id=job_id, status=JobStatus.QUEUED, ts=job.submitted_at)
        key, last = self.events_key(job_id), "0-0"
        block = max(1, int(self.config.poll_interval * 1000))
        while True:
            with self._errors():
                reply: Any = await self.redis.xread({key: last}, count=500, block=block)
            if reply:
                for entry, fields in reply[0][1]:
                    last = entry
                    for event in parse_queue_entry(fields):
                        yield event
                        if isinstance(event, JobEvent) and event.final:
                            return
                continue
            job = await self.status(job_id)
            if job.done:  # its events expired, or the final one was never written
                yield JobEvent(
                    job_id=job_id,
                    status=job.status,
                    attempt=job.attempts,
                    error=job.error,
                    ts=job.finished_at or time.time(),
                )
                return

    async def stats(self) -> QueueStats:
        with self._errors():
            await self._ensure_groups()
            async with self.redis.pipeline(transaction=False) as pipe:
                for stream in self.streams.values():
                    pipe.xlen(stream)
                    pipe.xpending(stream, GROUP)
                pipe.zcard(self._delayed)
                pipe.xlen(self._dead)
                replies = await pipe.execute()
        waiting: dict[Priority, int] = {}
        running = 0
        for i, prio in enumerate(self.streams):
            length, pending = int(replies[2 * i]), int(replies[2 * i + 1]["pending"])
            waiting[prio] = length - pending
            running += pending
        return QueueStats(
            waiting=waiting, running=running, retrying=int(replies[6]), dead=int(replies[7])
        )

    async def dead_letters(self, *, limit: int = 100) -> builtins.list[DeadLetter]:
        with self._errors():
            entries: Any = await self.redis.xrange(self._dead, "-", "+", count=limit)
        return [
            DeadLetter(
                job_id=f["job"],
                priority=Priority(f["priority"]),
                error=f["error"],
                attempts=int(f["attempts"]),
                dead_at=int(f["dead_at"]) / 1000,
                history=tuple(Attempt.model_validate(a) for a in orjson.loads(f["history"])),
            )
            for _, f in entries
        ]

    async def retry_dead(self, job_id: str) -> Job:
        status = await self._run("RETRY_DEAD", job_id)
        if status == "missing":
            raise JobNotFoundError(job_id)
        if status != "queued":
            raise JobStateError(
                f"job {job_id} is {status}, not dead: only dead letters can be retried"
            )
        return await self.status(job_id)

    async def purge_dead(self) -> int:
        total = 0
        while True:
            deleted, seen = await self._run("PURGE", _PURGE_BATCH)
            total += int(deleted)
            if int(seen) < _PURGE_BATCH:
                return total

    # -- workers -----------------------------------------------------------

    def _first_priority(self) -> str:
        """Where this claim starts looking (see base.claim_order)."""
        return claim_order(self._claims, self.config.fairness)[0].value

    async def claim(self, worker: str, *, timeout: float) -> Claim | None:
        deadline = time.monotonic() + timeout
        while True:
            looked = self._looked.pop(worker, None)
            if looked is not None and time.monotonic() - looked[0] < FRESH_LOOK:
                # This worker's last finish looked a moment ago and found nothing:
                # wait for new entries straight away.
                reply = ["", looked[1], looked[2]]
            else:
                reply = await self._run("CLAIM", worker, self._first_priority())
            if reply[0] == "again":  # skipped many stale entries; more may follow
                continue
            if reply[0]:
                claim = await self._claim_from(reply, worker)
                if claim is not None:
                    return claim
                continue
            remaining = deadline - time.monotonic()
            block = min(remaining, self.config.poll_interval)
            if reply[1]:  # a retry falls due before then
                block = min(block, (float(reply[1]) - int(reply[2])) / 1000)
            if block < 0.001:
                if remaining <= 0:
                    return None
                continue
            claim = await self._wait_for_entry(worker, block)
            if claim is not None:
                return claim

    async def _wait_for_entry(self, worker: str, block: float) -> Claim | None:
        """Block until Redis delivers a new entry to this worker, then take it."""
        streams: dict[Any, Any] = {self.streams[p]: ">" for p in Priority}
        with self._errors():
            try:
                delivered: Any = await self.redis.xreadgroup(
                    GROUP, worker, streams, count=1, block=max(1, int(block * 1000))
                )
            except ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                self._groups_ready = False  # Redis lost the groups; the next claim remakes them
                return None
        if not delivered:
            return None
        args: builtins.list[str] = [worker, self._first_priority()]
        for stream, entries in delivered:  # best priority first: the order of self.streams
            for entry, fields in entries:
                args += [stream, entry, fields["job"]]
        reply = await self._run("ADOPT", *args)
        return await self._claim_from(reply, worker) if reply[0] else None

    async def _claim_from(self, reply: Sequence[Any], worker: str) -> Claim | None:
        self._claims += 1
        job_id, entry, priority, attempt, request, queued_at, now, lost, trace, session = reply
        try:
            parsed: Payload = parse_payload(request)
            error = None
        except InvalidRequestError as exc:
            parsed, error = _UNREADABLE, f"the stored request is invalid: {exc}"
        claim = Claim(
            job_id=job_id,
            request=parsed,
            priority=Priority(priority),
            attempt=int(attempt),
            worker=worker,
            token=entry,
            queued_at=int(queued_at) / 1000,
            started_at=int(now) / 1000,
            reclaimed=bool(int(lost)),
            traceparent=trace or None,
            session_id=session or None,
        )
        if error is None:
            return claim
        # Only a hand-edited or foreign entry gets here; retrying cannot help.
        await self.fail(claim, error, retry=False)
        return None

    async def heartbeat(self, claims: Sequence[Claim]) -> dict[str, Lease]:
        if not claims:
            return {}
        args: builtins.list[str] = [claims[0].worker]
        for c in claims:
            args += [c.job_id, c.priority.value, c.token]
        reply = await self._run("HEARTBEAT", *args)
        return {c.job_id: Lease(state) for c, state in zip(claims, reply, strict=True)}

    async def _finish(
        self, claim: Claim, outcome: str, payload: str, *, claim_next: bool = False
    ) -> tuple[JobStatus | None, Claim | None]:
        config = self.config
        backoff = retry_delay(claim.attempt, config.backoff, config.backoff_max)
        reply = await self._run(
            "FINISH",
            claim.worker,
            self._first_priority(),
            claim.job_id,
            claim.token,
            claim.priority.value,
            outcome,
            payload,
            int(backoff * 1000),
            int(claim_next),
        )
        if reply[0] == "lost":
            return None, None
        status = JobStatus(reply[0])
        if len(reply) == 1:
            return status, None
        if reply[1] == "":  # it looked for the next job and found none
            self._looked[claim.worker] = (time.monotonic(), reply[2], reply[3])
            return status, None
        return status, await self._claim_from(reply[1:], claim.worker)

    async def complete(self, claim: Claim, result: JobResult) -> JobStatus | None:
        return (await self._finish(claim, "succeeded", result.model_dump_json()))[0]

    async def complete_and_claim(
        self, claim: Claim, result: JobResult
    ) -> tuple[JobStatus | None, Claim | None]:
        return await self._finish(claim, "succeeded", result.model_dump_json(), claim_next=True)

    async def fail(self, claim: Claim, error: str, *, retry: bool = True) -> JobStatus | None:
        outcome = "failed" if retry else "fatal"
        return (await self._finish(claim, outcome, error or "unknown error"))[0]

    async def release(self, claim: Claim, *, cancelled: bool = False) -> JobStatus | None:
        return (await self._finish(claim, "cancelled" if cancelled else "released", ""))[0]

    async def publish(self, claim: Claim, events: Sequence[Event]) -> None:
        if not events:
            return
        # One entry per batch: a run's ~90 events cost a few writes. The stream's
        # TTL is set by the job's final state change (see scripts.journal).
        batch = "[" + ",".join(event.model_dump_json() for event in events) + "]"
        with self._errors():
            await self.redis.xadd(
                self.events_key(claim.job_id),
                {"b": batch},
                maxlen=self.config.events_maxlen,
                approximate=True,
            )


def _job(fields: dict[str, str]) -> Job:
    """A Job from its status hash."""
    history = sorted(
        (Attempt.model_validate_json(v) for k, v in fields.items() if k.startswith("attempt:")),
        key=lambda a: a.number,
    )
    return Job(
        id=fields["id"],
        request=parse_payload(fields["request"]),
        priority=Priority(fields["priority"]),
        status=JobStatus(fields["status"]),
        idempotency_key=fields.get("idempotency_key") or None,
        attempts=int(fields.get("attempts", 0)),
        submitted_at=_seconds(fields["submitted_at"]) or 0.0,
        started_at=_seconds(fields.get("started_at")),
        finished_at=_seconds(fields.get("finished_at")),
        retry_at=_seconds(fields.get("retry_at")),
        worker=fields.get("worker") or None,
        error=fields.get("error") or None,
        history=tuple(history),
        traceparent=fields.get("trace") or None,
        session_id=fields.get("session") or None,
    )


#: Connections a queue client opens at most, and how long a command waits for one.
POOL_SIZE = 64
POOL_WAIT = 30.0

#: Seconds between a waiter's own status reads when no end is announced (see ``wait``).
WAIT_RECHECK = 2.0


class _EndedJobs:
    """The queue client's listener on ``P done``: wakes the waiters of each job that ends.

    One task per queue client, running while anyone waits: it reads the stream's
    last id first (``register`` returns only after, so an end between a waiter's
    status read and the listener's first XREAD is not missed), then blocks in
    XREAD from there. On a Redis error it stops and wakes every waiter, whose
    next status read raises the error as polling did; the next ``register`` or
    ``ensure_listening`` starts it again. The listener only makes waiters quick:
    what a waiter returns or raises comes from its own status reads.
    """

    def __init__(self, queue: RedisJobQueue) -> None:
        self.queue = queue
        self.waiters: dict[str, set[asyncio.Event]] = {}
        self._task: asyncio.Task[None] | None = None
        self._ready: asyncio.Future[None] | None = None

    async def register(self, job_id: str) -> asyncio.Event:
        woken = asyncio.Event()
        self.waiters.setdefault(job_id, set()).add(woken)
        try:
            self.ensure_listening()
            assert self._ready is not None
            # A listener that cannot reach Redis is no error of the waiter's: its own
            # status read reports Redis's state, and it re-reads until one listens.
            with contextlib.suppress(QueueError):
                await asyncio.shield(self._ready)
        except BaseException:
            self.unregister(job_id, woken)
            raise
        return woken

    def unregister(self, job_id: str, woken: asyncio.Event) -> None:
        events = self.waiters.get(job_id)
        if events is not None:
            events.discard(woken)
            if not events:
                del self.waiters[job_id]

    def ensure_listening(self) -> None:
        if self._task is None or self._task.done():
            self._ready = asyncio.get_running_loop().create_future()
            self._task = asyncio.create_task(self._listen(self._ready), name="vgkit-queue-ended")

    async def _listen(self, ready: asyncio.Future[None]) -> None:
        redis, key = self.queue.redis, self.queue.done_key
        try:
            with self.queue._errors():
                last: Any = await redis.xrevrange(key, count=1)
        except asyncio.CancelledError:
            ready.cancel()
            raise
        except Exception as exc:
            ready.set_exception(exc)
            ready.exception()  # seen: waiters learn Redis's state from their status reads
            return
        cursor = last[0][0] if last else "0-0"
        ready.set_result(None)
        block = int(WAIT_RECHECK * 1000)
        try:
            while self.waiters:
                reply: Any = await redis.xread({key: cursor}, count=1000, block=block)
                for entry, fields in reply[0][1] if reply else ():
                    cursor = entry
                    for woken in self.waiters.get(fields.get("job", ""), ()):
                        woken.set()
        except RedisError:
            for events in self.waiters.values():  # their status reads raise it
                for woken in events:
                    woken.set()

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            await stop(task)
