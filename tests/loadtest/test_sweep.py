"""Rate sweeps find where a target of known capacity saturates."""

from __future__ import annotations

import asyncio

import pandas as pd

from vgkit.loadtest import FunctionTarget, WorkItem, Workload, saturation_point, sweep_rates
from vgkit.loadtest.plots import plot_sweep


async def test_a_sweep_finds_the_capacity_of_a_single_server() -> None:
    # One request at a time, 10 ms each: capacity 100 requests per second.
    lock = asyncio.Lock()

    async def serve(item: WorkItem) -> None:
        async with lock:
            await asyncio.sleep(0.01)

    frame = await sweep_rates(
        FunctionTarget("single", serve),
        [60, 20, 300],
        Workload.from_csv(),
        duration=0.5,
        arrivals="constant",
        drain_timeout=2,
    )
    assert list(frame["offered_rps"]) == [20, 60, 300]
    assert list(frame["sustained"]) == [True, True, False]
    assert saturation_point(frame) == 60
    overloaded = frame.iloc[-1]
    assert overloaded["throughput_rps"] < 110
    assert overloaded["p99_ms"] > 10 * frame.iloc[0]["p99_ms"]
    figure = plot_sweep(frame)
    assert any(line.get_label() == "saturation point" for line in figure.axes[0].get_lines())


def test_no_saturation_point_when_nothing_was_sustained() -> None:
    frame = pd.DataFrame({"offered_rps": [10.0, 20.0], "sustained": [False, True]})
    assert saturation_point(frame) is None
