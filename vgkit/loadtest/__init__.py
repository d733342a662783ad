"""Load testing: open and closed loop, coordinated-omission-corrected HDR percentiles.

Quick start (in a notebook cell or any coroutine)::

    from vgkit.loadtest import LoadTest, OrchestratorTarget, Workload

    async with OrchestratorTarget(cost="seed", time_scale=0.001) as target:
        result = await LoadTest(rate=50, duration=5, max_requests=500).run(
            target, Workload.from_csv(zipf=1.1, seed=1)
        )
    result.summary()["latency_ms"]      # min, p50, p90, p95, p99, p99.9, max, mean (corrected)
    result.timeseries()                  # one row per second
    result.plot_latency()
    result.check("p99<200ms", "errors<1%").passed   # k6-style thresholds

Modules: :mod:`~vgkit.loadtest.workload` (what to send),
:mod:`~vgkit.loadtest.profile` (rates and ramps),
:mod:`~vgkit.loadtest.targets` (where to send it, and how to add a target),
:mod:`~vgkit.loadtest.a2a` (the targets ``vgkit serve`` serves),
:mod:`~vgkit.loadtest.runner` (the generator), :mod:`~vgkit.loadtest.live` (figures
while it runs), :mod:`~vgkit.loadtest.measurement` (what it measured),
:mod:`~vgkit.loadtest.sweep` (saturation), :mod:`~vgkit.loadtest.thresholds` (pass or
fail), :mod:`~vgkit.loadtest.causes` (why requests failed), :mod:`~vgkit.loadtest.progress`
(a progress bar).
"""

from vgkit.loadtest.a2a import AgentTarget, RemoteOrchestratorTarget, ServeTarget, run_over_a2a
from vgkit.loadtest.live import LoadProgress
from vgkit.loadtest.measurement import LoadTestResult, compare_results
from vgkit.loadtest.profile import Constant, Linear, Profile, Steps, arrival_offsets, parse_profile
from vgkit.loadtest.runner import LoadTest, run_load_test
from vgkit.loadtest.sweep import saturation_point, sweep_rates
from vgkit.loadtest.targets import (
    TARGETS,
    BaseTarget,
    CacheTarget,
    FunctionTarget,
    HttpTarget,
    NoopTarget,
    OrchestratorTarget,
    StallTarget,
    Target,
    TargetKind,
    make_target,
)
from vgkit.loadtest.thresholds import Threshold, ThresholdReport, check_thresholds
from vgkit.loadtest.workload import Topic, WorkItem, Workload, load_topics

__all__ = [
    "TARGETS",
    "AgentTarget",
    "BaseTarget",
    "CacheTarget",
    "Constant",
    "FunctionTarget",
    "HttpTarget",
    "Linear",
    "LoadProgress",
    "LoadTest",
    "LoadTestResult",
    "NoopTarget",
    "OrchestratorTarget",
    "Profile",
    "RemoteOrchestratorTarget",
    "ServeTarget",
    "StallTarget",
    "Steps",
    "Target",
    "TargetKind",
    "Threshold",
    "ThresholdReport",
    "Topic",
    "WorkItem",
    "Workload",
    "arrival_offsets",
    "check_thresholds",
    "compare_results",
    "load_topics",
    "make_target",
    "parse_profile",
    "run_load_test",
    "run_over_a2a",
    "saturation_point",
    "sweep_rates",
]
