"""Experiment grids: every combination run once, plans reproducible, tables complete."""

from __future__ import annotations

import pytest

from vgkit.errors import InvalidRequestError
from vgkit.experiments import Grid, controls_enabled, run_grid


async def test_a_grid_runs_every_combination_and_tabulates_it() -> None:
    grid = Grid(
        topics=["Composting at home", "How black holes form"],
        platforms=["tiktok", ("tiktok", "youtube")],
        executors=["eager", "levels"],
        costs=[None, "flat"],
        time_scale=0.0005,
    )
    assert len(grid) == 16
    seen: list[str] = []
    out = await run_grid(grid, on_run=lambda cell, result: seen.append(cell["executor"]))
    assert seen == ["eager"] * 8 + ["levels"] * 8
    runs = out.runs
    assert len(runs) == 16 and runs["ok"].all()
    assert set(runs["platforms"]) == {"tiktok", "tiktok+youtube"}
    assert set(runs["nodes"]) == {10, 19}  # 1 shared + 9 per platform
    # The flat cost profile: every agent takes 1 s x time_scale, so a run lasts at least
    # its critical path of 7 agents (topic, hooks, script, scenes, shots, assemble, quality).
    flat = runs[runs["cost"] == "flat"]
    assert (flat["makespan"] >= 7 * 0.0005).all()
    assert len(out.plans) == 2 * (1 + 2) * 2 * 2  # topics x plans per run x executors x costs
    assert len(out.timings) == runs["nodes"].sum()
    # Plans depend on the request only: identical across executors and cost models.
    columns = ["topic", "platforms", "plan_platform", "title", "duration", "shots", "overall"]
    by_setting = out.plans.groupby(["executor", "cost"])[columns]
    tables = [group.reset_index(drop=True) for _, group in by_setting]
    assert all(table.equals(tables[0]) for table in tables[1:])
    assert list(out.compare("executor").index) == ["eager", "levels"]


async def test_kept_results_give_back_their_plans() -> None:
    grid = Grid(topics=["Composting at home"], platforms=[("tiktok", "youtube")], seeds=[0, 1])
    out = await run_grid(grid, keep_results=True)
    assert len(out.results) == 2
    plan = out.plan("Composting at home", "youtube", "educational", seed=1)
    assert plan == out.results[1].plan("youtube")
    with pytest.raises(InvalidRequestError, match="kept no plan"):
        out.plan("Composting at home", "instagram_reels")
    assert (await run_grid(grid)).results == []  # not kept unless asked


def test_bad_grids_are_refused() -> None:
    with pytest.raises(InvalidRequestError, match="unknown platform in 'vimeo'"):
        Grid(topics=["x"], platforms=["vimeo"])
    with pytest.raises(InvalidRequestError, match="styles must not be empty"):
        Grid(topics=["x"], styles=[])


def test_controls_only_by_hand_in_a_kernel() -> None:
    assert controls_enabled("/tmp/report") is False  # a report run is headless
    assert controls_enabled(None) is False  # pytest is no Jupyter kernel


async def test_timeline_controls_redraw_the_plan_chosen() -> None:
    from vgkit.experiments import timeline_controls, timeline_figure

    grid = Grid(
        topics=["Composting at home", "How tides work"],
        platforms=["tiktok", "youtube"],
        styles=["educational", "viral"],
    )
    out = await run_grid(grid, keep_results=True)
    controls = timeline_controls(out, platform="youtube")
    topic, platform, style = controls.children[:3]
    assert controls.kwargs == {"topic": "Composting at home", "platform": "youtube",
                               "style": "educational", "seed": 0}  # fmt: skip
    first = controls.result.axes[0].get_title()
    # The callback runs with non-default values and draws that plan, not the first one.
    topic.value, platform.value, style.value = "How tides work", "tiktok", "viral"
    drawn = controls.result.axes[0].get_title()
    expected = out.plan("How tides work", "tiktok", "viral").title
    assert drawn != first and drawn.startswith(expected) and "tiktok, viral" in drawn
    assert timeline_figure(out, "How tides work", "tiktok", "viral").axes[0].get_title() == drawn
    with pytest.raises(InvalidRequestError, match="keep_results"):
        timeline_controls(await run_grid(grid))


def test_progress_bars_stay_out_of_report_runs() -> None:
    from vgkit.experiments import progress_bar

    assert progress_bar(3, "runs", "reports/x").disable is True
    bar = progress_bar(3, "runs", None)
    bar.update()
    assert bar.n == 1 and not bar.disable
    bar.close()
