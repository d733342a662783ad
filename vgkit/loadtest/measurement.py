"""What a load test measured: per-request records, HDR percentiles, time series.

Latency is reported twice. *Corrected* latency runs from a request's intended
start (its slot in the arrival schedule) to its answer; *uncorrected* latency
runs from the moment it was actually sent. They differ only when the generator
could not send on time, which is exactly what a naive load generator hides.
Percentiles come from HDR histograms (3 significant digits) over successful
requests; errors, dropped and abandoned requests are counted separately.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import orjson
import pandas as pd
from hdrh.histogram import HdrHistogram

from vgkit.loadtest.live import (
    LATENCY_QUANTILES,
    new_histogram,
    percentile_seconds,
    record_seconds,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from vgkit.loadtest.runner import LoadTest
    from vgkit.loadtest.thresholds import Threshold, ThresholdReport
    from vgkit.loadtest.workload import WorkItem

__all__ = ["LoadTestResult", "Outcome", "Records", "compare_results", "percentile_label"]

Outcome = Literal["ok", "error", "dropped", "abandoned"]
COLUMNS = (
    "index", "topic", "category", "rank", "platform", "intended", "sent", "end",
    "latency", "service_time", "outcome", "error", "late",
)  # fmt: skip


def percentile_label(q: float) -> str:
    """``p50``, ``p99.9``, ``max``."""
    return "max" if q >= 100 else f"p{q:g}"


class Records:
    """Per-request figures, appended as requests finish (plain lists: cheap on the hot path)."""

    def __init__(self) -> None:
        self.index: list[int] = []
        self.intended: list[float] = []
        self.sent: list[float] = []
        self.end: list[float] = []
        self.outcome: list[str] = []
        self.error: list[str] = []

    def add(
        self,
        index: int,
        intended: float,
        sent: float,
        end: float,
        outcome: Outcome,
        error: str = "",
    ) -> None:
        self.index.append(index)
        self.intended.append(intended)
        self.sent.append(sent)
        self.end.append(end)
        self.outcome.append(outcome)
        self.error.append(error)

    def frame(self, items: Sequence[WorkItem], late_after: float) -> pd.DataFrame:
        """One row per scheduled request, in schedule order."""
        frame = pd.DataFrame(
            {
                "index": np.asarray(self.index, dtype=np.int64),
                "intended": np.asarray(self.intended, dtype=float),
                "sent": np.asarray(self.sent, dtype=float),
                "end": np.asarray(self.end, dtype=float),
                "outcome": pd.Series(self.outcome, dtype="string"),
                "error": pd.Series(self.error, dtype="string"),
            }
        )
        work = [items[i] for i in self.index]
        frame["topic"] = pd.Series([w.topic for w in work], dtype="string")
        frame["category"] = pd.Series([w.category for w in work], dtype="string")
        frame["rank"] = np.asarray([w.rank for w in work], dtype=np.int64)
        frame["platform"] = pd.Series([w.platform.value for w in work], dtype="string")
        frame["latency"] = frame["end"] - frame["intended"]
        frame["service_time"] = frame["end"] - frame["sent"]
        frame["late"] = (frame["sent"] - frame["intended"]) > late_after
        return frame.sort_values("index", ignore_index=True)[list(COLUMNS)]


@dataclass(frozen=True)
class LoadTestResult:
    """The outcome of one load test. Times are seconds since the test started."""

    target: str
    config: LoadTest
    started_at: str
    elapsed: float
    records: pd.DataFrame
    max_in_flight: int
    workload: dict[str, Any] | None = None

    # -- histograms and figures ------------------------------------------------

    def _histogram(self, column: str) -> HdrHistogram:
        histogram = new_histogram()
        for seconds in self.records.loc[self.records["outcome"] == "ok", column].tolist():
            record_seconds(histogram, seconds)
        return histogram

    @cached_property
    def histogram(self) -> HdrHistogram:
        """Corrected latency (from the intended start) of successful requests, in µs."""
        return self._histogram("latency")

    @cached_property
    def histogram_uncorrected(self) -> HdrHistogram:
        """Uncorrected latency (from the actual send) of successful requests, in µs."""
        return self._histogram("service_time")

    def latency(self, *, corrected: bool = True) -> dict[str, float]:
        """min, p50, p90, p95, p99, p99.9, max and mean in seconds (NaN when nothing
        succeeded)."""
        histogram = self.histogram if corrected else self.histogram_uncorrected
        count = histogram.get_total_count()
        out = {"min": histogram.get_min_value() / 1e6 if count else math.nan}
        out |= {percentile_label(q): percentile_seconds(histogram, q) for q in LATENCY_QUANTILES}
        out["mean"] = histogram.get_mean_value() / 1e6 if count else math.nan
        return out

    def check(self, *thresholds: str | Threshold) -> ThresholdReport:
        """Judge this run against k6-style thresholds (``"p99<200ms"``, ``"errors<1%"``;
        see :mod:`vgkit.loadtest.thresholds`)."""
        from vgkit.loadtest.thresholds import check_thresholds

        return check_thresholds(self, thresholds)

    def count(self, outcome: Outcome) -> int:
        return int((self.records["outcome"] == outcome).sum())

    @property
    def ok(self) -> int:
        return self.count("ok")

    @property
    def errors(self) -> int:
        return self.count("error")

    @property
    def throughput(self) -> float:
        """Successful requests per second, between the first and the last answer.

        n answers span n - 1 gaps; measuring from the first answer rather than the
        start keeps the latency of a short test from reading as idle time.
        """
        ends = self.records.loc[self.records["outcome"] == "ok", "end"]
        span = float(ends.max() - ends.min()) if len(ends) >= 2 else 0.0
        return (len(ends) - 1) / span if span > 0 else 0.0

    @property
    def offered_rate(self) -> float:
        """Requests scheduled per second, over the span in which they were scheduled."""
        intended = self.records["intended"]
        if len(intended) < 2 or intended.max() <= 0:
            return math.nan
        # n arrivals span n - 1 gaps; scale to n so a steady rate reads back exactly.
        return float((len(intended) - 1) / intended.max())

    def summary(self) -> dict[str, Any]:
        """The headline figures as plain values (latency in milliseconds)."""
        records = self.records
        error_kinds = records.loc[records["outcome"] == "error", "error"].value_counts()

        def ms(figures: dict[str, float]) -> dict[str, float | None]:
            return {k: None if math.isnan(v) else round(v * 1e3, 3) for k, v in figures.items()}

        config = self.config
        return {
            "target": self.target,
            "mode": config.mode,
            "arrivals": config.arrivals if config.mode == "open" else None,
            "rate": config.rate_profile.describe() if config.mode == "open" else None,
            "users": config.users_profile.describe() if config.mode == "closed" else None,
            "started_at": self.started_at,
            "elapsed_s": round(self.elapsed, 4),
            "scheduled": len(records),
            "sent": int(records["sent"].notna().sum()),
            "ok": self.ok,
            "errors": self.errors,
            "error_kinds": {str(k): int(v) for k, v in error_kinds.items()},
            "dropped": self.count("dropped"),
            "abandoned": self.count("abandoned"),
            "late": int(records["late"].sum()),
            "max_in_flight": self.max_in_flight,
            "offered_rps": None if math.isnan(self.offered_rate) else round(self.offered_rate, 3),
            "throughput_rps": round(self.throughput, 3),
            "latency_ms": ms(self.latency()),
            "latency_uncorrected_ms": ms(self.latency(corrected=False)),
            "coordinated_omission_corrected": config.mode == "open",
            "seed": config.seed,
            "workload": self.workload,
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per request: schedule, timings, outcome, topic and platform."""
        return self.records.copy()

    def timeseries(self, interval: float = 1.0) -> pd.DataFrame:
        """Figures per ``interval`` seconds (default: per second).

        ``t`` is the start of each bin in seconds since the start. Counts
        (``offered``, ``sent``, ``ok``, ``errors``, ``dropped``, ``late``) are per
        bin, ``offered_rps`` and ``throughput_rps`` per second. Arrivals count in
        the bin of their intended start; answers and their latency percentiles
        (corrected, and ``_uncorrected``) in the bin they came back in.
        """
        if not (interval > 0 and math.isfinite(interval)):
            raise ValueError(f"interval must be > 0 seconds, not {interval}")
        records = self.records
        last = np.nanmax([records["intended"].max(), records["end"].max(), 0.0])
        bins = np.arange(math.floor(last / interval) + 1)
        out = pd.DataFrame({"t": bins * interval})

        def bin_of(column: str) -> pd.Series:
            bins: pd.Series = np.floor(records[column] / interval).astype("Int64")
            return bins

        arrival, answer = bin_of("intended"), bin_of("end")

        def count(mask: pd.Series, when: pd.Series) -> np.ndarray:
            counts = when[mask].value_counts()
            return np.asarray([int(counts.get(b, 0)) for b in bins])

        out["offered"] = count(pd.Series(True, index=records.index), arrival)
        out["sent"] = count(records["sent"].notna(), bin_of("sent"))
        out["ok"] = count(records["outcome"] == "ok", answer)
        out["errors"] = count(records["outcome"] == "error", answer)
        out["dropped"] = count(records["outcome"] == "dropped", arrival)
        out["late"] = count(records["late"], arrival)
        out["offered_rps"] = out["offered"] / interval
        out["throughput_rps"] = out["ok"] / interval
        ok = records[records["outcome"] == "ok"].assign(bin=answer)
        for column, suffix in (("latency", ""), ("service_time", "_uncorrected")):
            grouped = ok.groupby("bin")[column]
            for q in (50.0, 90.0, 99.0, 100.0):
                values = grouped.max() if q >= 100 else grouped.quantile(q / 100)
                out[f"{percentile_label(q)}{suffix}"] = pd.Series(bins).map(values).astype(float)
        middle = out["t"] + interval / 2
        if self.config.mode == "open":
            out["target_rate"] = [self.config.rate_profile.at(t) for t in middle]
        else:
            out["users"] = [int(self.config.users_profile.at(t)) for t in middle]
        return out

    def percentiles(self, points: int = 60) -> pd.DataFrame:
        """The latency distribution: corrected and uncorrected seconds at percentiles
        from 0 to 99.999 (evenly spread on a log scale of 1 / (1 - p))."""
        nines = np.linspace(0, 5, points)
        qs = 100 * (1 - 10.0**-nines)
        return pd.DataFrame(
            {
                "percentile": qs,
                "latency": [percentile_seconds(self.histogram, q) for q in qs],
                "uncorrected": [percentile_seconds(self.histogram_uncorrected, q) for q in qs],
            }
        )

    # -- plots -------------------------------------------------------------------

    def plot_latency(self, ax: Axes | None = None, *, interval: float = 1.0) -> Figure:
        """Latency percentiles per second, corrected (solid) and uncorrected (dashed)."""
        from vgkit.loadtest.plots import plot_latency

        return plot_latency(self, ax, interval=interval)

    def plot_throughput(self, ax: Axes | None = None, *, interval: float = 1.0) -> Figure:
        """Offered against achieved requests per second, with errors."""
        from vgkit.loadtest.plots import plot_throughput

        return plot_throughput(self, ax, interval=interval)

    def plot_distribution(self, ax: Axes | None = None) -> Figure:
        """The HDR percentile distribution, corrected against uncorrected."""
        from vgkit.loadtest.plots import plot_distribution

        return plot_distribution(self, ax)

    # -- export ------------------------------------------------------------------

    def as_dict(self, *, requests: bool = False) -> dict[str, Any]:
        """Summary, settings and time series (and every request, if asked) as JSON-able values."""
        series = self.timeseries().astype(object)
        out: dict[str, Any] = {
            "summary": self.summary(),
            "config": self.config.describe(),
            "timeseries": series.where(series.notna(), None).to_dict(orient="records"),
        }
        if requests:
            frame = self.records.astype(object)
            out["requests"] = frame.where(frame.notna(), None).to_dict(orient="records")
        return out

    def to_json(self, path: str | Path | None = None, *, requests: bool = False) -> str:
        """The result as JSON text; also written to ``path`` when given."""
        text = orjson.dumps(
            self.as_dict(requests=requests),
            option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY,
            default=str,
        ).decode()
        if path is not None:
            Path(path).write_text(text + "\n", encoding="utf-8")
        return text

    def to_csv(self, path: str | Path) -> None:
        """Every request as one CSV row."""
        self.records.to_csv(path, index=False)


def compare_results(results: Mapping[str, LoadTestResult]) -> pd.DataFrame:
    """One row per labelled result: load, throughput, outcomes and latency in ms."""
    rows = []
    for label, result in results.items():
        s = result.summary()
        rows.append(
            {
                "run": label,
                "target": s["target"],
                "mode": s["mode"],
                "load": s["rate"] if s["mode"] == "open" else f"{s['users']} users",
                "ok": s["ok"],
                "errors": s["errors"],
                "dropped": s["dropped"] + s["abandoned"],
                "late": s["late"],
                "throughput_rps": s["throughput_rps"],
                **{f"{k}_ms": v for k, v in s["latency_ms"].items()},
                "p99_uncorrected_ms": s["latency_uncorrected_ms"]["p99"],
            }
        )
    return pd.DataFrame(rows).set_index("run")
