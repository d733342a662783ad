"""The fast mode: an exact model of vgkit's L1 replayed over an expanded trace.

:class:`DiskModel` behaves as ``diskcache`` does under :class:`~vgkit.cache.disk.DiskTier`:

* a read sees an entry while ``now < expiry``; a hit updates what the eviction
  policy orders by (``least-recently-used``: the access time;
  ``least-frequently-used``: the access count; the other two: nothing);
* a write stores the entry with expiry ``now + ttl``; rewriting a key keeps its
  row (its rowid) and resets its access time and count, as diskcache's UPDATE does;
* every :data:`~vgkit.cache.disk.CULL_EVERY` writes the tier culls: entries
  with ``expiry < now`` go first, then, while the volume exceeds the size limit,
  batches of 10 in policy order (``least-recently-stored``: store time;
  ``least-recently-used``: access time; ``least-frequently-used``: access count,
  ties by rowid; ``none``: nothing);
* the volume is the empty database plus, per entry, its bytes and the per-entry
  overhead measured on a real diskcache (:class:`EntryProfile`).

:func:`simulate` drives it the way the orchestrator drives the cache: look up
the complete result; on a miss look up every node (level by level), store the
nodes that missed and then the complete result. Time stands still within a
request. Early refresh (XFetch) is not modelled; the real replay turns it off.

No third-party simulator: libCacheSim's bindings replay a fixed request stream,
but here what is looked up depends on earlier outcomes (a complete-result hit
skips every node lookup) and seconds saved need per-lookup costs, so every
lookup would cross into Python anyway; and its policies are not diskcache's
(cull cadence, batches of 10, rowid ties).
"""

from __future__ import annotations

import heapq
import math
import time
from collections import OrderedDict, deque
from typing import Any

from vgkit.cache.disk import CULL_EVERY
from vgkit.tuning.candidate import Candidate
from vgkit.tuning.evaluation import KindStats, SimulationResult
from vgkit.tuning.expansion import KINDS, REQUEST, Expanded, expand
from vgkit.tuning.freshness import DEFAULT_FRESHNESS, Freshness, StalenessClock
from vgkit.tuning.profile import EntryProfile, default_profile
from vgkit.tuning.trace import Trace

__all__ = ["CULL_BATCH", "DiskModel", "simulate"]

#: diskcache's ``cull`` deletes this many entries per round while over the limit.
CULL_BATCH = 10
_LRS, _LRU, _LFU, _NONE = (
    "least-recently-stored",
    "least-recently-used",
    "least-frequently-used",
    "none",
)
# Slot fields: expiry (inf: never), entry bytes, kind index, rowid, access count, and the
# time the content was born (what staleness is judged by; not diskcache's).
_EXP, _SIZE, _KIND, _ROW, _COUNT, _BORN = range(6)


class DiskModel:
    """diskcache as vgkit's L1 uses it (see the module docstring); keys are ints."""

    def __init__(
        self,
        *,
        size_limit: int | None,
        eviction: str,
        base: float = 0.0,
        overhead: float = 0.0,
        kinds: int = len(KINDS),
        cull_every: int = CULL_EVERY,
        batch: int = CULL_BATCH,
    ) -> None:
        self.size_limit = math.inf if size_limit is None or eviction == _NONE else size_limit
        self.eviction = eviction
        self._lru, self._lfu = eviction == _LRU, eviction == _LFU
        self.overhead = overhead
        self.cull_every = cull_every
        self.batch = batch
        self.slots: dict[int, list[Any]] = {}
        self.order: OrderedDict[int, None] = OrderedDict()
        self.counts: list[tuple[int, int, int]] = []  # LFU heap: (count, rowid, key)
        # Per TTL, (expiry, key) in write order: time never goes back, so each is sorted.
        self.expiries: dict[float, deque[tuple[float, int]]] = {}
        self.volume = float(base)
        self.held = [0.0] * kinds
        self.writes = self.rowid = self.evicted = self.expired = 0

    def __contains__(self, key: int) -> bool:
        return key in self.slots

    def get(self, key: int, now: float) -> list[Any] | None:
        """The live entry of ``key`` at ``now`` (a hit updates the policy's order)."""
        slot = self.slots.get(key)
        if slot is None or slot[_EXP] <= now:
            return None
        if self._lru:
            self.order.move_to_end(key)
        elif self._lfu:
            slot[_COUNT] += 1
            heapq.heappush(self.counts, (slot[_COUNT], slot[_ROW], key))
        return slot

    def set(
        self,
        key: int,
        now: float,
        ttl: float | None,
        size: float,
        kind: int,
        born: float | None = None,
    ) -> None:
        """Store ``key`` (an entry of ``size`` bytes and content ``kind``, its content born
        at ``born``, default ``now``), then maybe cull."""
        expires = math.inf if ttl is None else now + ttl
        born = now if born is None else born
        slot = self.slots.get(key)
        if slot is None:
            self.rowid += 1
            row = self.rowid
            self.slots[key] = [expires, size, kind, row, 0, born]
            if not self._lfu:
                self.order[key] = None
        else:
            self.volume -= slot[_SIZE] + self.overhead
            self.held[slot[_KIND]] -= slot[_SIZE]
            slot[_EXP], slot[_SIZE], slot[_KIND], slot[_COUNT] = expires, size, kind, 0
            slot[_BORN] = born
            row = slot[_ROW]
            if not self._lfu:
                self.order.move_to_end(key)
        self.volume += size + self.overhead
        self.held[kind] += size
        if self._lfu:
            heapq.heappush(self.counts, (0, row, key))
        if ttl is not None:
            queue = self.expiries.get(ttl)
            if queue is None:
                queue = self.expiries[ttl] = deque()
            queue.append((expires, key))
        self.writes += 1
        if self.writes % self.cull_every == 0:
            self.cull(now)

    def _delete(self, key: int) -> None:
        slot = self.slots.pop(key)
        self.volume -= slot[_SIZE] + self.overhead
        self.held[slot[_KIND]] -= slot[_SIZE]
        self.order.pop(key, None)

    def cull(self, now: float) -> None:
        """Remove expired entries, then evict in batches while over the size limit."""
        for queue in self.expiries.values():
            while queue and queue[0][0] < now:
                expires, key = queue.popleft()
                slot = self.slots.get(key)
                if slot is not None and slot[_EXP] == expires:
                    self._delete(key)
                    self.expired += 1
        while self.volume > self.size_limit and self.slots:
            for key in self._victims(self.batch):
                self._delete(key)
                self.evicted += 1

    def _victims(self, n: int) -> list[int]:
        if not self._lfu:
            return _first(self.order, n)
        out: list[int] = []
        heap = self.counts
        while heap and len(out) < n:
            count, row, key = heapq.heappop(heap)
            slot = self.slots.get(key)
            if slot is not None and slot[_ROW] == row and slot[_COUNT] == count and key not in out:
                out.append(key)
        return out


def _first(order: OrderedDict[int, None], n: int) -> list[int]:
    out = []
    for key in order:
        out.append(key)
        if len(out) == n:
            break
    return out


def simulate(
    trace: Trace,
    config: Candidate,
    *,
    profile: EntryProfile | None = None,
    measure_from: float | None = None,
    until: float | None = None,
    freshness: Freshness | None = None,
) -> SimulationResult:
    """Replay ``trace`` through a model of ``config``'s L1 (see the module docstring).

    The cache starts empty at the trace's first request; only requests at or
    after ``measure_from`` are counted (earlier ones warm the cache), and
    requests from ``until`` on are not replayed. Every hit is judged fresh or
    stale by ``freshness`` (default :data:`~vgkit.tuning.freshness.DEFAULT_FRESHNESS`).
    """
    profile = profile or default_profile()
    expanded = expand(trace)
    started = time.perf_counter()
    first = trace.start if measure_from is None else measure_from
    stop = math.inf if until is None else until
    clock = StalenessClock(
        freshness or DEFAULT_FRESHNESS,
        [(KINDS[kind], platform) for kind, platform in expanded.groups],
        trace.start,
        trace.end,
    )
    run = _Run(expanded, config, profile, clock)
    run.replay(first, stop)
    return run.result(trace, config, first, time.perf_counter() - started)


class _Run:
    """One simulation: the model, the per-key tables and the counters."""

    def __init__(
        self,
        expanded: Expanded,
        config: Candidate,
        profile: EntryProfile,
        clock: StalenessClock,
    ) -> None:
        self.x = expanded
        self.clock = clock
        policy = config.policy()
        by_group = [policy.ttl(KINDS[kind], platform) for kind, platform in expanded.groups]
        self.ttls = [by_group[g] for g in expanded.key_group]
        self.sizes = expanded.sizes(profile, config.codec)
        self.seconds = expanded.seconds(profile)
        # What a run of each shape costs with nothing cached: agent-seconds and makespan.
        self.whole = [sum(profile.seconds[a] for a, _ in s.nodes) for s in expanded.shapes]
        self.wall = [s.makespan([profile.seconds[a] for a, _ in s.nodes]) for s in expanded.shapes]
        self.disk = DiskModel(
            size_limit=config.l1_size,
            eviction=config.eviction,
            base=profile.disk_base,
            overhead=profile.disk_overhead[config.codec],
        )
        n = len(KINDS)
        self.lookups, self.hits = [0] * n, [0] * n
        self.stale_hits, self.stale_saved = [0] * n, [0.0] * n
        self.stale_requests = 0
        self.saved, self.computed, self.written = [0.0] * n, [0.0] * n, [0.0] * n
        self.held_area = [0.0] * n
        self.area = self.peak = self.wall_saved = 0.0
        self.requests = self.request_hits = 0
        self.last = math.nan
        self.evicted_before = self.expired_before = 0

    def replay(self, first: float, stop: float) -> None:
        x, disk, ttls, sizes, seconds = self.x, self.disk, self.ttls, self.sizes, self.seconds
        kinds, shapes, whole, wall = x.key_kind, x.shapes, self.whole, self.wall
        groups, stale = x.key_group, self.clock.stale
        request_kind = KINDS.index(REQUEST)
        lookups, hits, saved = self.lookups, self.hits, self.saved
        stale_hits, stale_saved = self.stale_hits, self.stale_saved
        computed, written = self.computed, self.written
        for i, t in enumerate(x.times):
            if t >= stop:
                break
            counting = t >= first
            if counting:
                self._advance(t)
                self.requests += 1
                lookups[request_kind] += 1
            rkey = x.request_keys[i]
            shape = x.shape_ids[i]
            slot = disk.get(rkey, t)
            if slot is not None:
                if counting:
                    hits[request_kind] += 1
                    saved[request_kind] += whole[shape]
                    self.wall_saved += wall[shape]
                    self.request_hits += 1
                    if stale(groups[rkey], slot[_BORN], t):
                        stale_hits[request_kind] += 1
                        stale_saved[request_kind] += whole[shape]
                        self.stale_requests += 1
                continue
            keys = x.node_keys[i]
            took: list[float] | None = None
            served_stale = False
            for j, key in enumerate(keys):
                kind = kinds[key]
                found = disk.get(key, t)
                if found is not None:
                    old = stale(groups[key], found[_BORN], t)
                    served_stale = served_stale or old
                if counting:
                    lookups[kind] += 1
                    if found is not None:
                        hits[kind] += 1
                        saved[kind] += seconds[key]
                        if old:
                            stale_hits[kind] += 1
                            stale_saved[kind] += seconds[key]
                    else:
                        computed[kind] += seconds[key]
                        written[kind] += sizes[key]
                if found is None:
                    if took is None:
                        took = [0.0] * len(keys)
                    took[j] = seconds[key]
                    disk.set(key, t, ttls[key], sizes[key], kind)
            disk.set(rkey, t, ttls[rkey], sizes[rkey], request_kind)
            if counting:
                # Every node a hit: the run takes no time at all.
                self.wall_saved += wall[shape] - (shapes[shape].makespan(took) if took else 0.0)
                written[request_kind] += sizes[rkey]
                self.peak = max(self.peak, disk.volume)
                if served_stale:
                    self.stale_requests += 1

    def _advance(self, t: float) -> None:
        if math.isnan(self.last):
            # The first counted request: what happened before only warmed the cache.
            self.evicted_before, self.expired_before = self.disk.evicted, self.disk.expired
        else:
            dt = t - self.last
            self.area += self.disk.volume * dt
            for k, held in enumerate(self.disk.held):
                self.held_area[k] += held * dt
        self.last = t

    def result(
        self, trace: Trace, config: Candidate, first: float, elapsed: float
    ) -> SimulationResult:
        start = max(first, trace.start)
        span = (self.last - start) if not math.isnan(self.last) else 0.0
        kinds = {
            kind: KindStats(
                lookups=self.lookups[k],
                hits=self.hits[k],
                seconds_saved=self.saved[k],
                compute_seconds=self.computed[k],
                written_bytes=self.written[k],
                held_bytes=self.held_area[k] / span if span > 0 else self.disk.held[k],
                stale_hits=self.stale_hits[k],
                stale_seconds=self.stale_saved[k],
            )
            for k, kind in enumerate(KINDS)
        }
        return SimulationResult(
            config=config,
            mode="sim",
            trace=trace.name,
            requests=self.requests,
            request_hits=self.request_hits,
            window=(start, self.last if not math.isnan(self.last) else start),
            kinds=kinds,
            peak_bytes=self.peak,
            mean_bytes=self.area / span if span > 0 else self.disk.volume,
            wall_seconds_saved=self.wall_saved,
            evictions=self.disk.evicted - self.evicted_before,
            expirations=self.disk.expired - self.expired_before,
            elapsed=elapsed,
            stale_requests=self.stale_requests,
        )
