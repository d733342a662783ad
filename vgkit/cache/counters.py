"""Plain counters for the cache's hot paths, exposed to the metrics registry on scrape.

Every figure is kept per tier (``l1``, ``l2``) and content kind. Counting is a
dict update on the event loop (no lock per hit); :class:`CacheCollector`
turns the counters into Prometheus families only when someone scrapes, as
``vgkit.metrics`` recommends for hot paths.
"""

from __future__ import annotations

import weakref
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, SummaryMetricFamily
from prometheus_client.metrics_core import Metric

if TYPE_CHECKING:
    import pandas as pd

from vgkit.metrics import MetricsRegistry

__all__ = ["COUNTERS", "CacheCollector", "CacheStats", "stats_for"]

#: Event counters, by tier and kind.
COUNTERS: tuple[str, ...] = (
    "hits",
    "misses",
    "sets",
    "evictions",
    "errors",
    "corrupt",
    "raw_bytes",
    "stored_bytes",
)

_DOCS = {
    "hits": "Cache lookups answered by the tier",
    "misses": "Cache lookups the tier could not answer",
    "sets": "Entries written to the tier",
    "evictions": "Entries the tier removed (size limit, expiry, invalidation)",
    "errors": "Tier operations that failed (counted, never raised)",
    "corrupt": "Stored entries that did not decode (treated as misses and deleted)",
    "raw_bytes": "JSON bytes of the values written, before compression",
    "stored_bytes": "Bytes of the entries written, after compression and header",
}


@dataclass
class CacheStats:
    """Counters by (tier, kind), latency sums by (tier, kind, op), seconds saved by kind."""

    counts: dict[tuple[str, str, str], float] = field(default_factory=lambda: defaultdict(float))
    latency: dict[tuple[str, str, str], list[float]] = field(default_factory=dict)
    saved: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    def add(self, event: str, tier: str, kind: str, amount: float = 1.0) -> None:
        self.counts[(event, tier, kind)] += amount

    def lookup(self, tier: str, kind: str, hit: bool, seconds: float) -> None:
        """One get: a hit or a miss, and its latency (the hot path, one call)."""
        self.counts[("hits" if hit else "misses", tier, kind)] += 1
        slot = self.latency.get((tier, kind, "get"))
        if slot is None:
            self.latency[(tier, kind, "get")] = [1.0, seconds]
        else:
            slot[0] += 1
            slot[1] += seconds

    def observe(self, tier: str, kind: str, op: str, seconds: float) -> None:
        slot = self.latency.get((tier, kind, op))
        if slot is None:
            self.latency[(tier, kind, op)] = [1.0, seconds]
        else:
            slot[0] += 1
            slot[1] += seconds

    def save(self, kind: str, seconds: float) -> None:
        self.saved[kind] += seconds

    def total(self, event: str, tier: str | None = None, kind: str | None = None) -> float:
        """Sum of ``event`` over the tiers and kinds that match."""
        return sum(
            v
            for (e, t, k), v in self.counts.items()
            if e == event and tier in (None, t) and kind in (None, k)
        )

    def reset(self) -> None:
        self.counts.clear()
        self.latency.clear()
        self.saved.clear()

    def to_frame(self) -> pd.DataFrame:
        """One row per tier and kind, one column per counter, plus mean latency."""
        import pandas as pd

        rows: dict[tuple[str, str], dict[str, float]] = {}
        for (event, tier, kind), value in self.counts.items():
            rows.setdefault((tier, kind), dict.fromkeys(COUNTERS, 0.0))[event] = value
        for (tier, kind, op), (count, total) in self.latency.items():
            row = rows.setdefault((tier, kind), dict.fromkeys(COUNTERS, 0.0))
            row[f"{op}_mean_seconds"] = total / count
        for kind, seconds in self.saved.items():
            rows.setdefault(("all", kind), dict.fromkeys(COUNTERS, 0.0))["seconds_saved"] = seconds
        frame = pd.DataFrame(
            [{"tier": t, "kind": k, **v} for (t, k), v in sorted(rows.items())],
            columns=None if rows else ["tier", "kind", *COUNTERS],
        )
        return frame.fillna(0.0)


class CacheCollector:
    """Prometheus view of a :class:`CacheStats` (register with ``add_collector``)."""

    def __init__(self, stats: CacheStats) -> None:
        self.stats = stats

    def collect(self) -> Iterator[Metric]:
        families = {
            event: CounterMetricFamily(
                f"vgkit_cache_{event}", _DOCS[event], labels=("tier", "kind")
            )
            for event in COUNTERS
        }
        for (event, tier, kind), value in list(self.stats.counts.items()):
            families[event].add_metric((tier, kind), value)
        yield from families.values()
        latency = SummaryMetricFamily(
            "vgkit_cache_latency_seconds",
            "Wall time of cache operations",
            labels=("tier", "kind", "op"),
        )
        for (tier, kind, op), (count, total) in list(self.stats.latency.items()):
            latency.add_metric((tier, kind, op), count_value=int(count), sum_value=total)
        yield latency
        saved = CounterMetricFamily(
            "vgkit_cache_saved_seconds",
            "Compute seconds saved by cache hits (each hit adds what its entry cost)",
            labels=("kind",),
        )
        for kind, seconds in list(self.stats.saved.items()):
            saved.add_metric((kind,), seconds)
        yield saved


_BY_REGISTRY: weakref.WeakKeyDictionary[MetricsRegistry, CacheStats] = weakref.WeakKeyDictionary()


def stats_for(registry: MetricsRegistry) -> CacheStats:
    """The cache counters of ``registry`` (every cache reporting there shares them)."""
    stats = _BY_REGISTRY.get(registry)
    if stats is None:
        stats = CacheStats()
        registry.add_collector(CacheCollector(stats))
        _BY_REGISTRY[registry] = stats
    return stats
