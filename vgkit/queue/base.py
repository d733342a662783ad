"""What a job queue is: its configuration, claims, and the protocol both queues follow.

:class:`JobQueue` is the API both implementations share: the client side
(``submit``, ``status``, ``result``, ``cancel``, ``list``, ``wait``, ``follow``,
the dead letters) and the side a :class:`~vgkit.queue.worker.Worker` uses
(``claim``, ``heartbeat``, ``complete``, ``complete_and_claim``, ``fail``,
``release``, ``publish``). The records it passes around (jobs, results, events)
are in :mod:`vgkit.queue.jobs`.
"""

from __future__ import annotations

import builtins
import random
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

from vgkit import tracing
from vgkit.errors import ConfigError, InvalidRequestError
from vgkit.events import Event
from vgkit.metrics import MetricsRegistry
from vgkit.models import VideoRequest
from vgkit.queue.jobs import (
    DeadLetter,
    Job,
    JobResult,
    JobStatus,
    Payload,
    Priority,
    QueueEvent,
    Task,
)
from vgkit.sessions import new_session_id

__all__ = [
    "DEFAULT_AGING",
    "DEFAULT_BACKOFF",
    "DEFAULT_BACKOFF_MAX",
    "DEFAULT_EVENTS_MAXLEN",
    "DEFAULT_FAIRNESS",
    "DEFAULT_MAXSIZE",
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_POLL_INTERVAL",
    "DEFAULT_RESULT_TTL",
    "DEFAULT_VISIBILITY_TIMEOUT",
    "MAX_IDEMPOTENCY_KEY",
    "Claim",
    "JobQueue",
    "Lease",
    "QueueConfig",
    "QueueStats",
    "check_submission",
    "claim_order",
    "retry_delay",
    "submit_span",
]

DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_VISIBILITY_TIMEOUT = 30.0
DEFAULT_BACKOFF = 1.0
DEFAULT_BACKOFF_MAX = 60.0
DEFAULT_RESULT_TTL = 24 * 3600.0
DEFAULT_FAIRNESS = 4
DEFAULT_MAXSIZE = 10_000
DEFAULT_AGING = 10.0
DEFAULT_EVENTS_MAXLEN = 1000
DEFAULT_POLL_INTERVAL = 1.0
MAX_IDEMPOTENCY_KEY = 200


class Lease(StrEnum):
    """What a heartbeat learns about a claimed job."""

    HELD = "held"
    LOST = "lost"
    """Another worker reclaimed it (this one stopped heart-beating for too long)."""
    CANCEL = "cancel"
    """Someone asked to cancel it."""


@dataclass(frozen=True, kw_only=True)
class QueueConfig:
    """How a queue retries, times out, keeps results and orders work.

    ``max_attempts``: runs before a failing job goes to the dead letters.
    ``backoff`` / ``backoff_max``: seconds before retry n, ``backoff * 2**(n-1)``
    (half of it jittered), capped. ``result_ttl``: how long results, finished
    jobs and their events stay. ``maxsize``: jobs waiting (Redis: queued or
    running) before ``submit`` raises QueueFullError. ``events_maxlen``: entries
    kept in a job's event stream (state changes and batches of progress events).

    Redis only: ``visibility_timeout`` (seconds without a heartbeat before another
    worker reclaims a job), ``fairness`` (claims from the level above per claim
    that starts lower; None for strict priority), ``poll_interval`` (longest
    sleep of an idle worker before it looks for retries and reclaimable jobs).
    Local only: ``aging`` (seconds of waiting worth one priority level).
    """

    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    backoff: float = DEFAULT_BACKOFF
    backoff_max: float = DEFAULT_BACKOFF_MAX
    result_ttl: float = DEFAULT_RESULT_TTL
    maxsize: int | None = DEFAULT_MAXSIZE
    events_maxlen: int = DEFAULT_EVENTS_MAXLEN
    visibility_timeout: float = DEFAULT_VISIBILITY_TIMEOUT
    fairness: int | None = DEFAULT_FAIRNESS
    poll_interval: float = DEFAULT_POLL_INTERVAL
    aging: float = DEFAULT_AGING

    def __post_init__(self) -> None:
        positive = {
            "max_attempts": self.max_attempts,
            "result_ttl": self.result_ttl,
            "events_maxlen": self.events_maxlen,
            "visibility_timeout": self.visibility_timeout,
            "poll_interval": self.poll_interval,
            "aging": self.aging,
            "maxsize": 1 if self.maxsize is None else self.maxsize,
            "fairness": 1 if self.fairness is None else self.fairness,
        }
        for name, value in positive.items():
            if not value > 0:
                raise ConfigError(f"queue {name} must be positive, not {value}")
        if self.backoff < 0 or self.backoff_max < self.backoff:
            raise ConfigError(
                f"queue backoff must satisfy 0 <= backoff <= backoff_max, "
                f"not {self.backoff} and {self.backoff_max}"
            )

    @property
    def heartbeat_interval(self) -> float:
        """How often a worker renews its claims: well inside the visibility timeout."""
        return min(self.visibility_timeout / 3, 2.0)


def retry_delay(attempt: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Seconds before retrying after failed attempt ``attempt`` (1-based).

    Exponential (``base * 2**(attempt-1)``, capped) with half of it jittered, so
    jobs that failed together do not all come back in the same millisecond.
    """
    full = min(cap, base * 2.0 ** max(attempt - 1, 0))
    return full / 2 + (rng.uniform if rng is not None else random.uniform)(0, full / 2)


def check_submission(request: Payload, idempotency_key: str | None) -> str | None:
    """Validate what ``submit`` got; the idempotency key, stripped (None if absent)."""
    if not isinstance(request, VideoRequest | Task):
        raise InvalidRequestError(
            f"submit takes a VideoRequest or a Task, not {type(request).__name__}; "
            "build one with VideoRequest(topic=...)"
        )
    if idempotency_key is None:
        return None
    key = idempotency_key.strip()
    if not key or len(key) > MAX_IDEMPOTENCY_KEY:
        raise InvalidRequestError(
            f"idempotency key must be 1-{MAX_IDEMPOTENCY_KEY} characters, not {len(key)}"
        )
    return key


@contextmanager
def submit_span(job_id: str, registry: MetricsRegistry) -> Iterator[tracing.Span]:
    """The submitter's span of a job (child of the current span, or a new trace), in the
    current session or a new one; the job carries both to the worker that runs it."""
    session = tracing.current_session_id() or new_session_id()
    with tracing.span(
        "submit", kind="submit", registry=registry, session_id=session, node=job_id
    ) as span:
        yield span


def claim_order(n: int, fairness: int | None) -> tuple[Priority, ...]:
    """The order in which a worker's ``n``-th claim (0-based) looks at the priorities.

    With fairness ``R``, ``R`` claims in ``R + 1`` look at high first; the other
    looks below high first (normal, then low), and one in ``R + 1`` of those
    looks at low first. When every level has work that serves high, normal and
    low about ``R*(R+1) : R : 1``; so high is preferred and low never starves.
    ``None`` is strict priority.
    """
    high_first = (Priority.HIGH, Priority.NORMAL, Priority.LOW)
    if fairness is None or n % (fairness + 1) < fairness:
        return high_first
    if (n // (fairness + 1)) % (fairness + 1) < fairness:
        return (Priority.NORMAL, Priority.LOW, Priority.HIGH)
    return (Priority.LOW, Priority.NORMAL, Priority.HIGH)


@dataclass(frozen=True, slots=True)
class Claim:
    """A job a worker holds: run it, then complete, fail or release it."""

    job_id: str
    request: Payload
    """The request to run, or the task (``isinstance(claim.request, Task)``)."""
    priority: Priority
    attempt: int
    worker: str
    token: str
    """Which delivery this is (the Redis stream entry id); a stale token is refused."""
    queued_at: float
    started_at: float
    reclaimed: bool = False
    traceparent: str | None = None
    """The submitter's span (W3C ``traceparent``): the worker's run continues its trace."""
    session_id: str | None = None
    """The session the job belongs to (the submitter's, or one made at submission)."""

    @property
    def wait(self) -> float:
        """Seconds the job waited in the queue before this claim."""
        return max(0.0, self.started_at - self.queued_at)


@dataclass(frozen=True, slots=True)
class QueueStats:
    """How many jobs are where right now."""

    waiting: dict[Priority, int]
    running: int
    retrying: int
    dead: int

    @property
    def depth(self) -> int:
        return sum(self.waiting.values())


@runtime_checkable
class JobQueue(Protocol):
    """The API :class:`LocalJobQueue` and :class:`RedisJobQueue` share."""

    config: QueueConfig

    # -- clients -----------------------------------------------------------

    async def submit(
        self,
        request: Payload,
        *,
        priority: Priority | str = Priority.NORMAL,
        idempotency_key: str | None = None,
    ) -> str:
        """Queue a request or task; the job id. The same idempotency key gives the same job."""
        ...

    async def status(self, job_id: str) -> Job:
        """The job now (JobNotFoundError when unknown or expired)."""
        ...

    async def result(self, job_id: str) -> JobResult | None:
        """The result of a succeeded job, None while it is not (or no longer) there."""
        ...

    async def cancel(self, job_id: str) -> JobStatus:
        """Cancel a job; its status afterwards (running jobs stop at the next heartbeat)."""
        ...

    async def list(
        self, *, status: JobStatus | str | None = None, limit: int = 50
    ) -> builtins.list[Job]:
        """Jobs, newest first."""
        ...

    async def wait(self, job_id: str, *, timeout: float | None = None) -> Job:
        """Wait until the job is succeeded, dead or cancelled (TimeoutError after timeout)."""
        ...

    def follow(self, job_id: str) -> AsyncIterator[QueueEvent]:
        """The job's events from the start, live, until it succeeds, dies or is cancelled."""
        ...

    async def stats(self) -> QueueStats: ...

    async def dead_letters(self, *, limit: int = 100) -> builtins.list[DeadLetter]: ...

    async def retry_dead(self, job_id: str) -> Job:
        """Queue a dead job again with a fresh set of attempts."""
        ...

    async def purge_dead(self) -> int:
        """Delete every dead job; how many there were."""
        ...

    async def aclose(self) -> None: ...

    # -- workers -----------------------------------------------------------

    async def claim(self, worker: str, *, timeout: float) -> Claim | None:
        """The next job for ``worker``, waiting up to ``timeout`` seconds."""
        ...

    async def heartbeat(self, claims: Sequence[Claim]) -> dict[str, Lease]:
        """Renew the claims; per job id, whether it is still held or to be cancelled."""
        ...

    async def complete(self, claim: Claim, result: JobResult) -> JobStatus | None:
        """Store the result; None when the claim was lost to another worker."""
        ...

    async def complete_and_claim(
        self, claim: Claim, result: JobResult
    ) -> tuple[JobStatus | None, Claim | None]:
        """``complete``, and the worker's next job if one is waiting, in one step."""
        ...

    async def fail(self, claim: Claim, error: str, *, retry: bool = True) -> JobStatus | None:
        """Record a failed attempt: ``retrying`` with backoff, or ``dead``."""
        ...

    async def release(self, claim: Claim, *, cancelled: bool = False) -> JobStatus | None:
        """Hand the job back unrun (queued again, the attempt not counted), or cancel it."""
        ...

    async def publish(self, claim: Claim, events: Sequence[Event]) -> None:
        """Append a running job's progress events for followers."""
        ...
