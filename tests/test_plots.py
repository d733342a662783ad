"""Plan and grid figures."""

from __future__ import annotations

import pandas as pd
from matplotlib.patches import Rectangle

import vgkit
from vgkit.plots import LANES, plot_grid, storyboard_timeline


def test_the_storyboard_timeline_draws_every_part_of_the_plan() -> None:
    plan = vgkit.generate("Sourdough bread for beginners", platforms=["youtube"]).plan("youtube")
    figure = storyboard_timeline(plan)
    (ax,) = figure.axes
    bars = len(plan.script.segments) + len(plan.storyboard.scenes)
    bars += len(plan.storyboard.shots) + len(plan.captions)
    assert len(ax.patches) == bars
    assert [t.get_text() for t in ax.get_yticklabels()] == list(LANES)
    assert ax.get_xlim() == (0, plan.duration)
    markers = [line for line in ax.get_lines() if line.get_marker() == "v"]
    assert len(markers) == 1 + len(plan.cta.secondary)
    assert plan.title in ax.get_title()


def test_plot_grid_groups_bars_by_hue() -> None:
    frame = pd.DataFrame(
        {"x": ["a", "a", "b", "b"], "hue": ["p", "q", "p", "q"], "y": [1.0, 2.0, 3.0, 4.0]}
    )
    figure = plot_grid(frame, x="x", y="y", hue="hue")
    heights = sorted(
        bar.get_height() for bar in figure.axes[0].patches if isinstance(bar, Rectangle)
    )
    assert heights == [1.0, 2.0, 3.0, 4.0]
