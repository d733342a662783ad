"""The job records: priorities, states, attempts, results, dead letters, events.

All JSON-ready pydantic models (or string enums), so a job can live in Redis and
cross processes without pickle. A job carries a :class:`~vgkit.models.VideoRequest`
(a worker runs it through the orchestrator) or a :class:`Task` (a worker runs the
handler registered for its kind, such as a render or one shot clip of a
distributed render). A job's life::

    queued -> running -> succeeded
                      -> retrying -> queued ...      (failed, attempts left: backoff)
                      -> dead                        (failed max_attempts times: dead letters)
                      -> queued                      (handed back by a stopping worker)
    queued | retrying | running -> cancelled
    dead -> queued                                   (retried from the dead letters)
"""

from __future__ import annotations

import time
import uuid
from enum import StrEnum
from typing import Any, Literal, TypeVar

import orjson
from pydantic import Field, ValidationError

from vgkit import tracing
from vgkit.errors import InvalidRequestError
from vgkit.events import Event, parse_event
from vgkit.generation import GenerationResult
from vgkit.models import Model, VideoPlan, VideoRequest
from vgkit.models import _describe as describe_error  # the one-line form of a ValidationError
from vgkit.platforms import Platform

__all__ = [
    "TERMINAL",
    "Attempt",
    "AttemptOutcome",
    "DeadLetter",
    "Job",
    "JobEvent",
    "JobResult",
    "JobStatus",
    "Payload",
    "Priority",
    "QueueEvent",
    "Task",
    "new_job_id",
    "parse_payload",
    "parse_queue_entry",
    "parse_queue_event",
]


_E = TypeVar("_E", bound=StrEnum)


def _parse(kind: type[_E], value: object, what: str) -> _E:
    try:
        return kind(str(value).strip().lower())
    except ValueError:
        choices = ", ".join(member.value for member in kind)
        raise InvalidRequestError(f"unknown {what} {value!r}; choose from {choices}") from None


class Priority(StrEnum):
    """How urgent a job is; workers take high before normal before low."""

    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"

    @property
    def rank(self) -> int:
        """0 for high, 1 for normal, 2 for low."""
        return _RANKS[self]

    @classmethod
    def parse(cls, value: Priority | str) -> Priority:
        """A priority from its name; InvalidRequestError names the choices."""
        return _parse(cls, value, "priority")


_RANKS = {Priority.HIGH: 0, Priority.NORMAL: 1, Priority.LOW: 2}


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    RETRYING = "retrying"
    SUCCEEDED = "succeeded"
    DEAD = "dead"
    CANCELLED = "cancelled"

    @classmethod
    def parse(cls, value: JobStatus | str) -> JobStatus:
        """A status from its name; InvalidRequestError names the choices."""
        return _parse(cls, value, "status")


#: States a job never leaves on its own (a dead job leaves only by ``retry_dead``).
TERMINAL = frozenset({JobStatus.SUCCEEDED, JobStatus.DEAD, JobStatus.CANCELLED})

AttemptOutcome = Literal["running", "succeeded", "failed", "lost", "released", "cancelled"]


def new_job_id() -> str:
    """``j-`` + milliseconds since the epoch (hex) + 8 random hex: ids sort by submission."""
    return f"j-{time.time_ns() // 1_000_000:011x}-{uuid.uuid4().hex[:8]}"


class Task(Model):
    """Work other than generating plans: a kind a worker has a handler for, and its JSON.

    ``task`` names the handler (``render``: generate, then render the plans;
    ``render.clip``: one shot or transition clip of a distributed render); ``args``
    is plain JSON; ``request`` is the request the work serves, when there is one
    (``vgkit jobs`` shows its topic); ``label`` says what it is in one line.
    """

    task: str = Field(min_length=1, max_length=100, pattern=r"^[a-z][a-z0-9_.-]*$")
    args: dict[str, Any] = Field(default_factory=dict)
    request: VideoRequest | None = None
    label: str = Field("", max_length=200)

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise InvalidRequestError(f"invalid task: {describe_error(exc)}") from None

    @property
    def topic(self) -> str:
        """What ``vgkit jobs`` lists: the label, else the request's topic."""
        if self.label:
            return self.label
        return self.request.topic if self.request is not None else self.task


#: What a job carries.
Payload = VideoRequest | Task


def parse_payload(data: str | bytes) -> Payload:
    """A job's payload from its JSON: a Task when it names one, else a VideoRequest."""
    try:
        raw = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequestError(f"a job payload is not JSON: {exc}") from None
    if isinstance(raw, dict) and "task" in raw:
        return Task.from_json(data)
    return VideoRequest.from_json(data)


class Attempt(Model):
    """One run of a job by a worker."""

    number: int = Field(description="1-based, across retries from the dead letters too")
    worker: str
    started_at: float
    finished_at: float | None = None
    outcome: AttemptOutcome = "running"
    error: str | None = None


class Job(Model):
    """A job as the queue sees it now (a snapshot; ask the queue again for news)."""

    id: str
    request: VideoRequest | Task
    priority: Priority
    status: JobStatus
    idempotency_key: str | None = None
    attempts: int = Field(0, description="attempts counted against max_attempts")
    submitted_at: float
    started_at: float | None = None
    finished_at: float | None = None
    retry_at: float | None = None
    worker: str | None = None
    error: str | None = None
    history: tuple[Attempt, ...] = ()
    traceparent: str | None = Field(None, description="the submitter's span (W3C traceparent)")
    session_id: str | None = None

    @property
    def trace_id(self) -> str | None:
        ctx = tracing.parse_traceparent(self.traceparent)
        return ctx.trace_id if ctx is not None else None

    @property
    def done(self) -> bool:
        return self.status in TERMINAL

    @property
    def wait_seconds(self) -> float | None:
        """Submission to the first start, in seconds (None if it never started)."""
        first = self.history[0].started_at if self.history else self.started_at
        return None if first is None else round(first - self.submitted_at, 6)

    def summary(self) -> str:
        """One line for ``vgkit jobs``."""
        topic = self.request.topic
        if isinstance(self.request, Task):
            topic = f"[{self.request.task}] {topic}"
        topic = topic if len(topic) <= 40 else topic[:39] + "…"
        age = time.strftime("%H:%M:%S", time.localtime(self.submitted_at))
        return (
            f"{self.id}  {self.priority.value:<6} {self.status.value:<9} "
            f"{self.attempts:>2}  {age}  {topic}"
        )


class JobResult(Model):
    """What a finished job produced: the plans, the videos and the run's figures.

    ``videos``: per platform, the path of the MP4 a render wrote (on the machine
    of ``worker``). ``output``: a task's JSON result (what a ``render.clip``
    stored, and where).
    """

    job_id: str
    session_id: str
    worker: str
    ok: bool
    makespan: float
    plans: dict[Platform, VideoPlan] = Field(default_factory=dict)
    failures: dict[str, str] = Field(default_factory=dict)
    cache_hits: int = 0
    cache_misses: int = 0
    seconds_saved: float = 0.0
    trace_id: str = ""
    spans: tuple[dict[str, Any], ...] = Field(
        (), description="the worker's spans of the job's trace (vgkit.tracing.Span.as_dict)"
    )
    videos: dict[str, str] = Field(default_factory=dict)
    output: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def from_generation(
        cls,
        job_id: str,
        worker: str,
        result: GenerationResult,
        spans: tuple[tracing.Span, ...] = (),
    ) -> JobResult:
        """The result of a run; ``spans`` are the worker's own (its job span) beside the run's."""
        return cls(
            trace_id=result.trace_id,
            spans=tuple(s.as_dict() for s in (*spans, *result.spans)),
            job_id=job_id,
            session_id=result.session_id,
            worker=worker,
            ok=result.ok,
            makespan=result.makespan,
            plans=result.plans,
            failures=result.failures,
            cache_hits=sum(result.cache_hits.values()),
            cache_misses=sum(result.cache_misses.values()),
            seconds_saved=result.seconds_saved,
            videos={p.value: str(v.path) for p, v in result.videos.items()},
        )

    def plan(self, platform: Platform | str) -> VideoPlan:
        return self.plans[Platform(platform)]

    def trace_frame(self) -> Any:
        """The job's trace as the worker recorded it, one row per span (a DataFrame, as
        ``GenerationResult.trace_frame``): the job, the run, every agent call."""
        return tracing.spans_frame(tracing.Span.from_dict(s) for s in self.spans)


class DeadLetter(Model):
    """A job that failed ``max_attempts`` times, with why and every attempt."""

    job_id: str
    priority: Priority
    error: str
    attempts: int
    dead_at: float
    history: tuple[Attempt, ...] = ()


class JobEvent(Model):
    """A job changed state (published next to the orchestrator's progress events)."""

    type: Literal["job"] = "job"
    job_id: str
    status: JobStatus
    attempt: int = 0
    worker: str | None = None
    error: str | None = None
    retry_at: float | None = None
    ts: float = Field(default_factory=time.time)

    @property
    def final(self) -> bool:
        return self.status in TERMINAL


#: What following a job yields: its state changes and the orchestrator's events.
QueueEvent = JobEvent | Event


def _from_dict(raw: dict[str, Any]) -> QueueEvent:
    if raw.get("type") == "job":
        return JobEvent.model_validate(raw)
    return parse_event(raw)


def parse_queue_event(data: str | bytes) -> QueueEvent:
    """A job or progress event from its JSON."""
    return _from_dict(orjson.loads(data))


def parse_queue_entry(fields: dict[str, str]) -> list[QueueEvent]:
    """The events of one entry of a job's event stream: ``e`` one event, ``b`` a batch."""
    if "b" in fields:
        return [_from_dict(raw) for raw in orjson.loads(fields["b"])]
    return [parse_queue_event(fields["e"])]
