"""Parallel execution and resource optimisation: eager vs level-by-level vs serial."""

from __future__ import annotations

import statistics

from vgkit.claims.base import TOPIC, Measurement, relative_spread, seeded_cost
from vgkit.claims.registry import claim_section
from vgkit.dag import DAG
from vgkit.models import VideoRequest
from vgkit.orchestrator import Orchestrator


@claim_section(
    "parallel",
    "Parallel execution and resource optimisation",
    order=20,
    parameters={"time_scale": "time_scale", "runs": "parallel_runs"},
)
async def measure_parallel(
    *, time_scale: float = 0.005, runs: int = 4, concurrency: int = 4
) -> list[Measurement]:
    """Eager vs the original level-by-level scheduler vs serial, same seeded costs."""
    spans: dict[str, list[float]] = {"eager": [], "levels": [], "serial": []}
    limited: dict[str, list[float]] = {"eager": [], "levels": []}
    graph: DAG | None = None
    for seed in range(runs):
        request = VideoRequest(topic=TOPIC, seed=seed)
        for executor in spans:
            orch = Orchestrator(backend=seeded_cost(time_scale, seed), executor=executor)
            result = await orch.run(request)
            spans[executor].append(result.makespan)
            graph = result.graph
        for executor in limited:
            orch = Orchestrator(
                backend=seeded_cost(time_scale, seed), executor=executor, concurrency=concurrency
            )
            limited[executor].append((await orch.run(request)).makespan)
    mean = {k: statistics.fmean(v) for k, v in spans.items()}
    assert graph is not None
    levels = graph.levels()
    reduction_levels = 1 - mean["levels"] / mean["serial"]
    reduction_eager = 1 - mean["eager"] / mean["serial"]
    per_run = {
        k: [1 - a / s for a, s in zip(spans[k], spans["serial"], strict=True)]
        for k in ("levels", "eager")
    }
    eager_over_levels = [e / lv for e, lv in zip(spans["eager"], spans["levels"], strict=True)]
    capped = {k: statistics.fmean(v) for k, v in limited.items()}
    section = "Parallel Execution"
    widest = max(len(level) for level in levels)
    return [
        Measurement(
            section=section,
            claim="Automatic detection of parallelizable tasks (BFS levels)",
            metric="dependency levels of the 3-platform graph",
            measured=len(levels),
            unit="levels",
            target="every one of the 28 agent nodes in a level",
            met=sum(len(level) for level in levels) == len(graph) == 28,
            notes=f"{len(graph)} nodes; the widest level holds {widest}",
            kind="fact",
        ),
        Measurement(
            section=section,
            claim="Execution time reduction: up to 60% for multi-agent workflows",
            metric="time reduction of the original level-by-level scheduler vs serial",
            measured=reduction_levels,
            unit="fraction",
            baseline=0.60,
            baseline_label="claimed 60%",
            target=">= 48%, 0.8 of the claim (it says 'up to')",
            met=reduction_levels >= 0.48,
            notes=f"mean makespan {mean['levels']:.3f} s against serial {mean['serial']:.3f} s",
            better="higher",
            spread=relative_spread(per_run["levels"]),
        ),
        Measurement(
            section=section,
            claim="Execution time reduction: up to 60% for multi-agent workflows",
            metric="time reduction of vgkit's eager scheduler vs serial",
            measured=reduction_eager,
            unit="fraction",
            baseline=reduction_levels,
            baseline_label="level-by-level reduction, same run",
            target="beats level-by-level",
            met=reduction_eager > reduction_levels,
            notes=f"mean makespan {mean['eager']:.3f} s over {runs} seeded runs",
            better="higher",
            spread=relative_spread(per_run["eager"]),
        ),
        Measurement(
            section=section,
            claim="(vgkit) eager scheduling beats level barriers",
            metric="eager makespan against level-by-level makespan",
            measured=mean["eager"],
            unit="s",
            baseline=mean["levels"],
            baseline_label="level-by-level makespan",
            target="ratio <= 0.85",
            met=mean["eager"] / mean["levels"] <= 0.85,
            better="lower",
            spread=relative_spread(eager_over_levels),
        ),
        Measurement(
            section="Resource Optimization",
            claim="Task batching via parallel workflow",
            metric=f"makespan, {concurrency} agent calls in flight, eager (critical path first)",
            measured=capped["eager"],
            unit="s",
            baseline=capped["levels"],
            baseline_label=f"level-by-level, same cap of {concurrency}",
            target="ratio < 1",
            met=capped["eager"] < capped["levels"],
            better="lower",
            spread=relative_spread(limited["eager"]),
        ),
    ]
