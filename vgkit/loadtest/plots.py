"""Matplotlib figures of load-test results (pyplot-free, like vgkit._drawing)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from vgkit._drawing import axes_and_figure

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from vgkit.loadtest.measurement import LoadTestResult

__all__ = ["plot_distribution", "plot_latency", "plot_sweep", "plot_throughput"]

PERCENTILE_COLOURS = {"p50": "#1f77b4", "p90": "#2ca02c", "p99": "#ff7f0e", "max": "#d62728"}
NINES_TICKS = (0, 1, 2, 3, 4, 5)


def _title(result: LoadTestResult, what: str) -> str:
    c = result.config
    load = (
        f"rate {c.rate_profile.describe()}/s"
        if c.mode == "open"
        else (f"{c.users_profile.describe()} users")
    )
    return f"{what}: {result.target}, {c.mode} loop, {load}"


def _latency_axis(ax: Axes, title: str) -> None:
    """Log-scale milliseconds, a light grid, the legend and the title."""
    ax.set_ylabel("latency (ms)")
    ax.set_yscale("log")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, frameon=False)
    ax.set_title(title)


def plot_latency(
    result: LoadTestResult, ax: Axes | None = None, *, interval: float = 1.0
) -> Figure:
    ax, fig = axes_and_figure(ax, width=9, height=4)
    series = result.timeseries(interval)
    x = series["t"] + interval / 2
    for label, colour in PERCENTILE_COLOURS.items():
        ax.plot(x, series[label] * 1e3, marker=".", color=colour, label=label)
    if result.config.mode == "open":
        ax.plot(
            x,
            series["p99_uncorrected"] * 1e3,
            linestyle="--",
            color=PERCENTILE_COLOURS["p99"],
            label="p99 uncorrected",
        )
    ax.set_xlabel(f"seconds since the start (answers, per {interval:g} s)")
    _latency_axis(ax, _title(result, "Latency percentiles over time"))
    return fig


def plot_throughput(
    result: LoadTestResult, ax: Axes | None = None, *, interval: float = 1.0
) -> Figure:
    ax, fig = axes_and_figure(ax, width=9, height=4)
    series = result.timeseries(interval)
    x = (series["t"] + interval / 2).to_numpy()
    w = interval * 0.4
    ax.bar(x - w / 2, series["offered_rps"], width=w, color="0.7", label="offered (scheduled)")
    ax.bar(x + w / 2, series["throughput_rps"], width=w, color="#2ca02c", label="answered ok")
    if series["errors"].any():
        ax.bar(x + w / 2, series["errors"] / interval, width=w, bottom=series["throughput_rps"],
               color="#d62728", label="errors")  # fmt: skip
    if "target_rate" in series:
        ax.step(x, series["target_rate"], where="mid", color="k", lw=1, label="target rate")
    ax.set_xlabel(f"seconds since the start (per {interval:g} s)")
    ax.set_ylabel("requests per second")
    ax.legend(fontsize=8, frameon=False)
    ax.set_title(_title(result, "Throughput"))
    return fig


def plot_distribution(result: LoadTestResult, ax: Axes | None = None) -> Figure:
    ax, fig = axes_and_figure(ax, width=8, height=4)
    dist = result.percentiles()
    nines = -np.log10(1 - dist["percentile"].to_numpy() / 100)
    ax.plot(nines, dist["latency"] * 1e3, color="#d62728", label="corrected (from intended start)")
    if result.config.mode == "open":
        ax.plot(nines, dist["uncorrected"] * 1e3, color="#1f77b4", linestyle="--",
                label="uncorrected (from actual send)")  # fmt: skip
    ax.set_xticks(NINES_TICKS, ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%"])
    ax.set_xlabel("percentile")
    _latency_axis(ax, _title(result, "Latency distribution (HDR)"))
    return fig


def plot_sweep(frame: pd.DataFrame, ax: Axes | None = None, title: str | None = None) -> Figure:
    """Latency percentiles and achieved throughput against offered rate (a rate sweep)."""
    ax, fig = axes_and_figure(ax, width=9, height=4.5)
    for label in ("p50", "p99", "p99.9"):
        ax.plot(frame["offered_rps"], frame[f"{label}_ms"], marker="o", label=f"{label} latency")
    ax.set_xlabel("offered rate (requests per second)")
    ax.set_ylabel("corrected latency (ms)")
    ax.set_yscale("log")
    ax.grid(alpha=0.3, which="both")
    other = ax.twinx()
    other.plot(frame["offered_rps"], frame["throughput_rps"], color="k", marker="s", lw=1,
               label="achieved throughput")  # fmt: skip
    other.plot(frame["offered_rps"], frame["offered_rps"], color="0.6", lw=1, linestyle=":")
    other.set_ylabel("achieved requests per second")
    sustained = frame[frame["sustained"]]
    if len(sustained) and len(sustained) < len(frame):
        ax.axvline(sustained["offered_rps"].max(), color="#d62728", linestyle="--", lw=1,
                   label="saturation point")  # fmt: skip
    lines = ax.get_legend_handles_labels()
    more = other.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], fontsize=8, frameon=False, loc="upper left")
    ax.set_title(title or "Latency against offered rate")
    return fig
