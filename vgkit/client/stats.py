"""Plain counters of the pool and the A2A client, exposed to Prometheus at scrape time.

The hot path only bumps integers; a collector registered once per metrics
registry turns every live client's counters into metric families when
someone scrapes ``/metrics`` (prometheus_client rejects two collectors with
the same metric names, hence one collector over many clients).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from vgkit.client.balancer import LatencyHistogram, Origin
from vgkit.metrics import MetricsRegistry, default_registry

__all__ = ["OriginStats", "Sample", "register_source"]


@dataclass(slots=True)
class OriginStats:
    """Real TCP connection figures of one origin, fed by the pool's connector.

    The counters only grow (Prometheus reads them); ``reset`` moves the
    baseline that ``snapshot`` subtracts, for measuring after a warm-up.
    Open connections are read from the live connector (in use plus idle
    keep-alive ones whose socket is still connected); closed = created - open.
    """

    origin: Origin
    created: int = 0
    reused: int = 0
    waits: int = 0
    wait_seconds: float = 0.0
    _base: dict[str, float] = field(default_factory=dict)
    connector: Any = None
    """The origin's live aiohttp connector (None while the origin is closed)."""

    def add_wait(self, seconds: float) -> None:
        self.waits += 1
        self.wait_seconds += seconds

    @property
    def open(self) -> int:
        connector = self.connector
        if connector is None or connector.closed:
            return 0
        # aiohttp keeps no public count: in-use protocols and idle (protocol, t) pairs.
        protocols = list(getattr(connector, "_acquired", ()))
        for idle in getattr(connector, "_conns", {}).values():
            protocols.extend(p for p, _ in idle)
        return sum(1 for p in protocols if p.is_connected())

    @property
    def closed(self) -> int:
        return max(0, self.created - self.open)

    def totals(self) -> dict[str, float]:
        return {
            "created": self.created,
            "reused": self.reused,
            "closed": self.closed,
            "waits": self.waits,
            "wait_seconds": self.wait_seconds,
        }

    def reset(self) -> None:
        self._base = self.totals()

    def snapshot(self) -> dict[str, Any]:
        """Figures since the last ``reset`` (open is always the current count)."""
        now = self.totals()
        delta = {k: v - self._base.get(k, 0) for k, v in now.items()}
        created, reused = int(delta["created"]), int(delta["reused"])
        used = created + reused
        return {
            "created": created,
            "reused": reused,
            "closed": int(delta["closed"]),
            "open": self.open,
            "requests": used,
            "reuse_rate": reused / used if used else 0.0,
            "requests_per_connection": used / created if created else float(used > 0),
            "waits": int(delta["waits"]),
            "wait_seconds": delta["wait_seconds"],
        }

    @staticmethod
    def combine(snapshots: Iterable[dict[str, Any]]) -> dict[str, Any]:
        keys = ("created", "reused", "closed", "open", "requests", "waits", "wait_seconds")
        total: dict[str, Any] = dict.fromkeys(keys, 0)
        for snap in snapshots:
            for key in keys:
                total[key] += snap[key]
        used, created = total["requests"], total["created"]
        total["reuse_rate"] = total["reused"] / used if used else 0.0
        total["requests_per_connection"] = used / created if created else float(used > 0)
        return total


@dataclass(frozen=True, slots=True)
class Sample:
    """One sample for the collector: a counter, a gauge or a histogram value."""

    name: str
    kind: str  # counter | gauge | histogram
    doc: str
    labels: dict[str, str]
    value: float | LatencyHistogram


class MetricSource(Protocol):
    def metric_samples(self) -> Iterable[Sample]: ...


class _ClientCollector:
    """Turns the samples of every live client into metric families."""

    def __init__(self) -> None:
        self.sources: weakref.WeakSet[Any] = weakref.WeakSet()

    def collect(self) -> Iterator[Metric]:
        families: dict[str, Metric] = {}
        for source in list(self.sources):
            for s in source.metric_samples():
                family = families.get(s.name)
                labels = list(s.labels)
                if family is None:
                    if s.kind == "counter":
                        family = CounterMetricFamily(s.name, s.doc, labels=labels)
                    elif s.kind == "gauge":
                        family = GaugeMetricFamily(s.name, s.doc, labels=labels)
                    else:
                        family = HistogramMetricFamily(s.name, s.doc, labels=labels)
                    families[s.name] = family
                values = list(s.labels.values())
                if isinstance(s.value, LatencyHistogram):
                    assert isinstance(family, HistogramMetricFamily)
                    family.add_metric(values, s.value.cumulative(), s.value.total)
                else:
                    family.add_metric(values, s.value)  # type: ignore[attr-defined]
        yield from families.values()


_collectors: weakref.WeakKeyDictionary[MetricsRegistry, _ClientCollector] = (
    weakref.WeakKeyDictionary()
)


def register_source(source: MetricSource, registry: MetricsRegistry | None = None) -> None:
    """Expose ``source``'s samples in ``registry`` (default: the process registry)."""
    reg = registry if registry is not None else default_registry()
    collector = _collectors.get(reg)
    if collector is None:
        collector = _collectors[reg] = _ClientCollector()
        reg.add_collector(collector)
    collector.sources.add(source)
