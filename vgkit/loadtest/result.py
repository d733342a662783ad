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
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import orjson
import pandas as pd
from hdrh.histogram import HdrHistogram

from vgkit.loadtest.stats import (
    LATENCY_QUANTILES,
    new_histogram,
    percentile_seconds,
    record_seconds,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from vgkit.loadtest.runner import LoadTest
    from vgkit.loadtest.workload import WorkItem

__all__ = ["LoadTestResult", "Outcome", "Records", "percentile_label"]

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
        """p50, p90, p99, p99.9, max and mean in seconds (NaN when nothing succeeded)."""
        histogram = self.histogram if corrected else self.histogram_uncorrected
        out = {percentile_label(q): percentile_seconds(histogram, q) for q in LATENCY_QUANTILES}
        count = histogram.get_total_count()
        out["mean"] = histogram.get_mean_value() / 1e6 if count else math.nan
        return out

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
        """Successful requests per second, over the span from the start to the last answer."""
        ends = self.records.loc[self.records["outcome"] == "ok", "end"]
        return float(len(ends) / ends.max()) if len(ends) and ends.max() > 0 else 0.0

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

    def timeseries(self) -> pd.DataFrame:
        """Per-second figures: offered and achieved rate, outcomes, latency percentiles.

        Rows are whole seconds since the start (``second``). Arrivals count in
        the second of their intended start; answers and their latency in the
        second they came back.
        """
        records = self.records
        last = np.nanmax([records["intended"].max(), records["end"].max(), 0.0])
        seconds = np.arange(math.floor(last) + 1)
        out = pd.DataFrame({"second": seconds})
        arrival = np.floor(records["intended"]).astype("Int64")
        answer = np.floor(records["end"]).astype("Int64")

        def per_second(mask: pd.Series, when: pd.Series) -> np.ndarray:
            counts = when[mask].value_counts()
            return np.asarray([int(counts.get(s, 0)) for s in seconds])

        everything = pd.Series(True, index=records.index)
        out["offered"] = per_second(everything, arrival)
        out["sent"] = per_second(records["sent"].notna(), np.floor(records["sent"]).astype("Int64"))
        out["ok"] = per_second(records["outcome"] == "ok", answer)
        out["errors"] = per_second(records["outcome"] == "error", answer)
        out["dropped"] = per_second(records["outcome"] == "dropped", arrival)
        out["late"] = per_second(records["late"], arrival)
        ok = records[records["outcome"] == "ok"].assign(second=answer)
        for column, suffix in (("latency", ""), ("service_time", "_uncorrected")):
            grouped = ok.groupby("second")[column]
            for q in (50.0, 90.0, 99.0, 100.0):
                values = grouped.max() if q >= 100 else grouped.quantile(q / 100)
                out[f"{percentile_label(q)}{suffix}"] = out["second"].map(values).astype(float)
        profile = self.config.rate_profile if self.config.mode == "open" else None
        if profile is not None:
            out["target_rate"] = [profile.at(s + 0.5) for s in seconds]
        else:
            out["users"] = [int(self.config.users_profile.at(s + 0.5)) for s in seconds]
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

    def plot_latency(self, ax: Axes | None = None) -> Figure:
        """Latency percentiles per second, corrected (solid) and uncorrected (dashed)."""
        from vgkit.loadtest.plots import plot_latency

        return plot_latency(self, ax)

    def plot_throughput(self, ax: Axes | None = None) -> Figure:
        """Offered against achieved requests per second, with errors."""
        from vgkit.loadtest.plots import plot_throughput

        return plot_throughput(self, ax)

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
