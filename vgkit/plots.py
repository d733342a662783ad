"""Figures of plans and experiment grids (pyplot-free, imported lazily).

:func:`storyboard_timeline` draws one plan on its own clock: script segments,
scenes and shots as lanes of bars, transitions and calls to action as markers,
captions as a thin strip, so pacing and structure read at a glance.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib

from vgkit._drawing import axes_and_figure
from vgkit.documents import format_timestamp

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from vgkit.models import VideoPlan

__all__ = ["plot_grid", "storyboard_timeline"]

SEGMENT_COLOURS = {
    "hook": "#d62728", "intro": "#9467bd", "chapter": "#1f77b4", "point": "#1f77b4",
    "value": "#2ca02c", "cta": "#ff7f0e", "outro": "#8c564b", "loop": "#e377c2",
}  # fmt: skip
LANES = ("script", "scenes", "shots", "captions")
MAX_BAR_LABELS = 40
"""Above this many bars in a lane their labels would overlap, so none are drawn."""


def _label_fits(text: str, width: float, total: float) -> str:
    """Shorten ``text`` to roughly what fits a bar of ``width`` out of ``total`` seconds."""
    chars = max(int(110 * width / total), 0)
    if chars < 4:
        return ""
    return text if len(text) <= chars else text[: chars - 1] + "…"


def storyboard_timeline(
    plan: VideoPlan, ax: Axes | None = None, title: str | None = None
) -> Figure:
    """The plan's segments, scenes, shots and captions over its duration."""
    ax, fig = axes_and_figure(ax, width=12, height=4)
    total = plan.duration
    lane = {name: len(LANES) - 1 - k for k, name in enumerate(LANES)}
    for seg in plan.script.segments:
        colour = SEGMENT_COLOURS.get(seg.kind, "0.5")
        ax.barh(lane["script"], seg.duration, left=seg.start, height=0.8, color=colour,
                edgecolor="white")  # fmt: skip
        ax.text(seg.start + seg.duration / 2, lane["script"], _label_fits(seg.title, seg.duration,
                total), ha="center", va="center", fontsize=7, color="white")  # fmt: skip
    palette = matplotlib.colormaps["tab20"]
    for scene in plan.storyboard.scenes:
        ax.barh(lane["scenes"], scene.duration, left=scene.start, height=0.8,
                color=palette(scene.index % 20), edgecolor="white")  # fmt: skip
        ax.text(scene.start + scene.duration / 2, lane["scenes"],
                _label_fits(scene.title, scene.duration, total), ha="center", va="center",
                fontsize=7)  # fmt: skip
    shots = plan.storyboard.shots
    for shot in shots:
        ax.barh(lane["shots"], shot.duration, left=shot.start, height=0.8,
                color=palette(shot.scene_index % 20), edgecolor="white", alpha=0.75)  # fmt: skip
        if len(shots) <= MAX_BAR_LABELS:
            ax.text(shot.start + shot.duration / 2, lane["shots"],
                    _label_fits(shot.shot_type, shot.duration, total), ha="center", va="center",
                    fontsize=6)  # fmt: skip
    for cue in plan.captions:
        ax.barh(lane["captions"], cue.end - cue.start, left=cue.start, height=0.35, color="0.55",
                edgecolor="white")  # fmt: skip
    top = len(LANES) - 0.4
    for t in plan.transitions.transitions:
        ax.axvline(t.at, color="0.3", lw=0.8, linestyle=":")
        ax.text(t.at, top, t.kind, rotation=30, fontsize=6, ha="left", va="bottom")
    for action in (plan.cta.primary, *plan.cta.secondary):
        ax.plot([action.at], [lane["script"] + 0.5], marker="v", color="#ff7f0e", markersize=8)
    ax.set_yticks([lane[name] for name in LANES], list(LANES))
    ax.set_xlim(0, total)
    ax.set_ylim(-0.6, top + 0.9)
    ticks = ax.get_xticks()
    ax.set_xticks(ticks, [format_timestamp(x) for x in ticks], fontsize=8)
    ax.set_xlim(0, total)
    ax.set_xlabel("time in the video (mm:ss.s); ▼ call to action, dotted lines transitions")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_title(
        title
        or f"{plan.title} · {plan.platform.value} · {total:g} s · "
        f"{len(plan.script.segments)} segments, {len(plan.storyboard.scenes)} scenes, "
        f"{len(shots)} shots",
        fontsize=10,
    )
    return fig


def plot_grid(
    frame: pd.DataFrame,
    *,
    x: str,
    y: str,
    hue: str | None = None,
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """Mean (and min-max range) of column ``y`` per value of ``x``, one bar group per ``hue``."""
    ax, fig = axes_and_figure(ax, width=9, height=4)
    groups = [None] if hue is None else sorted(frame[hue].astype(str).unique())
    xs = sorted(frame[x].astype(str).unique())
    width = 0.8 / len(groups)
    for k, group in enumerate(groups):
        part = frame if group is None or hue is None else frame[frame[hue].astype(str) == group]
        stats = part.groupby(part[x].astype(str))[y].agg(["mean", "min", "max"]).reindex(xs)
        positions = [i + (k - (len(groups) - 1) / 2) * width for i in range(len(xs))]
        ax.bar(positions, stats["mean"], width=width * 0.95, label=group,
               yerr=[stats["mean"] - stats["min"], stats["max"] - stats["mean"]],
               capsize=2)  # fmt: skip
    ax.set_xticks(range(len(xs)), xs, fontsize=8)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    if hue is not None:
        ax.legend(title=hue, fontsize=8, frameon=False)
    ax.set_title(title or f"{y} by {x}" + (f" and {hue}" if hue else ""))
    return fig
