"""Matplotlib drawing for graphs and schedules; imported lazily, never at package import.

Figures are built with :class:`matplotlib.figure.Figure` directly rather than
pyplot, so drawing neither needs a GUI backend nor leaks figures into pyplot's
global registry.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import TYPE_CHECKING

import matplotlib
from matplotlib.artist import Artist
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from vgkit.dag import IndexedDAG, Node

CRITICAL = "#d62728"
#: Group (platform) colours: tab10 without its red (the critical path's) and its grey
#: (the edges').
GROUP_COLOURS = tuple(matplotlib.colormaps["tab10"](i) for i in (0, 1, 2, 4, 5, 6, 8, 9))
STATUS_COLOURS = {"ok": "#2ca02c", "failed": "#d62728", "cancelled": "#ff7f0e"}
MAX_LABELS = 120
"""Above this many nodes labels would overlap into a smear, so none are drawn."""
MAX_ARROWS = 2000
"""Above this many edges, plain lines in one collection: arrows cost one artist each."""


def axes_and_figure(ax: Axes | None, *, width: float, height: float) -> tuple[Axes, Figure]:
    """``ax`` and its figure, or a new pyplot-free figure with one axes."""
    if ax is None:
        fig = Figure(figsize=(width, height), layout="constrained")
        return fig.add_subplot(), fig
    root = ax.get_figure(root=True)
    if root is None:
        raise ValueError("the axes given to draw into belong to no figure")
    return ax, root


def draw_dag(
    ax: Axes,
    g: IndexedDAG,
    nodes: Sequence[Node],
    path: Sequence[str],
    length: float,
    title: str | None,
) -> None:
    """Layered drawing: x = level, nodes of one group next to each other within a level."""
    groups = list(dict.fromkeys(node.group for node in nodes))
    rank = {group: k for k, group in enumerate(groups)}
    by_level: list[list[int]] = [[] for _ in range(max(g.level, default=-1) + 1)]
    for i in g.order:
        by_level[g.level[i]].append(i)
    xy: list[tuple[float, float]] = [(0.0, 0.0)] * len(nodes)
    for depth, members in enumerate(by_level):
        members.sort(key=lambda i: rank[nodes[i].group])  # stable: insertion order within
        middle = (len(members) - 1) / 2
        for pos, i in enumerate(members):
            xy[i] = (float(depth), middle - pos)

    index = {node_id: i for i, node_id in enumerate(g.ids)}
    on_path = {index[node_id] for node_id in path}
    critical_edges = {(index[a], index[b]) for a, b in pairwise(path)}
    edges = [(p, i) for i in range(len(nodes)) for p in g.parents[i]]
    if len(edges) <= MAX_ARROWS:
        for p, i in edges:
            hot = (p, i) in critical_edges
            ax.annotate(
                "",
                xy=xy[i],
                xytext=xy[p],
                arrowprops={
                    "arrowstyle": "-|>",
                    "color": CRITICAL if hot else "0.6",
                    "lw": 2.0 if hot else 0.8,
                    "shrinkA": 6,
                    "shrinkB": 6,
                },
                zorder=2 if hot else 1,
            )
    else:
        lines = [(xy[p], xy[i]) for p, i in edges]
        colours = [CRITICAL if e in critical_edges else "0.75" for e in edges]
        ax.add_collection(LineCollection(lines, colors=colours, linewidths=0.5, zorder=1))

    for group in groups:
        members = [i for i in range(len(nodes)) if nodes[i].group == group]
        ax.scatter(
            [xy[i][0] for i in members],
            [xy[i][1] for i in members],
            s=120 if len(nodes) <= MAX_LABELS else 12,
            color=GROUP_COLOURS[rank[group] % len(GROUP_COLOURS)],
            edgecolors=[CRITICAL if i in on_path else "0.2" for i in members],
            linewidths=[2.5 if i in on_path else 0.6 for i in members],
            label=group or "shared",
            zorder=3,
        )
    if len(nodes) <= MAX_LABELS:
        for i, node in enumerate(nodes):
            x, y = xy[i]
            ax.text(x, y + 0.22, node.label or node.id, ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(by_level)), [f"level {k}" for k in range(len(by_level))])
    ax.set_yticks([])
    ax.margins(x=0.15, y=0.15)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    # The legend says which colour is which: a fill per group, the red outline and arrows
    # for the critical path.
    # Legend markers of their own: a group's first node may sit on the critical path,
    # and its red outline must not look like the group's colour.
    handles: list[Artist] = [
        Line2D([], [], linestyle="", marker="o", markersize=9, markeredgecolor="0.2",
               markerfacecolor=GROUP_COLOURS[rank[g] % len(GROUP_COLOURS)])
        for g in groups
    ]  # fmt: skip
    labels = [g or "shared" for g in groups]
    if path:
        handles.append(Line2D([], [], color=CRITICAL, linewidth=2.5))
        labels.append(f"critical path ({length:g})")
    if len(groups) > 1 or groups[:1] != [""] or path:
        ax.legend(handles, labels, loc="best", fontsize=8, frameon=False)
    ax.set_title(title or f"{len(nodes)} nodes, critical path {length:g} (red)")


def draw_gantt(
    ax: Axes,
    bars: Sequence[tuple[str, str, float, float]],
    skipped: int,
    title: str | None,
) -> None:
    """One horizontal bar per ``(node, status, start, end)``, coloured by status."""
    row = {node: k for k, (node, *_) in enumerate(bars)}
    for status, colour in STATUS_COLOURS.items():
        mine = [b for b in bars if b[1] == status]
        if mine:
            ax.barh(
                [row[b[0]] for b in mine],
                [b[3] - b[2] for b in mine],
                left=[b[2] for b in mine],
                height=0.8,
                color=colour,
                label=f"{status} ({len(mine)})",
            )
    if len(bars) <= MAX_LABELS:
        ax.set_yticks(range(len(bars)), [b[0] for b in bars], fontsize=8)
    else:
        ax.set_yticks([])
    ax.invert_yaxis()  # earliest start on top
    ax.set_xlabel("seconds since the run started")
    if bars:
        ax.legend(loc="lower right", fontsize=8, frameon=False)
    note = f", {skipped} skipped (not run)" if skipped else ""
    ax.set_title(title or f"{len(bars)} nodes run{note}")
