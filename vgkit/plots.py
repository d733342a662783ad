"""Figures of plans and experiment grids (pyplot-free, imported lazily).

:func:`storyboard_timeline` draws one plan on its own clock: script segments,
scenes and shots as lanes of bars, transitions and calls to action as markers,
captions as a thin strip, so pacing and structure read at a glance.
:func:`waterfall` draws a trace (``result.trace_frame()``): one bar per span,
nested under its parent, coloured by the host and process that recorded it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib
import matplotlib.patches

from vgkit._drawing import axes_and_figure
from vgkit.documents import format_timestamp

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from vgkit.models import VideoPlan

__all__ = ["plot_grid", "storyboard_timeline", "waterfall"]

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


MAX_WATERFALL_ROWS = 150
"""Spans drawn at most (the earliest; a longer trace is cut, and the title says so)."""


def _tree_order(frame: pd.DataFrame) -> list[tuple[int, int]]:
    """(row index, depth) for every span, each parent followed by its children by start."""
    ids = set(frame["span_id"])
    children: dict[str | None, list[int]] = {}
    for i, (span_id, parent) in enumerate(zip(frame["span_id"], frame["parent_id"], strict=True)):
        key = parent if parent in ids and parent != span_id else None
        children.setdefault(key, []).append(i)
    order: list[tuple[int, int]] = []
    stack = [(i, 0) for i in reversed(children.get(None, []))]
    while stack:
        i, depth = stack.pop()
        order.append((i, depth))
        kids = children.get(str(frame["span_id"].iat[i]), [])
        stack.extend((k, depth + 1) for k in reversed(kids))
    return order


def waterfall(frame: pd.DataFrame, ax: Axes | None = None, title: str | None = None) -> Figure:
    """A trace as a waterfall: a bar per span on the trace's clock (ms since its first
    span began), each span under its parent and indented by depth, coloured by
    ``host · pid``; cache hits hatched, failed spans edged in red.

    ``frame``: ``GenerationResult.trace_frame()``, ``JobResult.trace_frame()`` or
    ``vgkit.tracing.spans_frame(...)`` (one trace).
    """
    frame = frame.sort_values("start", kind="stable").reset_index(drop=True)
    order = _tree_order(frame)
    cut = len(order) - MAX_WATERFALL_ROWS
    order = order[:MAX_WATERFALL_ROWS]
    ax, fig = axes_and_figure(ax, width=11, height=min(18.0, max(2.5, 0.2 * len(order) + 1.2)))
    if not order:
        ax.set_title(title or "an empty trace", fontsize=10)
        return fig
    t0 = float(frame["start"].min())
    least = 0.004 * (float(frame["end"].max()) - t0) * 1000  # thinner bars would not show
    places = list(dict.fromkeys(f"{h} · pid {p}" for h, p in zip(frame["host"], frame["pid"],
                                                              strict=True)))  # fmt: skip
    palette = matplotlib.colormaps["tab10"]
    colour = {place: palette(k % 10) for k, place in enumerate(places)}
    labels = []
    for row, (i, depth) in enumerate(order):
        span = frame.iloc[i]
        start = (float(span["start"]) - t0) * 1000
        end = span["end"]
        width = max(((float(end) if end == end and end is not None else float(span["start"]))
                     - float(span["start"])) * 1000, 0.0)  # fmt: skip
        place = f"{span['host']} · pid {span['pid']}"
        failed = span["status"] not in ("ok", "incomplete")
        ax.barh(row, max(width, least), left=start, height=0.7, color=colour[place],
                edgecolor="#d62728" if failed else "none", linewidth=1.2 if failed else 0,
                hatch="///" if span["cache"] == "hit" else None)  # fmt: skip
        ax.text(start + width, row, f" {width:.2f} ms", va="center", fontsize=6, color="0.3")
        labels.append(f"{'  ' * depth}{span['kind']}: {span['name']}")
    ax.set_yticks(range(len(order)), labels, fontsize=7, family="monospace")
    # Left-aligned labels, so the indentation shows the nesting.
    ax.tick_params(axis="y", length=0, pad=4.3 * max(len(label) for label in labels) + 4)
    for label in ax.get_yticklabels():
        label.set_horizontalalignment("left")
    ax.set_ylim(len(order) - 0.4, -0.6)
    ax.set_xlabel("ms since the trace began (wall clock of each host)")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    handles = [matplotlib.patches.Patch(color=colour[p], label=p) for p in places]
    if (frame["cache"] == "hit").any():
        handles.append(matplotlib.patches.Patch(facecolor="white", edgecolor="0.3", hatch="///",
                                                label="cache hit"))  # fmt: skip
    ax.legend(handles=handles, fontsize=7, frameon=False, loc="upper left",
              bbox_to_anchor=(1.0, 1.0))  # fmt: skip
    trace = str(frame["trace_id"].iat[0])
    hosts = frame["host"].nunique()
    more = f" ({cut} more spans not drawn)" if cut > 0 else ""
    ax.set_title(
        title
        or f"trace {trace[:8]}… · {len(frame)} spans · {hosts} host{'s' if hosts != 1 else ''}, "
        f"{len(places)} process{'es' if len(places) != 1 else ''}{more}",
        fontsize=10,
    )
    return fig
