"""Results: summary, per-request frame, time series, exports, plots."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pandas as pd
import pytest

from vgkit.loadtest import LoadTest, LoadTestResult, NoopTarget, Workload, compare_results
from vgkit.metrics import MetricsRegistry


@pytest.fixture(scope="module")
def result() -> LoadTestResult:
    # The 200 arrivals of the first second are the whole run (``max_requests``); the
    # duration only bounds it, with room for a slow machine to send the last one late
    # rather than drop it.
    test = LoadTest(rate="100@0.5,300@0.5", arrivals="constant", duration=5.0, max_requests=200)
    return asyncio.run(
        test.run(NoopTarget(delay=0.002), Workload.from_csv(seed=1), metrics=MetricsRegistry())
    )


def test_summary_counts_and_percentiles(result: LoadTestResult) -> None:
    s = result.summary()
    assert s["scheduled"] == s["sent"] == s["ok"] == 200  # 50 + 150
    assert s["rate"] == "100@0.5,300@0.5"
    latency = s["latency_ms"]
    assert list(latency) == ["min", "p50", "p90", "p95", "p99", "p99.9", "max", "mean"]
    assert 2.0 <= latency["p50"] <= latency["p90"] <= latency["p99"] <= latency["max"]
    assert s["workload"]["seed"] == 1


def test_timeseries_per_second_and_finer(result: LoadTestResult) -> None:
    per_second = result.timeseries()
    assert per_second["offered"].sum() == 200
    assert per_second.loc[0, "offered"] == 200  # everything was due in the first second
    halves = result.timeseries(0.5)
    assert list(halves["offered"][:2]) == [50, 150]
    assert list(halves["target_rate"][:2]) == [100, 300]
    assert halves.loc[1, "offered_rps"] == 300
    assert {"p50", "p99", "max", "p99_uncorrected"} <= set(halves.columns)


def test_frame_json_and_csv(result: LoadTestResult, tmp_path: Path) -> None:
    frame = result.to_frame()
    assert len(frame) == 200
    assert (frame["latency"] >= frame["service_time"] - 1e-9).all()
    assert set(frame["platform"]) <= {"tiktok", "youtube", "instagram_reels"}
    result.to_json(tmp_path / "r.json", requests=True)
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["summary"]["ok"] == 200
    assert data["config"]["rate"] == "100@0.5,300@0.5"
    assert len(data["requests"]) == 200
    assert data["timeseries"][0]["offered"] == 200
    result.to_csv(tmp_path / "r.csv")
    assert len(pd.read_csv(tmp_path / "r.csv")) == 200


def test_plots_are_figures_with_the_series(result: LoadTestResult) -> None:
    latency = result.plot_latency(interval=0.25)
    labels = [line.get_label() for line in latency.axes[0].get_lines()]
    assert labels == ["p50", "p90", "p99", "max", "p99 uncorrected"]
    throughput = result.plot_throughput()
    assert len(throughput.axes[0].patches) >= 2
    distribution = result.plot_distribution()
    assert len(distribution.axes[0].get_lines()) == 2


def test_compare_results(result: LoadTestResult) -> None:
    table = compare_results({"a": result, "b": result})
    assert list(table.index) == ["a", "b"]
    assert table.loc["a", "ok"] == 200
    assert "p99_uncorrected_ms" in table


def test_live_latencies_reach_the_histogram_when_read_and_memory_stays_bounded() -> None:
    from vgkit.loadtest import live as live_module
    from vgkit.loadtest.live import LiveStats, percentile_seconds

    live = LiveStats("t", max_requests=10, duration=1.0)
    for ms in (1, 2, 3, 4, 100):
        live.observe(ms / 1000)
    assert live.histogram.get_total_count() == 5
    assert percentile_seconds(live.histogram, 100.0) == pytest.approx(0.1, rel=1e-3)
    snapshot = live.snapshot()
    assert snapshot.p50 == pytest.approx(0.003, rel=1e-3) and live.histogram.get_total_count() == 5
    for _ in range(live_module._MAX_PENDING + 10):
        live.observe(0.001)
    assert len(live._pending) < live_module._MAX_PENDING  # folded in unasked
    assert live.histogram.get_total_count() == 5 + live_module._MAX_PENDING + 10
