"""The load generator: open-loop and closed-loop runs, always bounded.

Open loop (``mode="open"``): requests arrive on a schedule (constant or Poisson
arrivals at a rate profile), whether or not earlier ones have been answered,
like independent users of a service. Each request's latency is measured from
its *intended* start, so a stall that keeps the generator from sending (the
event loop blocked, every in-flight slot taken) shows up in the figures instead
of silently thinning the load: that is the correction for coordinated omission.
The uncorrected latency (from the moment the request was actually sent) is kept
beside it, to show what a naive generator would have reported.

Closed loop (``mode="closed"``): N users (a profile, so it can ramp) each send
a request, wait for the answer, optionally think, and repeat. The offered load
adapts to the target's speed, so here intended and actual starts coincide.

Every run stops by itself: after ``max_requests`` requests or ``duration``
seconds, whichever comes first; requests still in flight then get
``drain_timeout`` more seconds before they are cancelled and counted as
abandoned. A run therefore never lasts longer than ``duration + drain_timeout``.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from vgkit.errors import LoadTestError
from vgkit.loadtest.causes import error_cause
from vgkit.loadtest.live import LiveStats, LoadProgress, collector_for
from vgkit.loadtest.measurement import LoadTestResult, Outcome, Records
from vgkit.loadtest.profile import ARRIVALS, Arrivals, Profile, arrival_offsets, parse_profile
from vgkit.loadtest.targets import Target
from vgkit.loadtest.workload import WorkItem, Workload
from vgkit.metrics import MetricsRegistry, default_registry

__all__ = [
    "DEFAULT_DRAIN_TIMEOUT",
    "DEFAULT_DURATION",
    "DEFAULT_LATE_AFTER",
    "DEFAULT_MAX_IN_FLIGHT",
    "DEFAULT_MAX_REQUESTS",
    "DEFAULT_PROGRESS_INTERVAL",
    "LoadTest",
    "run_load_test",
]

Mode = Literal["open", "closed"]
DEFAULT_MAX_REQUESTS = 1000
DEFAULT_DURATION = 10.0
DEFAULT_DRAIN_TIMEOUT = 5.0
DEFAULT_MAX_IN_FLIGHT = 1000
DEFAULT_LATE_AFTER = 0.010
"""A request sent this many seconds after its intended start counts as late."""
DEFAULT_PROGRESS_INTERVAL = 0.25
#: How often a closed-loop user that the profile has not activated yet looks again.
USER_POLL = 0.01


def _positive(value: float, what: str, *, allow_zero: bool = False) -> None:
    ok = value >= 0 if allow_zero else value > 0
    if not (ok and math.isfinite(value)):
        bound = ">= 0" if allow_zero else "> 0"
        raise LoadTestError(f"{what} must be a finite number {bound}, not {value}")


@dataclass(frozen=True, kw_only=True)
class LoadTest:
    """How to load a target: the mode, the load, and the bounds.

    ``rate`` (open loop, requests per second) and ``users`` (closed loop) take a
    number, a profile or its text form (``"10..200"``, ``"50@2,100@2"``; see
    :mod:`vgkit.loadtest.profile`). ``max_in_flight`` caps open-loop requests
    awaiting an answer; at the cap an arrival waits for a slot
    (``overflow="wait"``: it is sent late and its wait counts in the corrected
    latency; arrivals still unsent when the duration ends are dropped) or is not
    sent at all (``overflow="drop"``). ``timeout`` bounds one
    request (an error of kind ``timeout``). ``seed`` seeds Poisson arrivals.
    """

    mode: Mode = "open"
    rate: Profile | float | str = 10.0
    arrivals: Arrivals = "poisson"
    users: Profile | float | str = 1
    think_time: float = 0.0
    max_requests: int = DEFAULT_MAX_REQUESTS
    duration: float = DEFAULT_DURATION
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
    overflow: Literal["wait", "drop"] = "wait"
    timeout: float | None = None
    drain_timeout: float = DEFAULT_DRAIN_TIMEOUT
    late_after: float = DEFAULT_LATE_AFTER
    seed: int = 0
    rate_profile: Profile = field(init=False, repr=False)
    users_profile: Profile = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.mode not in ("open", "closed"):
            raise LoadTestError(f"mode must be open or closed, not {self.mode!r}")
        if self.arrivals not in ARRIVALS:
            raise LoadTestError(
                f"arrivals must be one of {', '.join(ARRIVALS)}, not {self.arrivals!r}"
            )
        if self.overflow not in ("wait", "drop"):
            raise LoadTestError(f"overflow must be wait or drop, not {self.overflow!r}")
        if self.max_requests < 1:
            raise LoadTestError(f"max_requests must be at least 1, not {self.max_requests}")
        if self.max_in_flight < 1:
            raise LoadTestError(f"max_in_flight must be at least 1, not {self.max_in_flight}")
        _positive(self.duration, "duration")
        _positive(self.drain_timeout, "drain_timeout", allow_zero=True)
        _positive(self.think_time, "think_time", allow_zero=True)
        _positive(self.late_after, "late_after", allow_zero=True)
        if self.timeout is not None:
            _positive(self.timeout, "timeout")
        rate = parse_profile(self.rate, "rate").bind(self.duration)
        users = parse_profile(self.users, "users").bind(self.duration)
        if self.mode == "open" and rate.peak() <= 0:
            raise LoadTestError("an open-loop test needs a rate above 0 at some point")
        if self.mode == "closed" and users.peak() < 1:
            raise LoadTestError("a closed-loop test needs at least one user at some point")
        object.__setattr__(self, "rate_profile", rate)
        object.__setattr__(self, "users_profile", users)

    def describe(self) -> dict[str, Any]:
        """The settings as plain values, for result files and reports."""
        out = {k: v for k, v in asdict(self).items() if k not in {"rate_profile", "users_profile"}}
        out["rate"] = self.rate_profile.describe()
        out["users"] = self.users_profile.describe()
        return out

    async def run(
        self,
        target: Target,
        workload: Workload | Sequence[WorkItem] | None = None,
        *,
        on_progress: Callable[[LoadProgress], None] | None = None,
        progress_interval: float = DEFAULT_PROGRESS_INTERVAL,
        metrics: MetricsRegistry | None = None,
    ) -> LoadTestResult:
        """Load ``target`` with items of ``workload`` (default: the bundled topics).

        ``on_progress`` gets a :class:`LoadProgress` every ``progress_interval``
        seconds and once more at the end (``done=True``); the live figures also
        reach ``metrics`` (default: the process registry) for dashboards.
        """
        if workload is None:
            workload = Workload.from_csv(seed=self.seed)
        items = workload.sample(self.max_requests) if isinstance(workload, Workload) else workload
        if len(items) < self.max_requests:
            raise LoadTestError(
                f"the workload has {len(items)} items but max_requests is {self.max_requests}"
            )
        _positive(progress_interval, "progress_interval")
        run = _Run(self, target, items, metrics if metrics is not None else default_registry())
        return await run.execute(on_progress, progress_interval, workload)


async def run_load_test(
    target: Target,
    workload: Workload | Sequence[WorkItem] | None = None,
    *,
    on_progress: Callable[[LoadProgress], None] | None = None,
    metrics: MetricsRegistry | None = None,
    **settings: Any,
) -> LoadTestResult:
    """``LoadTest(**settings).run(target, workload, ...)`` in one call."""
    return await LoadTest(**settings).run(
        target, workload, on_progress=on_progress, metrics=metrics
    )


class _Run:
    """One execution of a LoadTest: the clock, the records, the live stats."""

    def __init__(
        self,
        config: LoadTest,
        target: Target,
        items: Sequence[WorkItem],
        registry: MetricsRegistry,
    ) -> None:
        self.config = config
        self.target = target
        self.items = items
        self.records = Records()
        self.stats = LiveStats(
            target.name, max_requests=config.max_requests, duration=config.duration
        )
        self.collector = collector_for(registry)
        self.max_in_flight = 0
        self.loop = asyncio.get_running_loop()
        self.t0 = 0.0

    async def execute(
        self,
        on_progress: Callable[[LoadProgress], None] | None,
        interval: float,
        workload: object,
    ) -> LoadTestResult:
        started_at = datetime.now(UTC).isoformat(timespec="milliseconds")
        self.collector.start(self.stats)
        reporter = asyncio.create_task(self._report(on_progress, interval)) if on_progress else None
        self.t0 = self.loop.time()
        wall = time.perf_counter()
        try:
            if self.config.mode == "open":
                await self._open_loop()
            else:
                await self._closed_loop()
        finally:
            elapsed = time.perf_counter() - wall
            self.collector.finish(self.stats)
            if reporter is not None:
                reporter.cancel()
                await asyncio.gather(reporter, return_exceptions=True)
        if on_progress is not None:
            on_progress(self.stats.snapshot(done=True))
        return LoadTestResult(
            target=self.target.name,
            config=self.config,
            started_at=started_at,
            elapsed=elapsed,
            records=self.records.frame(self.items, self.config.late_after),
            max_in_flight=self.max_in_flight,
            workload=workload.describe() if isinstance(workload, Workload) else None,
        )

    async def _report(self, on_progress: Callable[[LoadProgress], None], interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            on_progress(self.stats.snapshot())

    def _now(self) -> float:
        return self.loop.time() - self.t0

    async def _call(self, index: int, intended: float, sent: float) -> None:
        """Send one request and record how it went; never raises but CancelledError."""
        stats = self.stats
        stats.sent += 1
        stats.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, stats.in_flight)
        if sent - intended > self.config.late_after:
            stats.late += 1
        outcome: Outcome = "ok"
        kind = ""
        try:
            if self.config.timeout is None:
                await self.target(self.items[index])
            else:
                async with asyncio.timeout(self.config.timeout):
                    await self.target(self.items[index])
        except asyncio.CancelledError:
            self.records.add(index, intended, sent, self._now(), "abandoned")
            stats.abandoned += 1
            raise
        except Exception as exc:  # a failed request is data, not a crash
            outcome, kind = "error", error_cause(exc, timeout=self.config.timeout)
        finally:
            stats.in_flight -= 1
        end = self._now()
        self.records.add(index, intended, sent, end, outcome, kind)
        if outcome == "ok":
            stats.ok += 1
            stats.observe(end - intended)
        else:
            stats.errors += 1

    async def _open_loop(self) -> None:
        config = self.config
        slots = asyncio.Semaphore(config.max_in_flight)
        tasks: set[asyncio.Task[None]] = set()

        async def send(index: int, intended: float, sent: float) -> None:
            try:
                await self._call(index, intended, sent)
            finally:
                slots.release()
                # Removing itself here rather than by a done callback saves a loop
                # callback per request (a fifth of the generator's cost at full speed).
                # Every task starts before the drain can cancel it (its first step is
                # queued before the drain's timer), so this always runs.
                tasks.discard(asyncio.current_task())

        offsets = arrival_offsets(
            config.rate_profile, config.arrivals, until=config.duration, seed=config.seed
        )
        schedule = zip(range(config.max_requests), offsets, strict=False)
        pending: tuple[int, float] | None = None
        try:
            async with asyncio.timeout_at(self.t0 + config.duration):
                for pending in schedule:
                    index, intended = pending
                    delay = intended - self._now()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    if config.overflow == "drop" and slots.locked():
                        self._drop(index, intended)
                        continue
                    await slots.acquire()
                    self.stats.scheduled += 1
                    tasks.add(asyncio.create_task(send(index, intended, self._now())))
                pending = None
        except TimeoutError:
            # The duration ran out while the generator was held back (every slot taken,
            # or the loop blocked): what was due by then and never sent is dropped.
            for index, intended in itertools.chain([pending] if pending else [], schedule):
                self._drop(index, intended)
        await self._drain(tasks)

    def _drop(self, index: int, intended: float) -> None:
        self.records.add(index, intended, math.nan, math.nan, "dropped")
        self.stats.scheduled += 1
        self.stats.dropped += 1

    async def _closed_loop(self) -> None:
        config = self.config
        users = config.users_profile
        deadline = self.t0 + config.duration
        claimed = 0

        async def user(k: int) -> None:
            nonlocal claimed
            while (now := self.loop.time()) < deadline:
                if k >= int(users.at(now - self.t0)):
                    await asyncio.sleep(min(USER_POLL, deadline - now))
                    continue
                if claimed >= config.max_requests:
                    return
                index = claimed
                claimed += 1
                self.stats.scheduled += 1
                sent = self._now()
                await self._call(index, sent, sent)
                if config.think_time:
                    await asyncio.sleep(config.think_time)

        tasks = {asyncio.create_task(user(k)) for k in range(math.ceil(users.peak()))}
        await self._drain(tasks, until=deadline)

    async def _drain(self, tasks: set[asyncio.Task[None]], until: float | None = None) -> None:
        """Wait for ``tasks`` until ``until`` (default now) plus the drain timeout, then cancel."""
        if not tasks:
            return
        limit = (until if until is not None else self.loop.time()) + self.config.drain_timeout
        _, pending = await asyncio.wait(set(tasks), timeout=max(limit - self.loop.time(), 0))
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
