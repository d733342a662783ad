"""Generation experiments: a grid of requests and settings, run and tabulated.

::

    grid = Grid(topics=["Sourdough for beginners", "How black holes form"],
                platforms=["tiktok", "youtube"], executors=["eager", "levels"],
                costs=[None, "seed"], time_scale=0.001)
    out = await run_grid(grid)
    out.runs     # one row per run: makespan, critical path, cache figures
    out.plans    # one row per plan: duration, structure, quality scores
    out.timings  # one row per agent node of every run

Every cell of the grid is one orchestrator run; each ``platforms`` entry is a
platform name or a tuple of them (one run for several platforms shares the
topic analysis). Runs are seeded, so the same grid gives the same plans; the
timings vary with the machine, which is the point of measuring them.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from vgkit.errors import InvalidRequestError
from vgkit.generation import GenerationResult
from vgkit.orchestrator import Orchestrator
from vgkit.platforms import Platform

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from vgkit.models import VideoPlan
    from vgkit.orchestrator import AgentCache

__all__ = [
    "Grid",
    "GridResult",
    "controls_enabled",
    "progress_bar",
    "run_grid",
    "timeline_controls",
    "timeline_figure",
]

PlatformSpec = str | Sequence[str]
DEFAULT_TIME_SCALE = 0.001
"""Cost-model latencies times this: the seed profile's 45 s result becomes 45 ms."""


def _platforms(spec: PlatformSpec) -> tuple[Platform, ...]:
    names = [spec] if isinstance(spec, str) else list(spec)
    try:
        return tuple(Platform(n) for n in names)
    except ValueError:
        known = ", ".join(p.value for p in Platform)
        raise InvalidRequestError(f"unknown platform in {spec!r}; choose from {known}") from None


@dataclass(frozen=True, kw_only=True)
class Grid:
    """The axes of an experiment; every combination is one run."""

    topics: Sequence[str]
    platforms: Sequence[PlatformSpec] = ("tiktok",)
    styles: Sequence[str] = ("educational",)
    executors: Sequence[str] = ("eager",)
    costs: Sequence[str | None] = (None,)
    """Cost profile names (``seed``, ``flat``); None runs without added latency."""
    seeds: Sequence[int] = (0,)
    time_scale: float = DEFAULT_TIME_SCALE

    def __post_init__(self) -> None:
        for name in ("topics", "platforms", "styles", "executors", "costs", "seeds"):
            if not getattr(self, name):
                raise InvalidRequestError(f"the grid's {name} must not be empty")
        for spec in self.platforms:
            _platforms(spec)

    def cells(self) -> list[dict[str, Any]]:
        """Every combination, in a stable order (the order of the runs)."""
        return [
            {
                "topic": topic,
                "platforms": _platforms(platforms),
                "style": style,
                "executor": executor,
                "cost": cost,
                "seed": seed,
            }
            for executor, cost, topic, platforms, style, seed in itertools.product(
                self.executors, self.costs, self.topics, self.platforms, self.styles, self.seeds
            )
        ]

    def __len__(self) -> int:
        return len(self.cells())


@dataclass(frozen=True)
class GridResult:
    """The tables of a grid run (and the runs themselves, when kept)."""

    runs: pd.DataFrame
    plans: pd.DataFrame
    timings: pd.DataFrame
    results: list[GenerationResult] = field(default_factory=list, repr=False)

    def compare(self, by: str = "executor", value: str = "makespan") -> pd.DataFrame:
        """Mean, min and max of a run column per value of ``by``."""
        return self.runs.groupby(by)[value].agg(["mean", "min", "max", "count"])

    def plan(self, topic: str, platform: str, style: str | None = None, seed: int = 0) -> VideoPlan:
        """A plan the grid made (kept results only): any executor, any cost model, since
        plans do not depend on them. Drawing from here keeps widget callbacks light."""
        for result in self.results:
            request = result.request
            if (
                request.topic == topic
                and (style is None or request.style.value == style)
                and request.seed == seed
                and Platform(platform) in result.plans
            ):
                return result.plans[Platform(platform)]
        raise InvalidRequestError(
            f"the grid kept no plan for {topic!r} on {platform} (style {style}, seed {seed}); "
            "run it with keep_results=True over that cell"
        )


def _labels(cell: dict[str, Any]) -> dict[str, Any]:
    return {
        "topic": cell["topic"],
        "platforms": "+".join(p.value for p in cell["platforms"]),
        "style": cell["style"],
        "executor": cell["executor"],
        "cost": cell["cost"] or "none",
        "seed": cell["seed"],
    }


def _run_row(labels: dict[str, Any], result: GenerationResult) -> dict[str, Any]:
    path, length = result.critical_path
    return {
        **labels,
        "ok": result.ok,
        "nodes": len(result.graph),
        "makespan": result.makespan,
        "critical_path_s": length,
        "critical_path": " -> ".join(path),
        "agent_seconds": float(result.timings_frame()["duration"].sum()),
        "cache_hits": sum(result.cache_hits.values()),
        "cache_misses": sum(result.cache_misses.values()),
        "seconds_saved": result.seconds_saved,
    }


async def run_grid(
    grid: Grid,
    *,
    cache: AgentCache | None = None,
    keep_results: bool = False,
    on_run: Callable[[dict[str, Any], GenerationResult], None] | None = None,
) -> GridResult:
    """Run every cell of ``grid`` (one after another, so timings do not interfere).

    ``cache`` is shared by every run (to study hit rates); ``on_run`` is called
    after each run (a progress bar's update, say).
    """
    runs, plans, timings, kept = [], [], [], []
    orchestrators: dict[tuple[str, str | None], Orchestrator] = {}
    try:
        for cell in grid.cells():
            key = (cell["executor"], cell["cost"])
            if key not in orchestrators:
                orchestrators[key] = Orchestrator(
                    executor=cell["executor"],
                    cost=cell["cost"],
                    time_scale=grid.time_scale,
                    cache=cache,
                )
            result = await orchestrators[key].run(
                topic=cell["topic"],
                platforms=cell["platforms"],
                style=cell["style"],
                seed=cell["seed"],
            )
            labels = _labels(cell)
            runs.append(_run_row(labels, result))
            summary = result.summary_frame().rename(columns={"platform": "plan_platform"})
            plans.append(summary.assign(**labels, makespan=result.makespan))
            timings.append(result.timings_frame().assign(**labels))
            if keep_results:
                kept.append(result)
            if on_run is not None:
                on_run(cell, result)
    finally:
        for orchestrator in orchestrators.values():
            await orchestrator.aclose()
    return GridResult(
        runs=pd.DataFrame(runs),
        plans=pd.concat(plans, ignore_index=True) if plans else pd.DataFrame(),
        timings=pd.concat(timings, ignore_index=True) if timings else pd.DataFrame(),
        results=kept,
    )


def controls_enabled(report_dir: str | None) -> bool:
    """Whether a notebook should show ipywidgets controls.

    Not in a report run (``report_dir`` set: papermill executes headless, and
    widget output would not survive the HTML export), and only inside a Jupyter
    kernel with ipywidgets installed. Notebooks fall back to static figures.
    """
    if report_dir is not None:
        return False
    try:
        import ipywidgets  # noqa: F401
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def progress_bar(
    total: int | None, desc: str, report_dir: str | None = None, **options: Any
) -> Any:
    """A ``tqdm.auto`` progress bar for a notebook loop: a widget in JupyterLab, text
    elsewhere, and none in a report run (``report_dir`` set), where it would only
    add noise to the log. Call ``.update()`` per step (``run_grid(on_run=...)``)."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, disable=report_dir is not None, **options)


def timeline_figure(
    result: GridResult, topic: str, platform: str, style: str | None = None, seed: int = 0
) -> Figure:
    """The storyboard timeline of a plan the grid kept (no generation: widget callbacks
    redraw, they do not rerun the grid)."""
    from vgkit.plots import storyboard_timeline

    plan = result.plan(topic, platform, style, seed)
    title = f"{plan.title} ({platform}, {style or 'any style'}, seed {seed})"
    return storyboard_timeline(plan, title=title)


def timeline_controls(result: GridResult, *, platform: str | None = None) -> Any:
    """ipywidgets dropdowns (topic, platform, style, seed) over the plans the grid kept,
    each change redrawing :func:`timeline_figure` (an ``ipywidgets.interactive``:
    ``.result`` is the last figure, ``.children`` the controls)."""
    import ipywidgets as widgets

    plans = result.plans
    if plans.empty or not result.results:
        raise InvalidRequestError("the grid kept no plans: run it with keep_results=True")

    def options(column: str) -> list[Any]:
        return list(dict.fromkeys(plans[column].tolist()))

    platforms = options("plan_platform")
    chosen = platform if platform in platforms else platforms[0]

    def draw(topic: str, platform: str, style: str, seed: int) -> Figure:
        return timeline_figure(result, topic, platform, style, seed)

    return widgets.interactive(
        draw,
        topic=widgets.Dropdown(options=options("topic")),
        platform=widgets.Dropdown(options=platforms, value=chosen),
        style=widgets.Dropdown(options=options("style")),
        seed=widgets.Dropdown(options=[int(s) for s in options("seed")]),
    )
