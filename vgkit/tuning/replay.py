"""The real mode: a trace replayed through the real cache, on a simulated clock.

:func:`areplay` runs every request of (a prefix of) the trace through a real
:class:`~vgkit.orchestrator.Orchestrator` with the template backend and a real
:class:`~vgkit.plan_cache.CacheIntegration` over a real
:class:`~vgkit.cache.layered.LayeredCache` whose L1 is a real diskcache-backed
:class:`~vgkit.cache.disk.DiskTier` in a temporary directory, configured as the
:class:`Candidate` says (TTL policy, codec, size limit, eviction policy). It
is what the simulator is checked against.

Time: the layered cache and the topic log take an injected clock that reads the
trace's time (plus a fixed epoch), moved to each request's timestamp before it
runs, so every TTL is honoured on the simulated clock: an entry written at
``t`` with TTL ``s`` reads as a miss from ``t + s`` on, whatever the wall clock
says. diskcache itself expires entries on the wall clock, so the tier here also
notes each entry's simulated expiry and deletes the entries that expired before
each request, as diskcache's cull would have. Early refresh is off.

Hits and misses are the real cache's (from each run's ``cache_tiers``); seconds
are the entry profile's, as in the simulator (the template backend computes in
microseconds; sleeping the seed latencies would take days); bytes are measured:
diskcache's volume after each request, and the bytes the cache wrote.
"""

from __future__ import annotations

import asyncio
import heapq
import math
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

from vgkit._sync import run_sync
from vgkit.agents import SPECS, TemplateBackend
from vgkit.cache.counters import CacheStats, stats_for
from vgkit.cache.disk import DiskConfig, DiskTier
from vgkit.cache.layered import LayeredCache
from vgkit.cache.warming import TopicLog
from vgkit.errors import TuningError
from vgkit.metrics import MetricsRegistry
from vgkit.orchestrator import Orchestrator
from vgkit.plan_cache import CacheIntegration
from vgkit.tuning.candidate import Candidate
from vgkit.tuning.evaluation import KindStats, SimulationResult
from vgkit.tuning.expansion import KINDS, REQUEST, expand
from vgkit.tuning.profile import EntryProfile, default_profile
from vgkit.tuning.trace import Trace, TraceRecord, paused_recording

__all__ = ["DEFAULT_REPLAY_LIMIT", "areplay", "replay"]

#: Requests the real mode replays unless told otherwise (about 10 ms each).
DEFAULT_REPLAY_LIMIT = 500
#: The simulated clock reads trace time plus this epoch (2024-01-01 UTC).
EPOCH = 1_704_067_200.0
PREFIX = "vgkit-replay:"
#: An L1 with no limit gets this one (diskcache needs a number).
UNLIMITED = 1 << 50


class SimulatedClock:
    """A clock that reads what it was last set to."""

    def __init__(self, start: float = EPOCH) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


class ExpiringDiskTier(DiskTier):
    """The real L1, which also deletes entries whose simulated TTL has run out.

    diskcache stamps expiry with the wall clock; :meth:`purge` removes what the
    simulated clock says has expired (what a cull at that moment would remove).
    """

    def __init__(
        self, options: DiskConfig, *, stats: CacheStats, prefix: str, clock: SimulatedClock
    ) -> None:
        super().__init__(options, stats=stats, prefix=prefix)
        self.clock = clock
        self._expiry: dict[str, float] = {}
        self._queue: list[tuple[float, str]] = []
        self.purged = 0

    def set_soon(
        self, key: str, data: bytes, *, ttl: float | None, tags: Iterable[str] = ()
    ) -> asyncio.Future[bool]:
        # Every write goes through here (``set`` too).
        if ttl is None:
            self._expiry.pop(key, None)
        else:
            expires = self.clock() + ttl
            self._expiry[key] = expires
            heapq.heappush(self._queue, (expires, key))
        return super().set_soon(key, data, ttl=ttl, tags=tags)

    def purge(self, now: float) -> int:
        """Delete the entries whose simulated expiry is at or before ``now``."""
        expired = []
        while self._queue and self._queue[0][0] <= now:
            expires, key = heapq.heappop(self._queue)
            if self._expiry.get(key) == expires:
                del self._expiry[key]
                expired.append(key)
        removed = self.delete_now(expired) if expired else 0
        self.purged += removed
        return removed


async def areplay(
    trace: Trace,
    config: Candidate,
    *,
    limit: int | None = DEFAULT_REPLAY_LIMIT,
    measure_from: float | None = None,
    until: float | None = None,
    directory: str | Path | None = None,
    profile: EntryProfile | None = None,
) -> SimulationResult:
    """Replay the first ``limit`` requests of ``trace`` (None: all) before ``until``
    through the real cache configured as ``config``; count those from
    ``measure_from`` on. ``directory``: where the L1 lives (default: a temporary
    directory, removed afterwards; an existing cache there would skew the result)."""
    if limit is not None and limit < 1:
        raise TuningError(f"the replay limit must be at least 1 request, not {limit}")
    profile = profile or default_profile()
    stop = math.inf if until is None else until
    records = [r for r in trace if r.t < stop][:limit]
    if directory is not None:
        return await _replay(trace, records, config, Path(directory), measure_from, profile)
    with tempfile.TemporaryDirectory(prefix="vgkit-replay-") as folder:
        return await _replay(trace, records, config, Path(folder), measure_from, profile)


def replay(trace: Trace, config: Candidate, **options: object) -> SimulationResult:
    """:func:`areplay` from sync code (also inside a running loop, as in Jupyter)."""
    return run_sync(lambda: areplay(trace, config, **options))  # type: ignore[arg-type]


async def _replay(
    trace: Trace,
    records: list[TraceRecord],
    config: Candidate,
    folder: Path,
    measure_from: float | None,
    profile: EntryProfile,
) -> SimulationResult:
    started = time.perf_counter()
    x = expand(trace)
    index = {id(r): i for i, r in enumerate(trace.records)}
    first = trace.start if measure_from is None else measure_from
    clock = SimulatedClock()
    registry = MetricsRegistry()
    tier = ExpiringDiskTier(
        DiskConfig(
            directory=folder,
            size_limit=config.l1_size or UNLIMITED,
            eviction_policy=config.eviction,
        ),
        stats=stats_for(registry),
        prefix=PREFIX,
        clock=clock,
    )
    cache = LayeredCache(
        l1=tier, policy=config.policy(), prefix=PREFIX, metrics=registry, clock=clock
    )
    integration = CacheIntegration(cache, templates=None, topics=TopicLog(clock=clock))
    seconds = {name: profile.seconds[name] for name in SPECS}
    n = len(KINDS)
    lookups, hits = [0] * n, [0] * n
    saved, computed = [0.0] * n, [0.0] * n
    request_kind = KINDS.index(REQUEST)
    requests = request_hits = 0
    peak = area = wall_saved = 0.0
    last = math.nan
    written_before: dict[str, float] = {}
    evicted_before, purged_before = 0.0, 0
    with paused_recording():
        async with (
            integration,
            # Serial: nodes read and write the cache in one fixed order, so eviction
            # ties (access times, rowids) fall the same way on every run.
            Orchestrator(
                backend=TemplateBackend(), cache=integration, metrics=registry, executor="serial"
            ) as orchestrator,
        ):
            for record in records:
                clock.now = EPOCH + record.t
                tier.purge(clock.now)
                counting = record.t >= first
                if counting and math.isnan(last):
                    written_before = _written(cache.stats)
                    evicted_before = cache.stats.total("evictions", "l1")
                    purged_before = tier.purged
                elif counting:
                    area += tier.cache.volume() * (record.t - last)
                result = await orchestrator.run(record.request)
                if not counting:
                    continue
                last = record.t
                requests += 1
                shape = x.shapes[x.shape_ids[index[id(record)]]]
                whole = [seconds[agent] for agent, _ in shape.nodes]
                lookups[request_kind] += 1
                if "request" in result.cache_hits:
                    hits[request_kind] += 1
                    request_hits += 1
                    saved[request_kind] += sum(whole)
                    wall_saved += shape.makespan(whole)
                    continue
                took = []
                for (agent, platform), cost in zip(shape.nodes, whole, strict=True):
                    kind = KINDS.index(SPECS[agent].content_kind)
                    lookups[kind] += 1
                    if SPECS[agent].node_id(platform) in result.cache_tiers:
                        hits[kind] += 1
                        saved[kind] += cost
                        took.append(0.0)
                    else:
                        computed[kind] += cost
                        took.append(cost)
                wall_saved += shape.makespan(whole) - shape.makespan(took)
                peak = max(peak, tier.cache.volume())
            volume = tier.cache.volume()
    written = _written(cache.stats)
    span = 0.0 if math.isnan(last) else last - max(first, trace.start)
    purged = tier.purged - purged_before
    return SimulationResult(
        config=config,
        mode="real",
        trace=trace.name,
        requests=requests,
        request_hits=request_hits,
        window=(max(first, trace.start), last if not math.isnan(last) else first),
        kinds={
            kind: KindStats(
                lookups=lookups[k],
                hits=hits[k],
                seconds_saved=saved[k],
                compute_seconds=computed[k],
                written_bytes=written.get(kind, 0.0) - written_before.get(kind, 0.0),
            )
            for k, kind in enumerate(KINDS)
        },
        peak_bytes=peak,
        mean_bytes=area / span if span > 0 else volume,
        wall_seconds_saved=wall_saved,
        evictions=int(cache.stats.total("evictions", "l1") - evicted_before - purged),
        expirations=purged,
        elapsed=time.perf_counter() - started,
    )


def _written(stats: CacheStats) -> dict[str, float]:
    return {kind: stats.total("stored_bytes", "l1", kind) for kind in KINDS}
