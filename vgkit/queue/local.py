"""LocalJobQueue: the job queue inside one process (notebooks, tests, one machine).

Same API and states as the Redis queue, kept in memory. Waiting jobs sit in a
heap ordered by ``queued_at + rank * aging`` (rank 0 high, 1 normal, 2 low):
a low job queued ``2 * aging`` seconds before a high one goes first, so waiting
raises a job's priority and low priority never starves, and no entry ever needs
re-sorting. The queue is bounded: ``submit`` raises QueueFullError once
``maxsize`` jobs are queued or running, and the jobs already there are kept.
Failed attempts are retried after a backoff until ``max_attempts``, then the job
goes to the dead-letter list. There is no visibility timeout: a job cannot
outlive the process that holds it.
"""

from __future__ import annotations

import asyncio
import builtins
import heapq
import itertools
import time
from collections import deque
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from vgkit.errors import JobNotFoundError, JobStateError, QueueFullError
from vgkit.events import Event
from vgkit.metrics import MetricsRegistry, default_registry
from vgkit.queue.base import (
    Claim,
    Lease,
    QueueConfig,
    QueueStats,
    check_submission,
    retry_delay,
    submit_span,
)
from vgkit.queue.jobs import (
    Attempt,
    AttemptOutcome,
    DeadLetter,
    Job,
    JobEvent,
    JobResult,
    JobStatus,
    Payload,
    Priority,
    QueueEvent,
    new_job_id,
)
from vgkit.resource import AsyncResource

__all__ = ["LocalJobQueue"]

_ACTIVE = frozenset({JobStatus.QUEUED, JobStatus.RUNNING})


@dataclass
class _Record:
    """A job's mutable state inside the local queue."""

    id: str
    request: Payload
    priority: Priority
    idempotency_key: str | None
    submitted_at: float
    status: JobStatus = JobStatus.QUEUED
    attempts: int = 0
    queued_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    retry_at: float | None = None
    worker: str | None = None
    error: str | None = None
    token: str = ""
    cancel: bool = False
    history: list[Attempt] = field(default_factory=list)
    result: JobResult | None = None
    events: list[QueueEvent] = field(default_factory=list)
    dropped: int = 0
    """Events dropped from the front of ``events`` (followers count from the start)."""
    traceparent: str | None = None
    session_id: str | None = None

    def snapshot(self) -> Job:
        return Job(
            id=self.id,
            request=self.request,
            priority=self.priority,
            status=self.status,
            idempotency_key=self.idempotency_key,
            attempts=self.attempts,
            submitted_at=self.submitted_at,
            started_at=self.started_at,
            finished_at=self.finished_at,
            retry_at=self.retry_at,
            worker=self.worker,
            error=self.error,
            history=tuple(self.history),
            traceparent=self.traceparent,
            session_id=self.session_id,
        )


class LocalJobQueue(AsyncResource):
    """The job queue in this process's memory (see the module docstring)."""

    def __init__(
        self, *, config: QueueConfig | None = None, metrics: MetricsRegistry | None = None
    ) -> None:
        self.config = config if config is not None else QueueConfig()
        self._jobs: dict[str, _Record] = {}
        self._idem: dict[str, str] = {}
        self._ready: list[tuple[float, int, str, str]] = []  # score, seq, id, token
        self._delayed: list[tuple[float, str]] = []  # due (epoch seconds), id
        self._dead: dict[str, DeadLetter] = {}
        self._expiry: deque[tuple[float, str]] = deque()
        self._active: set[str] = set()
        self._seq = itertools.count()
        self._changed = asyncio.Event()
        self.metrics = metrics if metrics is not None else default_registry()
        self._submitted = self.metrics.queue_submitted()

    # -- internals -----------------------------------------------------------

    def _notify(self) -> None:
        # A broadcast: everyone waiting on the old event wakes, later waiters get a new one.
        self._changed.set()
        self._changed = asyncio.Event()

    async def _until_change(self, timeout: float | None) -> None:
        changed = self._changed
        try:
            async with asyncio.timeout(timeout):
                await changed.wait()
        except TimeoutError:
            pass

    def _record(self, job_id: str) -> _Record:
        self._expire()
        rec = self._jobs.get(job_id)
        if rec is None:
            raise JobNotFoundError(job_id)
        return rec

    def _set(
        self,
        rec: _Record,
        status: JobStatus,
        *,
        worker: str | None = None,
        error: str | None = None,
        retry_at: float | None = None,
    ) -> None:
        """Move a job to ``status`` and tell its followers."""
        rec.status = status
        (self._active.add if status in _ACTIVE else self._active.discard)(rec.id)
        if status in (JobStatus.SUCCEEDED, JobStatus.CANCELLED):
            rec.finished_at = time.time()
            self._expiry.append((time.monotonic() + self.config.result_ttl, rec.id))
        event = JobEvent(
            job_id=rec.id,
            status=status,
            attempt=rec.attempts,
            worker=worker,
            error=error,
            retry_at=retry_at,
        )
        self._journal(rec, event)

    def _journal(self, rec: _Record, event: QueueEvent) -> None:
        rec.events.append(event)
        excess = len(rec.events) - self.config.events_maxlen
        if excess > 0:
            del rec.events[:excess]
            rec.dropped += excess
        self._notify()

    def _enqueue(self, rec: _Record) -> None:
        rec.queued_at = time.time()
        rec.token = str(next(self._seq))
        score = time.monotonic() + rec.priority.rank * self.config.aging
        heapq.heappush(self._ready, (score, int(rec.token), rec.id, rec.token))

    def _expire(self) -> None:
        now = time.monotonic()
        while self._expiry and self._expiry[0][0] <= now:
            _, job_id = self._expiry.popleft()
            rec = self._jobs.get(job_id)
            if rec is not None and rec.status in (JobStatus.SUCCEEDED, JobStatus.CANCELLED):
                del self._jobs[job_id]
                if rec.idempotency_key is not None:
                    self._idem.pop(rec.idempotency_key, None)

    def _promote_due(self) -> None:
        now = time.time()
        while self._delayed and self._delayed[0][0] <= now:
            _, job_id = heapq.heappop(self._delayed)
            rec = self._jobs.get(job_id)
            if rec is not None and rec.status is JobStatus.RETRYING:
                rec.retry_at = None
                self._enqueue(rec)
                self._set(rec, JobStatus.QUEUED)

    def _held(self, claim: Claim) -> _Record | None:
        rec = self._jobs.get(claim.job_id)
        if (
            rec is None
            or rec.status is not JobStatus.RUNNING
            or rec.worker != claim.worker
            or rec.token != claim.token
        ):
            return None
        return rec

    def _close_attempt(self, rec: _Record, outcome: AttemptOutcome, error: str | None) -> None:
        last = rec.history[-1]
        rec.history[-1] = last.model_copy(
            update={"finished_at": time.time(), "outcome": outcome, "error": error}
        )

    # -- clients -------------------------------------------------------------

    async def submit(
        self,
        request: Payload,
        *,
        priority: Priority | str = Priority.NORMAL,
        idempotency_key: str | None = None,
    ) -> str:
        prio = Priority.parse(priority)
        key = check_submission(request, idempotency_key)
        self._expire()
        if key is not None and key in self._idem:
            return self._idem[key]
        maxsize = self.config.maxsize
        if maxsize is not None and len(self._active) >= maxsize:
            raise QueueFullError(len(self._active), maxsize)
        rec = _Record(new_job_id(), request, prio, key, submitted_at=time.time())
        with submit_span(rec.id, self.metrics) as span:
            rec.traceparent, rec.session_id = span.context.traceparent, span.session_id
        self._jobs[rec.id] = rec
        if key is not None:
            self._idem[key] = rec.id
        self._enqueue(rec)
        self._set(rec, JobStatus.QUEUED)
        self._submitted.labels(prio.value).inc()
        return rec.id

    async def status(self, job_id: str) -> Job:
        return self._record(job_id).snapshot()

    async def result(self, job_id: str) -> JobResult | None:
        return self._record(job_id).result

    async def cancel(self, job_id: str) -> JobStatus:
        rec = self._record(job_id)
        if rec.status is JobStatus.RUNNING:
            rec.cancel = True
        elif rec.status in (JobStatus.QUEUED, JobStatus.RETRYING):
            rec.retry_at = None  # its heap entries are skipped from now on
            self._set(rec, JobStatus.CANCELLED)
        return rec.status

    async def list(
        self, *, status: JobStatus | str | None = None, limit: int = 50
    ) -> builtins.list[Job]:
        self._expire()
        wanted = None if status is None else JobStatus.parse(status)
        recs = (r for r in reversed(self._jobs.values()) if wanted is None or r.status is wanted)
        return [r.snapshot() for r in itertools.islice(recs, limit)]

    async def wait(self, job_id: str, *, timeout: float | None = None) -> Job:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            rec = self._record(job_id)
            if rec.status in (JobStatus.SUCCEEDED, JobStatus.DEAD, JobStatus.CANCELLED):
                return rec.snapshot()
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise TimeoutError(f"job {job_id} is still {rec.status.value} after {timeout} s")
            await self._until_change(left)

    async def follow(self, job_id: str) -> AsyncIterator[QueueEvent]:
        seen = 0
        while True:
            rec = self._record(job_id)
            start = max(seen - rec.dropped, 0)
            fresh = rec.events[start:]
            seen = rec.dropped + len(rec.events)
            for event in fresh:
                yield event
                if isinstance(event, JobEvent) and event.final:
                    return
            await self._until_change(None)

    async def stats(self) -> QueueStats:
        self._promote_due()
        waiting = dict.fromkeys(Priority, 0)
        running = 0
        for job_id in self._active:
            rec = self._jobs[job_id]
            if rec.status is JobStatus.QUEUED:
                waiting[rec.priority] += 1
            else:
                running += 1
        retrying = sum(1 for r in self._jobs.values() if r.status is JobStatus.RETRYING)
        return QueueStats(waiting=waiting, running=running, retrying=retrying, dead=len(self._dead))

    async def dead_letters(self, *, limit: int = 100) -> builtins.list[DeadLetter]:
        return list(itertools.islice(self._dead.values(), limit))

    async def retry_dead(self, job_id: str) -> Job:
        rec = self._record(job_id)
        if rec.status is not JobStatus.DEAD:
            raise JobStateError(
                f"job {job_id} is {rec.status.value}, not dead: only dead letters can be retried"
            )
        del self._dead[job_id]
        rec.attempts, rec.error, rec.finished_at = 0, None, None
        self._enqueue(rec)
        self._set(rec, JobStatus.QUEUED)
        return rec.snapshot()

    async def purge_dead(self) -> int:
        purged = list(self._dead)
        for job_id in purged:
            rec = self._jobs.pop(job_id)
            if rec.idempotency_key is not None:
                self._idem.pop(rec.idempotency_key, None)
        self._dead.clear()
        return len(purged)

    async def aclose(self) -> None:
        return None

    # -- workers ---------------------------------------------------------------

    async def claim(self, worker: str, *, timeout: float) -> Claim | None:
        deadline = time.monotonic() + timeout
        while True:
            self._promote_due()
            while self._ready:
                _, _, job_id, token = heapq.heappop(self._ready)
                rec = self._jobs.get(job_id)
                if rec is None or rec.status is not JobStatus.QUEUED or rec.token != token:
                    continue  # cancelled, expired, or queued again under a newer token
                return self._start(rec, worker)
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if self._delayed:
                left = min(left, max(self._delayed[0][0] - time.time(), 0.0))
            await self._until_change(left)

    def _start(self, rec: _Record, worker: str) -> Claim:
        now = time.time()
        rec.attempts += 1
        rec.started_at, rec.worker, rec.cancel = now, worker, False
        rec.history.append(Attempt(number=len(rec.history) + 1, worker=worker, started_at=now))
        self._set(rec, JobStatus.RUNNING, worker=worker)
        return Claim(
            job_id=rec.id,
            request=rec.request,
            priority=rec.priority,
            attempt=rec.attempts,
            worker=worker,
            token=rec.token,
            queued_at=rec.queued_at,
            started_at=now,
            traceparent=rec.traceparent,
            session_id=rec.session_id,
        )

    async def heartbeat(self, claims: Sequence[Claim]) -> dict[str, Lease]:
        leases = {}
        for claim in claims:
            rec = self._held(claim)
            leases[claim.job_id] = (
                Lease.LOST if rec is None else Lease.CANCEL if rec.cancel else Lease.HELD
            )
        return leases

    async def complete(self, claim: Claim, result: JobResult) -> JobStatus | None:
        rec = self._held(claim)
        if rec is None:
            return None
        rec.result, rec.error = result, None
        self._close_attempt(rec, "succeeded", None)
        self._set(rec, JobStatus.SUCCEEDED, worker=claim.worker)
        return rec.status

    async def complete_and_claim(
        self, claim: Claim, result: JobResult
    ) -> tuple[JobStatus | None, Claim | None]:
        status = await self.complete(claim, result)
        if status is None:
            return None, None
        return status, await self.claim(claim.worker, timeout=0)

    async def fail(self, claim: Claim, error: str, *, retry: bool = True) -> JobStatus | None:
        rec = self._held(claim)
        if rec is None:
            return None
        rec.error, rec.worker = error, None
        self._close_attempt(rec, "failed", error)
        if retry and rec.attempts < self.config.max_attempts:
            delay = retry_delay(rec.attempts, self.config.backoff, self.config.backoff_max)
            rec.retry_at = time.time() + delay
            heapq.heappush(self._delayed, (rec.retry_at, rec.id))
            self._set(rec, JobStatus.RETRYING, error=error, retry_at=rec.retry_at)
            return rec.status
        rec.finished_at = time.time()
        self._dead[rec.id] = DeadLetter(
            job_id=rec.id,
            priority=rec.priority,
            error=error,
            attempts=rec.attempts,
            dead_at=rec.finished_at,
            history=tuple(rec.history),
        )
        self._set(rec, JobStatus.DEAD, error=error)
        return rec.status

    async def release(self, claim: Claim, *, cancelled: bool = False) -> JobStatus | None:
        rec = self._held(claim)
        if rec is None:
            return None
        rec.worker = None
        if cancelled:
            self._close_attempt(rec, "cancelled", None)
            self._set(rec, JobStatus.CANCELLED)
            return rec.status
        self._close_attempt(rec, "released", None)
        rec.attempts -= 1
        # Back at the head of its priority: the score it had when it was first queued.
        rec.token = str(next(self._seq))
        waited = time.time() - rec.queued_at
        score = time.monotonic() - waited + rec.priority.rank * self.config.aging
        heapq.heappush(self._ready, (score, int(rec.token), rec.id, rec.token))
        self._set(rec, JobStatus.QUEUED)
        return rec.status

    async def publish(self, claim: Claim, events: Sequence[Event]) -> None:
        rec = self._jobs.get(claim.job_id)
        if rec is not None:
            for event in events:
                self._journal(rec, event)
