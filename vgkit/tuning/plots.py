"""Figures for cache tuning: hit ratio against L1 size, seconds saved against TTL, the gain.

Each function takes the frame the tuning functions return and an optional
matplotlib axes; it returns the figure (pyplot-free, see :mod:`vgkit._drawing`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vgkit._drawing import axes_and_figure

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from vgkit.tuning.candidate import Candidate
    from vgkit.tuning.evaluation import SimulationResult

__all__ = ["plot_front", "plot_gain", "plot_size_curve", "plot_ttl_curve"]

_MIB = 2**20


def plot_size_curve(
    frame: pd.DataFrame, ax: Axes | None = None, *, chosen: Candidate | None = None
) -> Figure:
    """Hit ratio (solid) and seconds saved (dashed, right axis) against L1 size, one
    colour per eviction policy; ``chosen`` marks a configuration."""
    ax, fig = axes_and_figure(ax, width=8, height=4.5)
    right = ax.twinx()
    for k, (policy, rows) in enumerate(frame.groupby("eviction", sort=True)):
        rows = rows.sort_values("l1_size")
        colour = f"C{k}"
        mib = rows["l1_size"] / _MIB
        ax.plot(mib, rows["hit_ratio"], marker="o", color=colour, label=str(policy))
        right.plot(mib, rows["seconds_saved"] / 3600, ls="--", color=colour, alpha=0.6)
    if chosen is not None and chosen.l1_size is not None:
        ax.axvline(chosen.l1_size / _MIB, color="grey", ls=":", label="recommended size")
    ax.set_xlabel("L1 size (MiB)")
    ax.set_ylabel("hit ratio (solid)")
    right.set_ylabel("hours saved (dashed)")
    ax.set_title("Hit ratio and compute saved against L1 size")
    ax.legend(loc="lower right", fontsize="small")
    ax.grid(alpha=0.3)
    return fig


def plot_ttl_curve(frame: pd.DataFrame, ax: Axes | None = None) -> Figure:
    """Seconds saved against one kind's TTL (log scale), one line per kind."""
    ax, fig = axes_and_figure(ax, width=8, height=4.5)
    for kind, rows in frame.groupby("kind", sort=False):
        rows = rows.sort_values("ttl")
        ax.plot(rows["ttl"] / 3600, rows["seconds_saved"] / 3600, marker="o", label=str(kind))
    ax.set_xscale("log")
    ax.set_xlabel("TTL of the kind, every platform (hours, log scale)")
    ax.set_ylabel("hours of compute saved")
    ax.set_title("Seconds saved against TTL (the rest of the configuration fixed)")
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3, which="both")
    return fig


def plot_gain(frame: pd.DataFrame, ax: Axes | None = None) -> Figure:
    """Hours saved per configuration, fit and held-out parts side by side."""
    ax, fig = axes_and_figure(ax, width=7, height=4)
    parts = list(dict.fromkeys(frame["part"]))
    configs = list(dict.fromkeys(frame["config"]))
    width = 0.8 / max(1, len(parts))
    for k, part in enumerate(parts):
        rows = frame[frame["part"] == part].set_index("config")
        xs = [i + k * width for i in range(len(configs))]
        hours = [rows.loc[c, "seconds_saved"] / 3600 for c in configs]
        bars = ax.bar(xs, hours, width=width, label=part, color=f"C{k}")
        ax.bar_label(bars, fmt="%.0f", fontsize="small")
    ax.set_xticks([i + width * (len(parts) - 1) / 2 for i in range(len(configs))], configs)
    ax.set_ylabel("hours of compute saved")
    ax.set_title("Original, vgkit default and recommended configuration")
    ax.legend(fontsize="small")
    return fig


def plot_front(
    frame: pd.DataFrame,
    ax: Axes | None = None,
    *,
    original: SimulationResult | None = None,
    stale_budget: float | None = None,
    weight: float = 1.0,
    tried: pd.DataFrame | None = None,
    pareto: pd.DataFrame | None = None,
) -> Figure:
    """Hours saved net of staleness against the share of stale requests (fit part):
    every configuration tried (grey), their Pareto front, the staleness path the
    recommendation walks, the original TTL matrix and the stale budget."""
    ax, fig = axes_and_figure(ax, width=9, height=5)
    if tried is not None and not tried.empty:
        ax.scatter(
            tried["stale_fraction"] * 100,
            tried["net_seconds"] / 3600,
            s=8,
            color="lightgrey",
            label="configurations tried",
        )
    if pareto is not None and not pareto.empty:
        ax.step(
            pareto["stale_fraction"] * 100,
            pareto["net_seconds"] / 3600,
            where="post",
            color="black",
            lw=1,
            label="Pareto front",
        )
    ax.plot(
        frame["stale_fraction"] * 100,
        frame["net_seconds"] / 3600,
        marker="o",
        color="C0",
        label="staleness path (shorter TTLs)",
    )
    if original is not None:
        ax.scatter(
            [original.stale_fraction * 100],
            [original.net_seconds(weight) / 3600],
            marker="*",
            s=180,
            color="C3",
            zorder=3,
            label="original TTL matrix",
        )
    if stale_budget is not None:
        ax.axvline(stale_budget * 100, color="C2", ls=":", label=f"stale budget {stale_budget:.1%}")
    ax.set_xlabel("requests served something stale (%)")
    ax.set_ylabel(f"hours saved net of staleness (weight {weight:g})")
    ax.set_title("Compute saved against stale serves (fit part)")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(alpha=0.3)
    return fig
