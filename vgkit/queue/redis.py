"""RedisJobQueue: the job queue on Redis Streams, shared by any number of workers.

One stream per priority with one consumer group (``workers``): a claim reads
the streams in the order :func:`~vgkit.queue.base.claim_order` gives (high,
normal, low, with a fairness ratio so low never starves) and marks the job
running in the same Lua step. A worker renews its claims with heartbeats; an
entry idle for longer than the visibility timeout (its worker crashed or hung)
is taken over by the next claim with XAUTOCLAIM. A failed attempt is retried
after an exponential backoff (a sorted set the claim step drains) until
``max_attempts``, then the job moves to the dead-letter stream with its error
and attempt history. Results live under their own key with a TTL; a job's
events go to a capped per-job stream, so a follower that starts late still sees
them from the beginning. Everything is JSON; see :mod:`vgkit.queue.scripts` for
the keys and why each state change is a script.
"""

from __future__ import annotations

import asyncio
import builtins
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson
import redis.asyncio as aioredis
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError, ResponseError

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
    Attempt,
    Claim,
    DeadLetter,
    Job,
    JobEvent,
    JobResult,
    JobStatus,
    Lease,
    Priority,
    QueueConfig,
    QueueEvent,
    QueueStats,
    check_submission,
    claim_order,
    new_job_id,
    parse_queue_event,
    retry_delay,
)

__all__ = ["GROUP", "RedisJobQueue", "display_url"]

#: The consumer group every worker joins.
GROUP = "workers"
#: Idle time given to a handed-back entry so the next claim's XAUTOCLAIM takes it
#: at once, whatever visibility timeout that worker uses (ten days, in ms).
RELEASED_IDLE_MS = 10 * 24 * 3600 * 1000
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


def _seconds(ms: str | None) -> float | None:
    return None if ms in (None, "") else int(float(ms)) / 1000


class RedisJobQueue:
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
            self.redis: aioredis.Redis = aioredis.Redis.from_url(
                url, decode_responses=True, socket_connect_timeout=2.0
            )
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
        self._cursor = self.prefix + "cursor"
        self._scripts: dict[str, AsyncScript] = {
            name: self.redis.register_script(getattr(scripts, name)) for name in scripts.__all__
        }
        self._claims = 0
        self._groups_ready = False
        self._submitted = (metrics if metrics is not None else default_registry()).queue_submitted()

    # -- plumbing ----------------------------------------------------------

    def job_key(self, job_id: str) -> str:
        return f"{self.prefix}job:{job_id}"

    def events_key(self, job_id: str) -> str:
        return f"{self.prefix}events:{job_id}"

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
        for stream in self.streams.values():
            try:
                # From id 0, not $: entries added before the group existed are work too.
                await self.redis.xgroup_create(stream, GROUP, id="0", mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
        self._groups_ready = True

    async def _run(self, name: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        with self._errors():
            await self._ensure_groups()
            try:
                return await self._scripts[name](keys=keys, args=args)
            except ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                # Someone deleted a stream (and its group): recreate, then try once more.
                self._groups_ready = False
                await self._ensure_groups()
                return await self._scripts[name](keys=keys, args=args)

    async def aclose(self) -> None:
        if self._owned:
            await self.redis.aclose()

    async def __aenter__(self) -> RedisJobQueue:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- clients -----------------------------------------------------------

    async def submit(
        self,
        request: VideoRequest,
        *,
        priority: Priority | str = Priority.NORMAL,
        idempotency_key: str | None = None,
    ) -> str:
        prio = Priority.parse(priority)
        key = check_submission(request, idempotency_key)
        job_id = new_job_id()
        keys = [
            self.job_key(job_id),
            self.streams[prio],
            self._index,
            f"{self.prefix}idem:{key or ''}",
            *self.streams.values(),
        ]
        args = [
            job_id,
            prio.value,
            request.to_json(indent=False),
            key or "",
            self.prefix,
            self.config.maxsize or 0,
            self.config.events_maxlen,
            self._ttl_ms,
        ]
        found, created = await self._run("SUBMIT", keys, args)
        if not found:
            raise QueueFullError(int(created), self.config.maxsize or 0)
        if int(created):
            self._submitted.labels(prio.value).inc()
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
        args = [job_id, GROUP, self.prefix, self._ttl_ms, self.config.events_maxlen]
        status = await self._run("CANCEL", [self.job_key(job_id), self._delayed], args)
        if status == "missing":
            raise JobNotFoundError(job_id)
        return JobStatus(status)

    async def list(self, *, status: JobStatus | None = None, limit: int = 50) -> builtins.list[Job]:
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
                    elif status is None or fields.get("status") == status.value:
                        jobs.append(_job(fields))
            if gone:  # finished jobs whose TTL ran out
                await self.redis.zrem(self._index, *gone)
        return jobs[:limit]

    async def wait(self, job_id: str, *, timeout: float | None = None) -> Job:
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = 0.01
        while True:
            job = await self.status(job_id)
            if job.done:
                return job
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"job {job_id} is still {job.status.value} after {timeout} s")
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.25)

    async def follow(self, job_id: str) -> AsyncIterator[QueueEvent]:
        job = await self.status(job_id)
        key, last = self.events_key(job_id), "0-0"
        block = max(1, int(self.config.poll_interval * 1000))
        while True:
            with self._errors():
                reply: Any = await self.redis.xread({key: last}, count=500, block=block)
            if reply:
                for entry, fields in reply[0][1]:
                    last = entry
                    event = parse_queue_event(fields["e"])
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
        args = [job_id, self.prefix, self.config.events_maxlen, self._ttl_ms]
        status = await self._run("RETRY_DEAD", [self.job_key(job_id), self._dead], args)
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
            deleted, seen = await self._run(
                "PURGE", [self._dead, self._index], [self.prefix, _PURGE_BATCH]
            )
            total += int(deleted)
            if int(seen) < _PURGE_BATCH:
                return total

    # -- workers -----------------------------------------------------------

    async def claim(self, worker: str, *, timeout: float) -> Claim | None:
        deadline = time.monotonic() + timeout
        config = self.config
        while True:
            order = claim_order(self._claims, config.fairness)
            streams = [self.streams[p] for p in order]
            keys = [*streams, self._delayed, self._dead, self._cursor]
            args = [
                GROUP,
                worker,
                int(config.visibility_timeout * 1000),
                config.max_attempts,
                self.prefix,
                config.events_maxlen,
                self._ttl_ms,
            ]
            reply = await self._run("CLAIM", keys, args)
            if reply[0] == "again":  # skipped many stale entries; more may follow
                continue
            if reply[0]:
                self._claims += 1
                claim = await self._claim_from(reply, worker)
                if claim is not None:
                    return claim
                continue
            remaining = deadline - time.monotonic()
            block = min(remaining, config.poll_interval)
            if reply[4]:  # a retry falls due before then
                block = min(block, (float(reply[4]) - int(reply[5])) / 1000)
            if block < 0.001:
                if remaining <= 0:
                    return None
                continue
            with self._errors():
                # Wake on any entry added after the tails the script saw.
                await self.redis.xread(
                    dict(zip(streams, reply[1:4], strict=True)), count=1, block=int(block * 1000)
                )

    async def _claim_from(self, reply: Sequence[Any], worker: str) -> Claim | None:
        job_id, entry, priority, attempt, request, queued_at, now, lost = reply
        try:
            parsed = VideoRequest.from_json(request)
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
        )
        if error is None:
            return claim
        # Only a hand-edited or foreign entry gets here; retrying cannot help.
        await self.fail(claim, error, retry=False)
        return None

    async def heartbeat(self, claims: Sequence[Claim]) -> dict[str, Lease]:
        if not claims:
            return {}
        keys = [self.job_key(c.job_id) for c in claims]
        args: builtins.list[Any] = [claims[0].worker, GROUP]
        for c in claims:
            args += [self.streams[c.priority], c.token]
        reply = await self._run("HEARTBEAT", keys, args)
        return {c.job_id: Lease(state) for c, state in zip(claims, reply, strict=True)}

    async def _finish(self, claim: Claim, outcome: str, payload: str) -> JobStatus | None:
        config = self.config
        backoff = retry_delay(claim.attempt, config.backoff, config.backoff_max)
        keys = [
            self.job_key(claim.job_id),
            self.streams[claim.priority],
            self._delayed,
            self._dead,
            self.result_key(claim.job_id),
        ]
        args = [
            claim.job_id,
            claim.token,
            claim.worker,
            GROUP,
            outcome,
            payload,
            self._ttl_ms,
            config.max_attempts,
            int(backoff * 1000),
            self.prefix,
            config.events_maxlen,
            RELEASED_IDLE_MS,
        ]
        reply = await self._run("FINISH", keys, args)
        return None if reply[0] == "lost" else JobStatus(reply[0])

    async def complete(self, claim: Claim, result: JobResult) -> JobStatus | None:
        return await self._finish(claim, "succeeded", result.model_dump_json())

    async def fail(self, claim: Claim, error: str, *, retry: bool = True) -> JobStatus | None:
        return await self._finish(claim, "failed" if retry else "fatal", error or "unknown error")

    async def release(self, claim: Claim, *, cancelled: bool = False) -> JobStatus | None:
        return await self._finish(claim, "cancelled" if cancelled else "released", "")

    async def publish(self, claim: Claim, events: Sequence[Event]) -> None:
        if not events:
            return
        key = self.events_key(claim.job_id)
        with self._errors():
            async with self.redis.pipeline(transaction=False) as pipe:
                for event in events:
                    pipe.xadd(
                        key,
                        {"e": event.model_dump_json()},
                        maxlen=self.config.events_maxlen,
                        approximate=True,
                    )
                pipe.pexpire(key, self._ttl_ms)
                await pipe.execute()


def _job(fields: dict[str, str]) -> Job:
    """A Job from its status hash."""
    history = sorted(
        (Attempt.model_validate_json(v) for k, v in fields.items() if k.startswith("attempt:")),
        key=lambda a: a.number,
    )
    return Job(
        id=fields["id"],
        request=VideoRequest.from_json(fields["request"]),
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
    )
