"""Worker: takes jobs from a queue and runs them through the orchestrator.

A worker holds up to ``concurrency`` jobs at once. For each it runs the
orchestrator (a job carrying a :class:`~vgkit.queue.jobs.Task` runs the handler
registered for the task's kind instead, see :class:`TaskRun`), publishes the
run's progress events for followers, and then completes the job with its
result or fails it (the queue retries it with
backoff or moves it to the dead letters). A heartbeat renews its claims well
inside the visibility timeout and learns about cancellations, and about claims
another worker took over, which it stops running.

Stopping (``stop()``, SIGTERM or SIGINT) is graceful: the worker claims nothing
more, gives the jobs it holds ``grace`` seconds to finish, and hands the rest
back to the queue unrun (queued again, the attempt not counted). A second
signal hands everything back at once. Nothing a stopping worker holds is lost;
a worker that dies without stopping (SIGKILL, power loss) leaves its jobs to be
reclaimed by another worker after the visibility timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from vgkit import tracing
from vgkit._tasks import stop
from vgkit.errors import ConfigError, QueueUnavailableError
from vgkit.events import Event, PlanReady
from vgkit.generation import GenerationResult
from vgkit.metrics import MetricsRegistry, default_registry
from vgkit.orchestrator import AgentCache, Orchestrator
from vgkit.queue.base import Claim, JobQueue, Lease, QueueStats
from vgkit.queue.jobs import JobResult, JobStatus, Task

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_GRACE",
    "OrchestratorFactory",
    "TaskHandler",
    "TaskRun",
    "Worker",
    "WorkerConfig",
    "WorkerStats",
]

log = logging.getLogger("vgkit.queue.worker")

DEFAULT_CONCURRENCY = 4
DEFAULT_GRACE = 30.0
#: How long a worker keeps retrying a queue call while Redis is unreachable.
SETTLE_SECONDS = 10.0
#: Longest a progress event waits to be published with the ones after it.
FLUSH_SECONDS = 0.025

#: Builds the orchestrator a worker runs jobs with (called once per ``run``).
OrchestratorFactory = Callable[[], Orchestrator]


@dataclass(frozen=True)
class TaskRun:
    """What a task handler gets: the claim and its task, and the worker's means.

    A handler returns the job's :class:`JobResult` (``ok=False`` with
    ``failures`` fails the attempt, like a failed run); raising fails it too.
    ``on_event`` publishes progress events for followers (None: not published).
    """

    claim: Claim
    task: Task
    worker: str
    orchestrator: Orchestrator
    on_event: Callable[[Event], None] | None


#: Runs one kind of :class:`~vgkit.queue.jobs.Task` (``Worker(tasks={kind: handler})``).
TaskHandler = Callable[[TaskRun], Awaitable[JobResult]]


@dataclass(frozen=True, kw_only=True)
class WorkerConfig:
    """``concurrency``: jobs held at once. ``name``: the consumer name (default
    host-pid-random). ``grace``: seconds held jobs get to finish after a stop.
    ``max_jobs``: claim this many jobs, finish them, then return (None: until
    stopped). ``publish_events``: publish each run's progress events."""

    concurrency: int = DEFAULT_CONCURRENCY
    name: str | None = None
    grace: float = DEFAULT_GRACE
    max_jobs: int | None = None
    publish_events: bool = True

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ConfigError(f"worker concurrency must be at least 1, not {self.concurrency}")
        if self.grace < 0:
            raise ConfigError(f"worker grace must be zero or more seconds, not {self.grace}")
        if self.max_jobs is not None and self.max_jobs < 1:
            raise ConfigError(f"worker max_jobs must be at least 1, not {self.max_jobs}")


@dataclass
class WorkerStats:
    """What one worker did, by the outcome of each job attempt it held."""

    claimed: int = 0
    succeeded: int = 0
    retrying: int = 0
    dead: int = 0
    cancelled: int = 0
    released: int = 0
    lost: int = 0

    def summary(self, name: str) -> str:
        return (
            f"worker {name}: {self.succeeded} succeeded, {self.retrying} failed (retrying), "
            f"{self.dead} dead, {self.cancelled} cancelled, {self.released} handed back, "
            f"{self.lost} lost to other workers"
        )


def default_worker_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:4]}"


class _Publisher:
    """Sends a run's events to the queue in order, a batch at a time, off the hot path.

    Events are gathered for up to ``FLUSH_SECONDS`` so a run costs a few writes,
    not one per event; closing flushes at once, so a job's end is not delayed.
    """

    def __init__(self, queue: JobQueue, claim: Claim) -> None:
        self.queue, self.claim = queue, claim
        self._pending: list[Event] = []
        self._wake = asyncio.Event()
        self._closing = asyncio.Event()
        self._task = asyncio.create_task(self._loop())

    def add(self, event: Event) -> None:
        if isinstance(event, PlanReady):
            return  # the plans travel in the result; a follower needs the progress
        self._pending.append(event)
        self._wake.set()

    async def _loop(self) -> None:
        while True:
            await self._wake.wait()
            if not self._closing.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._closing.wait(), FLUSH_SECONDS)
            self._wake.clear()
            batch, self._pending = self._pending, []
            if batch:
                try:
                    await self.queue.publish(self.claim, batch)
                except QueueUnavailableError as exc:  # progress is best effort; state is not
                    log.warning(
                        "job %s: %d events not published: %s", self.claim.job_id, len(batch), exc
                    )
            if self._closing.is_set() and not self._pending:
                return

    async def aclose(self) -> None:
        """Publish what is left, then stop."""
        self._closing.set()
        self._wake.set()
        await self._task


class Worker:
    """Consumes jobs from ``queue`` (see the module docstring).

    ``orchestrator``: a factory for the orchestrator that runs the jobs (default:
    ``Orchestrator(cache=cache, metrics=metrics)``); pass ``cache`` alone to keep
    the default orchestrator with a cache. ``tasks``: a handler per task kind
    (``vgkit.video.RenderService.tasks`` has the render ones); a task of another
    kind fails its attempt. ``metrics`` receives the queue's wait, run and outcome
    figures (default: the process registry).
    """

    def __init__(
        self,
        queue: JobQueue,
        *,
        orchestrator: OrchestratorFactory | None = None,
        cache: AgentCache | None = None,
        config: WorkerConfig | None = None,
        metrics: MetricsRegistry | None = None,
        tasks: Mapping[str, TaskHandler] | None = None,
    ) -> None:
        if orchestrator is not None and cache is not None:
            raise ConfigError(
                "pass either cache= or orchestrator=, not both: "
                "the factory builds its own Orchestrator(cache=...)"
            )
        self.queue = queue
        self.config = config if config is not None else WorkerConfig()
        self.name = self.config.name or default_worker_name()
        self.metrics = metrics if metrics is not None else default_registry()
        self._factory: OrchestratorFactory = orchestrator or (
            lambda: Orchestrator(cache=cache, metrics=self.metrics)
        )
        self.stats = WorkerStats()
        self.tasks: dict[str, TaskHandler] = dict(tasks or {})
        self._tasks: set[asyncio.Task[None]] = set()
        self._held: dict[str, tuple[asyncio.Task[None], Claim]] = {}
        """Per job being run: the task running it and its claim."""
        self._budget = self.config.max_jobs
        self._reasons: dict[str, Lease] = {}
        self._finishing: set[str] = set()
        """Jobs whose run is over and whose outcome is being written: never cancelled."""
        self._stopping = asyncio.Event()
        self._abort = asyncio.Event()
        self._wait = self.metrics.queue_wait()
        self._run = self.metrics.queue_run()
        self._jobs = self.metrics.queue_jobs()

    # -- control -------------------------------------------------------------

    def stop(self, *, now: bool = False) -> None:
        """Claim nothing more; finish held jobs within the grace (``now``: hand them back)."""
        self._stopping.set()
        if now:
            self._abort.set()

    def _on_signal(self) -> None:
        self.stop(now=self._stopping.is_set())

    @property
    def holding(self) -> list[str]:
        """Ids of the jobs this worker runs right now."""
        return list(self._held)

    async def refresh_metrics(self) -> QueueStats:
        """Read the queue's depths into the gauges (``/metrics`` calls this per scrape)."""
        stats = await self.queue.stats()
        depth = self.metrics.queue_depth()
        for priority, waiting in stats.waiting.items():
            depth.labels(priority.value).set(waiting)
        self.metrics.queue_running().set(stats.running)
        self.metrics.queue_retrying().set(stats.retrying)
        self.metrics.queue_dead_letters().set(stats.dead)
        return stats

    async def run(self, *, handle_signals: bool = False) -> WorkerStats:
        """Consume until stopped (or ``max_jobs`` are done); what happened."""
        loop = asyncio.get_running_loop()
        signals = (signal.SIGTERM, signal.SIGINT) if handle_signals else ()
        for sig in signals:
            loop.add_signal_handler(sig, self._on_signal)
        try:
            async with self._factory() as orchestrator:
                beats = asyncio.create_task(self._heartbeats())
                try:
                    await self._consume(orchestrator)
                    await self._drain()
                finally:
                    await stop(beats)  # a swallowed cancel once left run() waiting here
        finally:
            for sig in signals:
                loop.remove_signal_handler(sig)
        return self.stats

    # -- the loop ------------------------------------------------------------

    async def _consume(self, orchestrator: Orchestrator) -> None:
        slots = asyncio.Semaphore(self.config.concurrency)
        pause = 0.1
        while self._wants_more():
            if not await self._first(slots.acquire()):
                return
            if not self._take_budget():
                slots.release()
                return
            try:
                claim = await self.queue.claim(self.name, timeout=self.queue.config.poll_interval)
            except QueueUnavailableError as exc:
                self._return_budget()
                slots.release()
                log.warning("worker %s: %s; retrying in %.1f s", self.name, exc, pause)
                await self._first(asyncio.sleep(pause))
                pause = min(pause * 2, 5.0)
                continue
            pause = 0.1
            if claim is None:
                self._return_budget()
                slots.release()
                continue
            task = asyncio.create_task(self._serve(orchestrator, claim))
            self._tasks.add(task)
            task.add_done_callback(partial(self._done, slots))

    def _done(self, slots: asyncio.Semaphore, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        slots.release()

    def _wants_more(self) -> bool:
        return not self._stopping.is_set() and (self._budget is None or self._budget > 0)

    def _take_budget(self) -> bool:
        """Reserve one claim of ``max_jobs`` before asking for it (False: none left)."""
        if self._budget is None:
            return True
        if self._budget <= 0:
            return False
        self._budget -= 1
        return True

    def _return_budget(self) -> None:
        if self._budget is not None:
            self._budget += 1

    async def _serve(self, orchestrator: Orchestrator, claim: Claim) -> None:
        """Run jobs in one slot: finishing a job brings the next one in the same call."""
        current: Claim | None = claim
        while current is not None:
            current = await self._process(orchestrator, current)

    async def _first(self, awaitable: Awaitable[object]) -> bool:
        """Await ``awaitable`` unless a stop comes first; whether it finished."""
        work = asyncio.ensure_future(awaitable)
        stop = asyncio.ensure_future(self._stopping.wait())
        await asyncio.wait({work, stop}, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if work.done():
            return True
        work.cancel()
        await asyncio.gather(work, return_exceptions=True)
        return False

    async def _drain(self) -> None:
        """Let held jobs finish (within the grace once stopped), then hand back the rest."""
        pending: set[asyncio.Future[Any]] = set(self._tasks)
        stop = asyncio.ensure_future(self._stopping.wait())
        abort = asyncio.ensure_future(self._abort.wait())
        deadline: float | None = None
        try:
            while pending and not abort.done():
                if stop.done() and deadline is None:
                    deadline = time.monotonic() + self.config.grace
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    break
                watch = {abort} if stop.done() else {abort, stop}
                done, _ = await asyncio.wait(
                    pending | watch, timeout=left, return_when=asyncio.FIRST_COMPLETED
                )
                pending -= done
        finally:
            stop.cancel()
            abort.cancel()
        for job_id, (task, _) in list(self._held.items()):
            if job_id not in self._finishing:
                task.cancel()  # the run stops and the job is handed back (see _process)
        await asyncio.gather(*pending, return_exceptions=True)

    async def _heartbeats(self) -> None:
        interval = self.queue.config.heartbeat_interval
        while True:
            await asyncio.sleep(interval)
            held = dict(self._held)
            if not held:
                continue
            try:
                leases = await self.queue.heartbeat([claim for _, claim in held.values()])
            except QueueUnavailableError as exc:
                log.warning("worker %s: heartbeat failed: %s", self.name, exc)
                continue
            for job_id, lease in leases.items():
                # Only a run still going: while the heartbeat was out, the job may
                # have finished and its task moved on to the next job.
                running = self._held.get(job_id)
                if lease is Lease.HELD or running is None or running != held.get(job_id):
                    continue
                if job_id not in self._finishing:
                    self._reasons[job_id] = lease
                    running[0].cancel()

    # -- one job -------------------------------------------------------------

    async def _process(self, orchestrator: Orchestrator, claim: Claim) -> Claim | None:
        """Run one job and write its outcome; the next job, if the queue handed one over."""
        task = asyncio.current_task()
        assert task is not None
        self._held[claim.job_id] = (task, claim)
        self.stats.claimed += 1
        priority = claim.priority.value
        self._wait.labels(priority).observe(claim.wait)
        started = time.perf_counter()
        publisher = _Publisher(self.queue, claim) if self.config.publish_events else None
        finish: Callable[[], Awaitable[tuple[JobStatus | None, Claim | None]]] | None
        # The job's span continues the submitter's trace, in the submitter's session,
        # after a span for the time it waited in the queue (the queue's clock).
        parent = tracing.parse_traceparent(claim.traceparent, claim.session_id)
        waited = tracing.begin(
            "queued", kind="queue", parent=parent, session_id=claim.session_id,
            node=claim.job_id, agent=self.name,
        )  # fmt: skip
        waited.start, waited.end = claim.queued_at, max(claim.started_at, claim.queued_at)
        tracing.record(waited, self.metrics)
        job_span = tracing.begin(
            f"job {claim.job_id}", kind="job", parent=parent, session_id=claim.session_id,
            node=claim.job_id, agent=self.name,
        )  # fmt: skip
        try:
            try:
                with tracing.use(job_span.context):
                    result = await self._execute(orchestrator, claim, publisher)
            except BaseException:
                job_span.status = "error"
                raise
            finally:
                job_span.end = time.time()
                tracing.record(job_span, self.metrics)
                if publisher is not None:
                    await publisher.aclose()  # the run's events come before the job's end
        except asyncio.CancelledError:
            reason = self._reasons.get(claim.job_id)
            # Lost: another worker holds the job now, so there is nothing to write.
            cancelled = reason is Lease.CANCEL
            release = partial(self.queue.release, claim, cancelled=cancelled)
            finish = None if reason is Lease.LOST else partial(_alone, release)
        except Exception as exc:  # the run itself broke: record it on the job, keep working
            log.exception("job %s: the run raised", claim.job_id)
            error = f"{type(exc).__name__}: {exc}"
            finish = partial(_alone, partial(self.queue.fail, claim, error))
        else:
            finish = partial(self._report, claim, result, (waited, job_span))
        self._finishing.add(claim.job_id)
        status, following = (None, None) if finish is None else await self._settle(finish)
        self._held.pop(claim.job_id, None)
        self._reasons.pop(claim.job_id, None)
        self._finishing.discard(claim.job_id)
        outcome = "lost" if status is None else _OUTCOMES[status]
        self._count(outcome)
        self._jobs.labels(priority, outcome).inc()
        self._run.labels(priority, outcome).observe(time.perf_counter() - started)
        if following is not None and self._stopping.is_set():
            # The stop came while the next job was on its way: hand it back unrun.
            self.stats.released += 1
            await self._settle(partial(_alone, partial(self.queue.release, following)))
            return None
        return following

    async def _execute(
        self, orchestrator: Orchestrator, claim: Claim, publisher: _Publisher | None
    ) -> GenerationResult | JobResult:
        """Run the claimed request through the orchestrator, or its task through its handler."""
        on_event = publisher.add if publisher else None
        payload = claim.request
        if isinstance(payload, Task):
            handler = self.tasks.get(payload.task)
            if handler is None:
                known = ", ".join(sorted(self.tasks)) or "none"
                raise LookupError(
                    f"worker {self.name} has no handler for task {payload.task!r} (it has: {known})"
                )
            return await handler(TaskRun(claim, payload, self.name, orchestrator, on_event))
        return await orchestrator.run(payload, on_event=on_event)

    async def _report(
        self,
        claim: Claim,
        result: GenerationResult | JobResult,
        spans: tuple[tracing.Span, ...],
    ) -> tuple[JobStatus | None, Claim | None]:
        if isinstance(result, GenerationResult):
            job_result = JobResult.from_generation(claim.job_id, self.name, result, spans)
        else:  # a task's: its spans after the worker's own (the wait, the job)
            job_result = result.model_copy(
                update={
                    "spans": (*(s.as_dict() for s in spans), *result.spans),
                    "trace_id": result.trace_id or spans[-1].trace_id,
                }
            )
        if job_result.ok:
            if not self._stopping.is_set() and self._take_budget():
                status, following = await self.queue.complete_and_claim(claim, job_result)
                if following is None:
                    self._return_budget()
                return status, following
            return await self.queue.complete(claim, job_result), None
        reasons = "; ".join(f"{node}: {why}" for node, why in job_result.failures.items())
        if isinstance(claim.request, Task):  # a render's failure is not a generation's
            error = f"task {claim.request.task} failed: {reasons or 'no reason given'}"[:2000]
        else:
            error = f"generation failed: {reasons or 'no plan'}"[:2000]
        return await self.queue.fail(claim, error), None

    async def _settle(
        self, finish: Callable[[], Awaitable[tuple[JobStatus | None, Claim | None]]]
    ) -> tuple[JobStatus | None, Claim | None]:
        """Write a job's outcome, retrying while Redis is unreachable.

        If Redis stays away the claim is left as it is: the job is still pending
        in Redis and another worker reclaims it after the visibility timeout.
        """
        deadline = time.monotonic() + SETTLE_SECONDS
        pause = 0.1
        while True:
            try:
                return await finish()
            except QueueUnavailableError as exc:
                if time.monotonic() + pause > deadline:
                    log.error(
                        "worker %s: could not finish a job, leaving it to be reclaimed: %s",
                        self.name,
                        exc,
                    )
                    return None, None
            await asyncio.sleep(pause)
            pause = min(pause * 2, 2.0)

    def _count(self, outcome: str) -> None:
        setattr(self.stats, outcome, getattr(self.stats, outcome) + 1)


async def _alone(
    call: Callable[[], Awaitable[JobStatus | None]],
) -> tuple[JobStatus | None, Claim | None]:
    """A queue call that finishes a job and brings no next one."""
    return await call(), None


#: The worker-side name of each status a finished attempt leaves a job in.
_OUTCOMES = {
    JobStatus.SUCCEEDED: "succeeded",
    JobStatus.RETRYING: "retrying",
    JobStatus.DEAD: "dead",
    JobStatus.CANCELLED: "cancelled",
    JobStatus.QUEUED: "released",
    JobStatus.RUNNING: "lost",
}
