"""Rate sweeps: latency against offered load, and where the target saturates.

:func:`sweep_rates` runs one open-loop test per rate and returns a row per
rate; a rate is *sustained* when the target answered (almost) everything it
was offered, at (almost) the pace it was offered (the arrivals actually
scheduled, which for Poisson arrivals differ from the nominal rate), without
its p99 running away from the p99 at the lowest rate. :func:`saturation_point`
is the highest rate of the leading run of sustained rates: beyond it, queues
grow and latency climbs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from vgkit.errors import LoadTestError
from vgkit.loadtest.live import LoadProgress
from vgkit.loadtest.runner import LoadTest
from vgkit.loadtest.targets import Target
from vgkit.loadtest.workload import WorkItem, Workload

__all__ = [
    "DEFAULT_EFFICIENCY",
    "DEFAULT_LATENCY_FACTOR",
    "saturation_point",
    "sustained",
    "sweep_rates",
]

DEFAULT_EFFICIENCY = 0.9
"""A sustained rate answers at least this share of what it was offered, per second."""
DEFAULT_LATENCY_FACTOR = 10.0
"""A sustained rate keeps its p99 within this factor of the p99 at the lowest rate."""


async def sweep_rates(
    target: Target,
    rates: Sequence[float],
    workload: Workload | Sequence[WorkItem] | None = None,
    *,
    duration: float = 2.0,
    efficiency: float = DEFAULT_EFFICIENCY,
    latency_factor: float = DEFAULT_LATENCY_FACTOR,
    on_progress: Callable[[LoadProgress], None] | None = None,
    **settings: Any,
) -> pd.DataFrame:
    """One open-loop test of ``duration`` seconds per rate (ascending); a row per rate.

    Each test is bounded by ``rate * duration`` requests (plus headroom for
    Poisson bursts); ``settings`` go to :class:`LoadTest` (``arrivals``,
    ``max_in_flight``, ``timeout``, ``drain_timeout``, ``seed``...).
    """
    if not rates or any(not (r > 0 and math.isfinite(r)) for r in rates):
        raise LoadTestError(f"rates must be a non-empty list of numbers > 0, not {list(rates)}")
    if workload is None:
        workload = Workload.from_csv(seed=int(settings.get("seed", 0)))
    rows = []
    for rate in sorted(rates):
        bound = math.ceil(rate * duration * 1.5) + 10
        if not isinstance(workload, Workload):
            bound = min(bound, len(workload))
        test = LoadTest(mode="open", rate=rate, duration=duration, max_requests=bound, **settings)
        result = await test.run(target, workload, on_progress=on_progress)
        summary = result.summary()
        latency, raw = summary["latency_ms"], summary["latency_uncorrected_ms"]
        rows.append(
            {
                "offered_rps": float(rate),
                "scheduled_rps": summary["scheduled"] / duration,
                "throughput_rps": summary["throughput_rps"],
                "scheduled": summary["scheduled"],
                "ok": summary["ok"],
                "errors": summary["errors"],
                "dropped": summary["dropped"] + summary["abandoned"],
                "late_fraction": summary["late"] / max(summary["scheduled"], 1),
                **{f"{k}_ms": v for k, v in latency.items() if k != "mean"},
                "p99_uncorrected_ms": raw["p99"],
            }
        )
    frame = pd.DataFrame(rows).astype({"p50_ms": float, "p99_ms": float, "p99.9_ms": float})
    frame["sustained"] = sustained(frame, efficiency=efficiency, latency_factor=latency_factor)
    return frame


def sustained(
    frame: pd.DataFrame,
    *,
    efficiency: float = DEFAULT_EFFICIENCY,
    latency_factor: float = DEFAULT_LATENCY_FACTOR,
) -> pd.Series:
    """Per row of a sweep: did the target keep up with the offered rate?"""
    base = frame["p99_ms"].iloc[0] if len(frame) else math.nan
    kept_pace = frame["throughput_rps"] >= efficiency * frame["scheduled_rps"]
    answered = frame["ok"] >= efficiency * frame["scheduled"]
    calm = frame["p99_ms"] <= latency_factor * base if math.isfinite(base) else False
    return (kept_pace & answered & calm).astype(bool)


def saturation_point(frame: pd.DataFrame) -> float | None:
    """The highest offered rate of the leading run of sustained rates (None: none was)."""
    best = None
    for rate, ok in zip(frame["offered_rps"], frame["sustained"], strict=True):
        if not ok:
            break
        best = float(rate)
    return best
