"""Metrics: one registry for notebooks (pandas) and services (Prometheus).

:class:`MetricsRegistry` wraps a private ``prometheus_client.CollectorRegistry``
(never the global one, so tests and notebooks can make as many as they like).
Two ways to put numbers in it:

* instruments: ``registry.counter(...)``, ``gauge(...)``, ``histogram(...)``
  return prometheus_client objects (idempotent: asking twice for the same name
  gives the same instrument). Use them where an update is rare enough that a
  lock per update does not matter (per agent call, per job).
* collectors: components with hot paths (the cache tiers, the connection pool)
  keep plain counters of their own and register a collector that turns them into
  metric families only when someone scrapes. ``registry.add_collector(obj)``
  takes anything with a ``collect()`` that yields prometheus metric families;
  simpler still, :func:`register_source` takes any object whose
  ``metric_samples()`` yields :class:`Sample` values (plain numbers or a
  :class:`LatencyHistogram`, a histogram kept as plain counts), and one
  collector per registry turns every live source into families at scrape time.

Names follow Prometheus conventions: the ``vgkit_`` prefix, base units
(``_seconds``, ``_bytes``) and ``_total`` on counters.

``to_frame()`` flattens every sample into a DataFrame (one row per sample, one
column per label) for notebooks; ``exposition()`` is the text format served at
``/metrics`` (:class:`MetricsServer` serves it on 127.0.0.1 for ``vgkit worker``).

The families vgkit exposes, by the component that records them (counters are
listed with the ``_total`` their samples carry)::

    agents (the orchestrator)
      vgkit_agent_requests_total{agent,platform,status}      agent calls by outcome
      vgkit_agent_duration_seconds{agent,cache}              wall time per call (histogram)
      vgkit_agent_errors_total{agent,error}                  calls that raised
      vgkit_runs_total{executor,ok}                          orchestrator runs
      vgkit_run_makespan_seconds{executor}                   makespan per run (histogram)
    the llm backend (vgkit.agents.llm)
      vgkit_llm_requests_total{agent,outcome}                chat completions: valid, invalid,
                                                             error
      vgkit_llm_repairs_total{agent}                         invalid answers sent back to fix
      vgkit_llm_fallbacks_total{agent}                       calls answered by the template agent
                                                             after no valid answer
      vgkit_llm_tokens_total{agent,kind}                     prompt and completion tokens
      vgkit_llm_call_seconds{agent,outcome}                  wall time of an agent call through
                                                             the model, repairs included
    quality (the orchestrator)
      vgkit_quality_score{platform,check}                    scores of finished plans (histogram)
    job queue (vgkit.queue: queues and workers)
      vgkit_queue_depth{priority}                            jobs waiting to be claimed
      vgkit_queue_running                                    jobs claimed by a worker
      vgkit_queue_retrying                                   failed jobs waiting out their backoff
      vgkit_queue_dead_letters                               jobs in the dead-letter list
      vgkit_queue_submitted_total{priority}                  accepted submissions
      vgkit_queue_jobs_total{priority,outcome}               finished attempts: succeeded,
                                                             retrying, dead, cancelled,
                                                             released, lost
      vgkit_queue_wait_seconds{priority}                     queued -> claimed (histogram)
      vgkit_queue_run_seconds{priority,outcome}              claimed -> finished (histogram)
    traces (vgkit.tracing: the span log, ``registry.spans``)
      vgkit_spans_recorded_total{kind}                       spans recorded: run, node, client,
                                                             agent, submit, job
    A2A traffic and the connection pool (vgkit.client, a collector)
      messages and latency per agent; active connections and the reuse rate
    cache (vgkit.cache, a collector)
      hits and misses per tier and content kind; seconds saved by hits

The A2A, pool and cache families are registered by their components as
collectors over their own counters; see those modules for the exact names.
"""

from __future__ import annotations

import threading
import weakref
from bisect import bisect_left
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from vgkit.errors import ConfigError
from vgkit.resource import AsyncResource
from vgkit.tracing import SpanLog

if TYPE_CHECKING:
    import pandas as pd
    from aiohttp import web

__all__ = [
    "DEFAULT_REGISTRY",
    "LATENCY_BUCKETS",
    "LatencyHistogram",
    "MetricSource",
    "MetricsRegistry",
    "MetricsServer",
    "Sample",
    "SupportsCollect",
    "default_registry",
    "register_source",
]

#: Latency buckets (seconds) wide enough for cache hits and for model calls.
LATENCY_BUCKETS: tuple[float, ...] = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
)  # fmt: skip
QUALITY_BUCKETS: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0)


class SupportsCollect(Protocol):
    def collect(self) -> Iterable[Metric]: ...


class MetricsRegistry:
    """A set of vgkit metrics, exported as a DataFrame or Prometheus text."""

    def __init__(self) -> None:
        self.prometheus = CollectorRegistry(auto_describe=True)
        self._instruments: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.spans = SpanLog()
        """The trace spans recorded in this registry's process (``vgkit.tracing``)."""
        register_source(self.spans, self)

    def _instrument(
        self, kind: type[Any], name: str, doc: str, labels: Sequence[str], **kw: Any
    ) -> Any:
        with self._lock:
            existing = self._instruments.get(name)
            if existing is not None:
                if not isinstance(existing, kind):
                    raise ValueError(f"metric {name} already exists as {type(existing).__name__}")
                return existing
            instrument = kind(name, doc, labelnames=tuple(labels), registry=self.prometheus, **kw)
            self._instruments[name] = instrument
            return instrument

    def counter(self, name: str, doc: str, labels: Sequence[str] = ()) -> Counter:
        """A counter; ``name`` without the ``_total`` suffix (prometheus_client adds it)."""
        result: Counter = self._instrument(Counter, name, doc, labels)
        return result

    def gauge(self, name: str, doc: str, labels: Sequence[str] = ()) -> Gauge:
        result: Gauge = self._instrument(Gauge, name, doc, labels)
        return result

    def histogram(
        self,
        name: str,
        doc: str,
        labels: Sequence[str] = (),
        buckets: Sequence[float] = LATENCY_BUCKETS,
    ) -> Histogram:
        result: Histogram = self._instrument(Histogram, name, doc, labels, buckets=tuple(buckets))
        return result

    def add_collector(self, collector: SupportsCollect) -> None:
        """Expose a component's own counters at scrape time."""
        self.prometheus.register(collector)

    def remove_collector(self, collector: SupportsCollect) -> None:
        self.prometheus.unregister(collector)

    def collect(self) -> Iterable[Metric]:
        return self.prometheus.collect()

    def exposition(self) -> bytes:
        """Prometheus text exposition format (what ``/metrics`` serves)."""
        return generate_latest(self.prometheus)

    def to_frame(self) -> pd.DataFrame:
        """Every sample as a row: metric, type, sample, value, then one column per label."""
        import pandas as pd

        rows = []
        for family in self.collect():
            for sample in family.samples:
                rows.append(
                    {
                        "metric": family.name,
                        "type": family.type,
                        "sample": sample.name,
                        "value": float(sample.value),
                        **sample.labels,
                    }
                )
        frame = pd.DataFrame(
            rows, columns=["metric", "type", "sample", "value"] if not rows else None
        )
        return frame

    # -- the pipeline's own instruments ------------------------------------

    def agent_requests(self) -> Counter:
        return self.counter(
            "vgkit_agent_requests", "Agent calls by agent, platform and outcome",
            ("agent", "platform", "status"),
        )  # fmt: skip

    def agent_duration(self) -> Histogram:
        return self.histogram(
            "vgkit_agent_duration_seconds", "Wall time of agent calls", ("agent", "cache")
        )

    def agent_errors(self) -> Counter:
        return self.counter("vgkit_agent_errors", "Agent calls that raised", ("agent", "error"))

    def quality_score(self) -> Histogram:
        return self.histogram(
            "vgkit_quality_score", "Quality scores of finished plans", ("platform", "check"),
            buckets=QUALITY_BUCKETS,
        )  # fmt: skip

    def runs(self) -> Counter:
        return self.counter(
            "vgkit_runs", "Orchestrator runs by executor and outcome", ("executor", "ok")
        )

    def run_makespan(self) -> Histogram:
        return self.histogram(
            "vgkit_run_makespan_seconds", "Makespan of orchestrator runs", ("executor",)
        )

    # -- the llm backend -----------------------------------------------------

    def llm_requests(self) -> Counter:
        return self.counter(
            "vgkit_llm_requests", "Chat completions by agent and outcome (valid, invalid, error)",
            ("agent", "outcome"),
        )  # fmt: skip

    def llm_repairs(self) -> Counter:
        return self.counter(
            "vgkit_llm_repairs", "Invalid model answers sent back to be corrected", ("agent",)
        )

    def llm_fallbacks(self) -> Counter:
        return self.counter(
            "vgkit_llm_fallbacks",
            "Agent calls answered by the template agent after no valid model answer",
            ("agent",),
        )

    def llm_tokens(self) -> Counter:
        return self.counter(
            "vgkit_llm_tokens", "Prompt and completion tokens by agent", ("agent", "kind")
        )

    def llm_call_seconds(self) -> Histogram:
        return self.histogram(
            "vgkit_llm_call_seconds",
            "Wall time of agent calls through the model (repairs included) by outcome",
            ("agent", "outcome"),
        )

    # -- the job queue -------------------------------------------------------

    def queue_depth(self) -> Gauge:
        return self.gauge("vgkit_queue_depth", "Jobs waiting to be claimed", ("priority",))

    def queue_running(self) -> Gauge:
        return self.gauge("vgkit_queue_running", "Jobs claimed by a worker and not finished")

    def queue_retrying(self) -> Gauge:
        return self.gauge("vgkit_queue_retrying", "Failed jobs waiting out their retry backoff")

    def queue_dead_letters(self) -> Gauge:
        return self.gauge("vgkit_queue_dead_letters", "Jobs in the dead-letter list")

    def queue_submitted(self) -> Counter:
        return self.counter("vgkit_queue_submitted", "Jobs accepted by the queue", ("priority",))

    def queue_jobs(self) -> Counter:
        return self.counter(
            "vgkit_queue_jobs", "Finished job attempts by priority and outcome",
            ("priority", "outcome"),
        )  # fmt: skip

    def queue_wait(self) -> Histogram:
        return self.histogram(
            "vgkit_queue_wait_seconds", "Time from queued to claimed", ("priority",)
        )

    def queue_run(self) -> Histogram:
        return self.histogram(
            "vgkit_queue_run_seconds", "Time from claimed to finished", ("priority", "outcome")
        )


class MetricsServer(AsyncResource):
    """Serves a registry's ``/metrics`` over HTTP on 127.0.0.1 (aiohttp).

    ``port=0`` picks a free port (read it from :attr:`port` after
    :meth:`start`). ``before_scrape`` runs before every scrape, for figures that
    need I/O to read (queue depths in Redis).
    """

    def __init__(
        self,
        registry: MetricsRegistry,
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        before_scrape: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.registry = registry
        self.host = host
        self.port = port
        self.before_scrape = before_scrape
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    async def start(self) -> None:
        from aiohttp import web

        app = web.Application()
        app.router.add_get("/metrics", self._handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
        except OSError as exc:
            await runner.cleanup()
            raise ConfigError(
                f"cannot serve /metrics on {self.host}:{self.port} ({exc.strerror or exc}); "
                "choose a free port, or 0 to disable"
            ) from exc
        self.port = int(runner.addresses[0][1])
        self._runner = runner

    async def _handle(self, request: web.Request) -> web.Response:
        from aiohttp import web

        if self.before_scrape is not None:
            await self.before_scrape()
        return web.Response(
            body=self.registry.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    async def aclose(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


def default_registry() -> MetricsRegistry:
    """The process-wide registry that services expose at ``/metrics``."""
    return DEFAULT_REGISTRY


# -- hot-path counters, turned into families at scrape time ---------------------------


@dataclass(slots=True)
class LatencyHistogram:
    """Cumulative-bucket latency histogram kept as plain counts (cheap to update)."""

    buckets: Sequence[float] = LATENCY_BUCKETS
    counts: list[int] = field(default_factory=list)
    total: float = 0.0
    n: int = 0

    def __post_init__(self) -> None:
        if not self.counts:
            self.counts = [0] * (len(self.buckets) + 1)

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(self.buckets, seconds)] += 1
        self.total += seconds
        self.n += 1

    @property
    def mean(self) -> float:
        return self.total / self.n if self.n else 0.0

    def cumulative(self) -> list[tuple[str, float]]:
        """(upper bound, cumulative count) pairs, ``+Inf`` last (Prometheus layout)."""
        out, running = [], 0
        for bound, count in zip([*map(str, self.buckets), "+Inf"], self.counts, strict=True):
            running += count
            out.append((bound, float(running)))
        return out

    def quantile(self, q: float) -> float:
        """Upper bound of the bucket holding quantile ``q`` (0 when empty)."""
        if not self.n:
            return 0.0
        rank, running = q * self.n, 0
        for bound, count in zip(self.buckets, self.counts, strict=False):
            running += count
            if running >= rank:
                return bound
        return float("inf")


@dataclass(frozen=True, slots=True)
class Sample:
    """One sample of a metric source: a counter, a gauge or a histogram value."""

    name: str
    kind: str  # counter | gauge | histogram
    doc: str
    labels: dict[str, str]
    value: float | LatencyHistogram


class MetricSource(Protocol):
    """Anything that can list its figures as samples (a pool, a client, a server)."""

    def metric_samples(self) -> Iterable[Sample]: ...


class _SourceCollector:
    """Turns the samples of every live source into metric families."""

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


_collectors: weakref.WeakKeyDictionary[MetricsRegistry, _SourceCollector] = (
    weakref.WeakKeyDictionary()
)


def register_source(source: MetricSource, registry: MetricsRegistry | None = None) -> None:
    """Expose ``source``'s samples in ``registry`` (default: the process registry).

    Sources are held weakly: one that is garbage-collected leaves the scrape.
    Every source of a registry shares one collector (prometheus_client rejects
    two collectors with the same metric names).
    """
    reg = registry if registry is not None else default_registry()
    collector = _collectors.get(reg)
    if collector is None:
        collector = _collectors[reg] = _SourceCollector()
        reg.add_collector(collector)
    collector.sources.add(source)


DEFAULT_REGISTRY = MetricsRegistry()
