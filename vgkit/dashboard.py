"""A live dashboard of the metrics registry for notebooks.

::

    dash = vgkit.dashboard.Dashboard().show()   # the panel appears under the cell
    dash.start()                      # refresh every second while the loop runs
    result = await LoadTest(rate=50, duration=10).run(target)   # the panel moves
    dash.stop()

Each refresh reads :meth:`MetricsRegistry.to_frame`, keeps a short history of
the figures below, and redraws five panels; a family absent from the registry
shows "no data yet" (the cache, pool and queue families appear once those
components run in this process):

- throughput: orchestrator runs, load-test answers and A2A messages per second
  (counter deltas)
- latency: the load test's corrected p50/p99, else percentiles estimated from
  the buckets of the first histogram present among run makespans, A2A
  round trips and pooled requests
- cache hit rate: hits / lookups, over the last refresh and overall; a lookup
  that misses L1 and then hits L2 is one hit (``vgkit_cache_*`` counts it per
  tier)
- pool reuse: reused / (created + reused) TCP connections, cumulative
- queue depth: the sum of the queue-depth gauges (a worker refreshes them from
  Redis: pass ``before_refresh=worker.refresh_metrics``)

Which samples feed which figure is the table :data:`SOURCES` (the exact
sample names the components export: ``vgkit.metrics`` lists the families,
``vgkit.cache.counters``, ``vgkit.client.pool_counters`` and ``vgkit.serve.request_counters`` the
collectors'); a test runs a real cache, pool and queue workload into one
registry and checks that every panel gets data.

``start`` needs a running event loop (a notebook has one). Without one it
refreshes once and returns False; without ipywidgets or a display the
dashboard still computes (``history()``, ``figure()``), it just shows nothing.
Inside a cell that ``await``\\ s, the refresh task runs between awaits; a
blocking call freezes it, so pass ``on_progress=dash.on_progress`` to a load
test to refresh from its progress hook as well.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import math
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import pandas as pd

from vgkit.metrics import MetricsRegistry, default_registry

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from vgkit.loadtest.live import LoadProgress

__all__ = ["DEFAULT_INTERVAL", "PANELS", "SOURCES", "Dashboard", "panel_frames", "read_figures"]

DEFAULT_INTERVAL = 1.0
DEFAULT_WINDOW = 300
"""Snapshots kept (five minutes at one per second)."""
PANELS = ("throughput", "latency", "cache hit rate", "pool reuse", "queue depth")

#: figure -> regular expressions over sample names whose values are summed into it.
SOURCES: dict[str, tuple[str, ...]] = {
    "runs": (r"^vgkit_runs_total$",),
    "loadtest_answers": (r"^vgkit_loadtest_requests_total$",),
    "a2a_messages": (r"^vgkit_a2a_messages_total$",),
    "cache_hits": (r"^vgkit_cache_hits_total$",),
    "cache_misses": (r"^vgkit_cache_misses_total$",),
    "pool_created": (r"^vgkit_pool_connections_created_total$",),
    "pool_reused": (r"^vgkit_pool_connections_reused_total$",),
    "queue_depth": (r"^vgkit_queue_depth$",),
}
_COMPILED = {k: tuple(re.compile(p) for p in v) for k, v in SOURCES.items()}
#: Figures that only grow (so a rate is their difference over time).
COUNTERS = frozenset(
    {
        "runs",
        "loadtest_answers",
        "a2a_messages",
        "cache_hits",
        "cache_misses",
        "pool_created",
        "pool_reused",
    }
)
#: Histograms whose buckets stand in for latency without a load test, first found wins.
LATENCY_HISTOGRAMS = (
    "vgkit_run_makespan_seconds_bucket",
    "vgkit_a2a_latency_seconds_bucket",
    "vgkit_pool_request_duration_seconds_bucket",
)
#: What a throughput line is called, by figure.
THROUGHPUT = {
    "runs": "runs/s",
    "loadtest_answers": "load-test answers/s",
    "a2a_messages": "A2A messages/s",
}


def _labelled(frame: pd.DataFrame, label: str, value: str) -> pd.Series:
    if label not in frame:
        return pd.Series(False, index=frame.index)
    return frame[label] == value


def _bucket_quantile(buckets: pd.DataFrame, q: float) -> float:
    """A quantile from cumulative histogram buckets (``le``, ``value``), Prometheus-style."""
    summed = buckets.groupby(buckets["le"].astype(float))["value"].sum().sort_index()
    pairs = [(float(str(le)), float(count)) for le, count in summed.items()]
    total = pairs[-1][1] if pairs else 0.0
    if total <= 0:
        return math.nan
    rank = q * total
    lower_bound, lower_count = 0.0, 0.0
    for upper, count in pairs:
        if count >= rank:
            if math.isinf(upper):
                return lower_bound
            span = count - lower_count
            return lower_bound + (upper - lower_bound) * (
                (rank - lower_count) / span if span else 1
            )
        lower_bound, lower_count = upper, count
    return lower_bound


def read_figures(frame: pd.DataFrame) -> dict[str, float]:
    """The dashboard's figures from one ``MetricsRegistry.to_frame()``; absent ones are left out."""
    figures: dict[str, float] = {}
    if frame.empty:
        return figures
    samples = frame["sample"].astype(str)
    for name, patterns in _COMPILED.items():
        mask = samples.map(lambda s, p=patterns: any(rx.match(s) for rx in p)).astype(bool)
        if name == "loadtest_answers":
            mask &= frame.get("outcome", pd.Series("", index=frame.index)).isin(["ok", "error"])
        if mask.any():
            figures[name] = float(frame.loc[mask, "value"].sum())
    if "cache_misses" in figures:
        figures["cache_misses"] = _final_misses(frame, samples)
    if "cache_hits" not in figures and "cache_misses" not in figures:
        # No cache component reports yet: the orchestrator's own count of agent calls by outcome.
        calls = frame[samples == "vgkit_agent_duration_seconds_count"]
        for outcome, name in (("hit", "cache_hits"), ("miss", "cache_misses")):
            picked = calls[_labelled(calls, "cache", outcome)]
            if len(picked):
                figures[name] = float(picked["value"].sum())
    quantiles = frame[samples == "vgkit_loadtest_latency_seconds"]
    if len(quantiles) and "quantile" in quantiles:
        for label, name in (("0.5", "latency_p50"), ("0.99", "latency_p99")):
            values = quantiles.loc[quantiles["quantile"] == label, "value"]
            if len(values):
                figures[name] = float(values.max())
    for histogram in LATENCY_HISTOGRAMS:
        if "latency_p50" in figures:
            break
        buckets = frame[samples == histogram]
        if len(buckets) and "le" in buckets:
            for q, name in ((0.5, "latency_p50"), (0.99, "latency_p99")):
                value = _bucket_quantile(buckets, q)
                if not math.isnan(value):
                    figures[name] = value
    return figures


def _final_misses(frame: pd.DataFrame, samples: pd.Series) -> float:
    """Lookups no tier answered.

    The cache counts per tier, and a lookup that misses L1 goes on to L2, where
    it is counted again as a hit or a miss: of all the misses counted, those of
    L1 that L2 then saw (at most L2's lookups: an L2-only cache has none) were
    not final.
    """

    def total(sample: str, tier: str) -> float:
        picked = frame[(samples == sample) & _labelled(frame, "tier", tier)]
        return float(picked["value"].sum())

    misses = float(frame.loc[samples == "vgkit_cache_misses_total", "value"].sum())
    l1_misses = total("vgkit_cache_misses_total", "l1")
    l2_lookups = total("vgkit_cache_hits_total", "l2") + total("vgkit_cache_misses_total", "l2")
    return misses - min(l1_misses, l2_lookups)


def panel_frames(history: pd.DataFrame) -> dict[str, pd.DataFrame | None]:
    """Per panel, the series to plot against ``t`` (None: no data yet)."""
    out: dict[str, pd.DataFrame | None] = dict.fromkeys(PANELS)
    if history.empty:
        return out
    # A counter that is absent from a snapshot had not counted anything yet: zero.
    counters = [c for c in history.columns if c in COUNTERS]
    history = history.assign(**{c: history[c].fillna(0.0) for c in counters})
    t = history["t"]
    dt = t.diff()

    def rate(column: str) -> pd.Series:
        return (history[column].diff() / dt).clip(lower=0)

    throughput = {
        label: rate(col)
        for col, label in THROUGHPUT.items()
        if col in history and history[col].notna().any()
    }
    if throughput:
        out["throughput"] = pd.DataFrame({"t": t, **throughput})
    latency = {c: history[c] * 1e3 for c in ("latency_p50", "latency_p99") if c in history}
    if latency:
        out["latency"] = pd.DataFrame({"t": t, **{f"{k[8:]} ms": v for k, v in latency.items()}})
    if "cache_hits" in history and "cache_misses" in history:
        hits, misses = history["cache_hits"].diff(), history["cache_misses"].diff()
        recent = hits / (hits + misses).where(lambda s: s > 0)
        overall = history["cache_hits"] / (history["cache_hits"] + history["cache_misses"])
        out["cache hit rate"] = pd.DataFrame({"t": t, "since last": recent, "overall": overall})
    if "pool_reused" in history:
        created = history.get("pool_created", 0.0)
        total = (history["pool_reused"] + created).where(lambda s: s > 0)
        out["pool reuse"] = pd.DataFrame({"t": t, "reuse rate": history["pool_reused"] / total})
    if "queue_depth" in history:
        out["queue depth"] = pd.DataFrame({"t": t, "jobs waiting": history["queue_depth"]})
    return out


def draw(history: pd.DataFrame, figure: Figure | None = None) -> Figure:
    """Five small panels; "no data yet" where a family is absent."""
    from matplotlib.figure import Figure

    fig = figure if figure is not None else Figure(figsize=(12, 5.5), layout="constrained")
    fig.clear()
    axes = fig.subplots(2, 3).ravel()
    for ax, (panel, data) in zip(axes, panel_frames(history).items(), strict=False):
        ax.set_title(panel, fontsize=10)
        if data is None or data.drop(columns="t").isna().all().all():
            ax.text(0.5, 0.5, "no data yet", ha="center", va="center", color="0.5")
            ax.set_xticks([])
            ax.set_yticks([])
            continue
        for column in data.columns.drop("t"):
            ax.plot(data["t"], data[column], marker=".", label=column)
        ax.set_xlabel("seconds", fontsize=8)
        ax.tick_params(labelsize=8)
        ax.legend(fontsize=7, frameon=False)
    axes[-1].axis("off")
    return fig


class Dashboard:
    """Plots a metrics registry in a notebook and refreshes it while work runs.

    ``before_refresh`` runs before each refresh of the running task, for
    figures that need I/O to read (``worker.refresh_metrics`` reads the queue's
    depths from Redis).
    """

    def __init__(
        self,
        registry: MetricsRegistry | None = None,
        *,
        interval: float = DEFAULT_INTERVAL,
        window: int = DEFAULT_WINDOW,
        before_refresh: Callable[[], Awaitable[Any]] | None = None,
    ) -> None:
        if not interval > 0:
            raise ValueError(f"interval must be > 0 seconds, not {interval}")
        self.registry = registry if registry is not None else default_registry()
        self.interval = interval
        self.before_refresh = before_refresh
        self._snapshots: deque[dict[str, float]] = deque(maxlen=window)
        self._started = time.monotonic()
        self._task: asyncio.Task[None] | None = None
        self._image: Any = None
        self._status: Any = None
        self._box: Any = None
        self._last_draw = -math.inf

    # -- data ----------------------------------------------------------------

    def snapshot(self) -> dict[str, float]:
        """Read the registry once and remember the figures."""
        figures = {"t": time.monotonic() - self._started, **read_figures(self.registry.to_frame())}
        self._snapshots.append(figures)
        return figures

    def history(self) -> pd.DataFrame:
        """Every remembered snapshot, one row each (``t`` in seconds)."""
        return pd.DataFrame(list(self._snapshots))

    def figure(self) -> Figure:
        return draw(self.history())

    # -- display ---------------------------------------------------------------

    @property
    def widget(self) -> Any:
        """The ipywidgets panel (None when ipywidgets is not installed)."""
        if self._image is None:
            try:
                import ipywidgets
            except ImportError:
                return None
            self._status = ipywidgets.HTML()
            self._image = ipywidgets.Image(format="png")
            self._box = ipywidgets.VBox([self._status, self._image])
        return self._box

    def show(self) -> Dashboard:
        """Display the panel under the current cell (nothing outside a notebook)."""
        widget = self.widget
        if widget is not None:
            with contextlib.suppress(ImportError):
                from IPython.display import display

                display(widget)  # type: ignore[no-untyped-call]
        self.refresh()
        return self

    def refresh(self) -> None:
        """Take a snapshot and redraw the panel (if one is displayed)."""
        self.snapshot()
        if self._image is None:
            return
        buffer = io.BytesIO()
        self.figure().savefig(buffer, format="png", dpi=80)
        self._image.value = buffer.getvalue()
        state = "refreshing" if self.running else "stopped"
        self._status.value = f"<b>vgkit metrics</b> · {len(self._snapshots)} snapshots · {state}"
        self._last_draw = time.monotonic()

    def on_progress(self, progress: LoadProgress) -> None:
        """A load test's ``on_progress`` hook: refresh at most once per interval."""
        if progress.done or time.monotonic() - self._last_draw >= self.interval:
            self.refresh()

    # -- the refresh task ----------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> bool:
        """Refresh every ``interval`` on the running loop; False (one refresh) without a loop."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.refresh()
            return False
        if not self.running:
            self._task = loop.create_task(self._loop())
        return True

    def stop(self) -> None:
        """Stop refreshing (a last refresh shows the final figures)."""
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self.refresh()

    async def _loop(self) -> None:
        while True:
            if self.before_refresh is not None:
                await self.before_refresh()
            self.refresh()
            await asyncio.sleep(self.interval)
