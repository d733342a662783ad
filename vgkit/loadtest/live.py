"""Live figures of a running load test: progress snapshots and registry metrics.

:class:`LiveStats` counts outcomes as they happen and keeps a running HDR
histogram of corrected latency, so a progress bar or a dashboard can show
throughput and percentiles while the test runs. Its figures reach a
:class:`vgkit.metrics.MetricsRegistry` through one :class:`LoadTestCollector`
per registry (plain counters, turned into metric families only on scrape):

- ``vgkit_loadtest_requests_total{target, outcome}``: ok, error, dropped, abandoned
- ``vgkit_loadtest_in_flight{target}``: requests sent and not yet answered
- ``vgkit_loadtest_latency_seconds{target, quantile}``: corrected latency
  percentiles (0.5, 0.9, 0.99, 0.999, 1) of the current or last test
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass

from hdrh.histogram import HdrHistogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from vgkit.metrics import MetricsRegistry

__all__ = ["LATENCY_QUANTILES", "LiveStats", "LoadProgress", "LoadTestCollector", "new_histogram"]

#: Percentiles every load test reports (p50, p90, p95, p99, p99.9, max).
LATENCY_QUANTILES: tuple[float, ...] = (50.0, 90.0, 95.0, 99.0, 99.9, 100.0)
OUTCOMES = ("ok", "error", "dropped", "abandoned")
# HDR histograms hold integer microseconds from 1 µs to one hour at 3 significant digits.
HDR_LOWEST_US = 1
HDR_HIGHEST_US = 3_600_000_000
HDR_DIGITS = 3


#: Latencies kept before they are folded into the live histogram unasked.
_MAX_PENDING = 65536


def new_histogram() -> HdrHistogram:
    return HdrHistogram(HDR_LOWEST_US, HDR_HIGHEST_US, HDR_DIGITS)


def record_seconds(histogram: HdrHistogram, seconds: float) -> None:
    micros = min(max(round(seconds * 1e6), HDR_LOWEST_US), HDR_HIGHEST_US)
    histogram.record_value(micros)


def percentile_seconds(histogram: HdrHistogram, percentile: float) -> float:
    if histogram.get_total_count() == 0:
        return float("nan")
    if percentile >= 100:
        return float(histogram.get_max_value()) / 1e6
    return float(histogram.get_value_at_percentile(percentile)) / 1e6


@dataclass(frozen=True, slots=True)
class LoadProgress:
    """A snapshot handed to ``on_progress`` callbacks while a load test runs."""

    target: str
    elapsed: float
    scheduled: int
    sent: int
    ok: int
    errors: int
    dropped: int
    abandoned: int
    late: int
    in_flight: int
    throughput: float
    """Successful requests per second since the previous snapshot."""
    p50: float
    p99: float
    """Corrected latency percentiles so far, in seconds (NaN before the first answer)."""
    max_requests: int
    duration: float
    done: bool = False

    @property
    def completed(self) -> int:
        return self.ok + self.errors


class LiveStats:
    """Counts and a running latency histogram for one load test."""

    def __init__(self, target: str, *, max_requests: int, duration: float) -> None:
        self.target = target
        self.max_requests = max_requests
        self.duration = duration
        self.started = time.monotonic()
        self.scheduled = self.sent = self.ok = self.errors = 0
        self.dropped = self.abandoned = self.late = self.in_flight = 0
        self._histogram = new_histogram()
        # Latencies wait here (an append per request) until someone reads the
        # histogram (progress, a scrape) or there are _MAX_PENDING of them:
        # recording into HDR in pure Python was a quarter of the generator's own
        # cost per request, and the result builds its own histograms anyway.
        self._pending: list[float] = []
        self._flush_lock = threading.Lock()  # scrapes may read from another thread
        self._last = (self.started, 0)

    def observe(self, seconds: float) -> None:
        """One successful request's corrected latency."""
        pending = self._pending
        pending.append(seconds)
        if len(pending) >= _MAX_PENDING:  # bounded memory on long runs nobody watches
            _ = self.histogram

    @property
    def histogram(self) -> HdrHistogram:
        """The corrected latencies so far, as an HDR histogram."""
        with self._flush_lock:
            pending, self._pending = self._pending, []
            for seconds in pending:
                record_seconds(self._histogram, seconds)
        return self._histogram

    def snapshot(self, *, done: bool = False) -> LoadProgress:
        now = time.monotonic()
        then, ok_then = self._last
        self._last = (now, self.ok)
        span = now - then
        return LoadProgress(
            target=self.target,
            elapsed=now - self.started,
            scheduled=self.scheduled,
            sent=self.sent,
            ok=self.ok,
            errors=self.errors,
            dropped=self.dropped,
            abandoned=self.abandoned,
            late=self.late,
            in_flight=self.in_flight,
            throughput=(self.ok - ok_then) / span if span > 0 else 0.0,
            p50=percentile_seconds(histogram := self.histogram, 50.0),
            p99=percentile_seconds(histogram, 99.0),
            max_requests=self.max_requests,
            duration=self.duration,
            done=done,
        )

    def outcomes(self) -> dict[str, int]:
        return {
            "ok": self.ok,
            "error": self.errors,
            "dropped": self.dropped,
            "abandoned": self.abandoned,
        }


class LoadTestCollector:
    """Exposes every load test run against one registry (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._finished: dict[tuple[str, str], int] = {}
        self._live: dict[str, LiveStats] = {}
        self._last: dict[str, LiveStats] = {}

    def start(self, stats: LiveStats) -> None:
        with self._lock:
            self._live[stats.target] = stats
            self._last[stats.target] = stats

    def finish(self, stats: LiveStats) -> None:
        with self._lock:
            if self._live.get(stats.target) is stats:
                del self._live[stats.target]
            for outcome, count in stats.outcomes().items():
                key = (stats.target, outcome)
                self._finished[key] = self._finished.get(key, 0) + count

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "vgkit_loadtest_requests",
            "Load-test requests by target and outcome",
            labels=("target", "outcome"),
        )
        in_flight = GaugeMetricFamily(
            "vgkit_loadtest_in_flight", "Load-test requests awaiting an answer", labels=("target",)
        )
        latency = GaugeMetricFamily(
            "vgkit_loadtest_latency_seconds",
            "Corrected latency percentiles of the current or last load test",
            labels=("target", "quantile"),
        )
        with self._lock:
            totals = dict(self._finished)
            for stats in self._live.values():
                for outcome, count in stats.outcomes().items():
                    key = (stats.target, outcome)
                    totals[key] = totals.get(key, 0) + count
            last = dict(self._last)
            live = set(self._live)
        for (target, outcome), count in sorted(totals.items()):
            requests.add_metric((target, outcome), count)
        for target, stats in sorted(last.items()):
            in_flight.add_metric((target,), stats.in_flight if target in live else 0)
            if stats.histogram.get_total_count():
                for q in LATENCY_QUANTILES:
                    value = percentile_seconds(stats.histogram, q)
                    latency.add_metric((target, f"{q / 100:g}"), value)
        yield requests
        yield in_flight
        yield latency


_COLLECTORS: weakref.WeakKeyDictionary[MetricsRegistry, LoadTestCollector] = (
    weakref.WeakKeyDictionary()
)
_COLLECTORS_LOCK = threading.Lock()


def collector_for(registry: MetricsRegistry) -> LoadTestCollector:
    """The registry's load-test collector, registered on first use."""
    with _COLLECTORS_LOCK:
        collector = _COLLECTORS.get(registry)
        if collector is None:
            collector = LoadTestCollector()
            registry.add_collector(collector)
            _COLLECTORS[registry] = collector
        return collector
