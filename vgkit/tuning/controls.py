"""Tune by hand: a configuration from a few knobs, and ipywidgets controls for them.

The cache-policy-tuning notebook shows :func:`tuning_controls` and
:func:`budget_controls` (a stale-budget slider over the staleness path) when
opened in JupyterLab. sliders for the TTLs of the expensive kinds and the L1 size,
dropdowns for the eviction policy and the codec; every change reruns the
simulator (milliseconds) and shows the by-hand configuration against the
baseline. :func:`try_config` is the callback, usable without widgets.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from vgkit.tuning.candidate import CODECS, DEFAULT_CODEC, EVICTION_POLICIES, Candidate
from vgkit.tuning.simulator import simulate

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from vgkit.tuning.evaluation import SimulationResult
    from vgkit.tuning.profile import EntryProfile
    from vgkit.tuning.recommendation import Recommendation
    from vgkit.tuning.trace import Trace

__all__ = [
    "HOURS",
    "SHOWN",
    "STALE_BUDGETS",
    "at_budget",
    "budget_controls",
    "hand_config",
    "try_config",
    "tuning_controls",
]

MIB = 2**20
#: The TTL choices of the sliders, in hours.
HOURS: tuple[float, ...] = (0.25, 0.5, 1, 2, 4, 8, 24, 72, 168)
#: The eviction policy the controls start at (the L1's own default; "none" ignores the size).
DEFAULT_EVICTION = "least-recently-stored"
#: The columns the comparison shows.
SHOWN = ["hit_ratio", "seconds_saved", "wall_seconds_saved", "peak_bytes", "mean_bytes"]


def hand_config(
    *,
    script_h: float = 1.0,
    storyboard_h: float = 1.0,
    request_h: float = 24.0,
    l1_mib: float = 16,
    eviction: str = DEFAULT_EVICTION,
    codec: str = DEFAULT_CODEC,
) -> Candidate:
    """The original configuration with these TTLs (hours, every platform), L1 size,
    eviction policy and codec."""
    return (
        Candidate(name="by hand", l1_size=int(l1_mib * MIB), eviction=eviction, codec=codec)
        .with_ttl("script", "*", script_h * 3600)
        .with_ttl("storyboard", "*", storyboard_h * 3600)
        .with_ttl("request", "*", request_h * 3600)
    )


def try_config(
    trace: Trace,
    baseline: SimulationResult,
    *,
    profile: EntryProfile | None = None,
    **knobs: Any,
) -> pd.DataFrame:
    """The baseline's figures next to the configuration :func:`hand_config` makes of
    ``knobs``, simulated over ``trace``."""
    import pandas as pd

    result = simulate(trace, hand_config(**knobs), profile=profile)
    return pd.DataFrame([baseline.summary(), result.summary()]).set_index("config")[SHOWN]


def tuning_controls(
    trace: Trace,
    baseline: SimulationResult,
    *,
    profile: EntryProfile | None = None,
    budget_mib: int = 16,
) -> Any:
    """ipywidgets controls over :func:`try_config` (an ``ipywidgets.interactive``;
    ``.result`` holds the last table, ``.children`` the controls)."""
    import ipywidgets as widgets

    from vgkit.reports.tables import table

    def show(**knobs: Any) -> Any:
        frame = try_config(trace, baseline, profile=profile, **knobs)
        return table(frame, {"hit_ratio": "fraction", "seconds_saved": "s",
                             "wall_seconds_saved": "s"})  # fmt: skip

    def hours(value: float) -> Any:
        return widgets.SelectionSlider(options=list(HOURS), value=value)

    return widgets.interactive(
        show,
        script_h=hours(1),
        storyboard_h=hours(1),
        request_h=hours(24),
        l1_mib=widgets.IntSlider(min=1, max=4 * budget_mib, value=budget_mib),
        eviction=widgets.Dropdown(options=list(EVICTION_POLICIES), value=DEFAULT_EVICTION),
        codec=widgets.Dropdown(options=list(CODECS), value=DEFAULT_CODEC),
    )


#: The stale budgets the budget slider offers.
STALE_BUDGETS: tuple[float, ...] = (0.0, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5)


def at_budget(rec: Recommendation, stale_budget: float) -> tuple[pd.DataFrame, Figure]:
    """The held-out comparison at ``stale_budget`` (the original TTL matrix against the
    staleness path's configuration there) and the front with the budget marked."""
    return rec.compare_at([stale_budget]).T, rec.plot_front(stale_budget=stale_budget)


def budget_controls(rec: Recommendation, stale_budget: float = 0.05) -> Any:
    """A stale-budget slider over :func:`at_budget` (an ``ipywidgets.interactive``;
    ``.result`` holds the last (table, figure)). The recommendation should have walked
    the whole path (``recommend(..., front_to=0.0)``)."""
    import ipywidgets as widgets
    from IPython.display import display

    # IPython's display is untyped; called through a typed name.
    show_all: Callable[..., object] = display

    def show(stale_budget: float) -> tuple[pd.DataFrame, Figure]:
        frame, figure = at_budget(rec, stale_budget)
        show_all(frame, figure)
        return frame, figure

    options = sorted({*STALE_BUDGETS, stale_budget})
    return widgets.interactive(
        show, stale_budget=widgets.SelectionSlider(options=options, value=stale_budget)
    )
