"""Measured costs from the real model: recorded, replayed, and under load.

Bounded: TikTok, the model writes the hook (and the CTA), 48-64 tokens an answer.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import LocalModel
from vgkit import claims
from vgkit.agents import CostModel, TemplateBackend
from vgkit.agents.cost import CostProfile
from vgkit.agents.llm import LLMBackend, LLMConfig
from vgkit.llm.costs import record_costs
from vgkit.loadtest import Workload
from vgkit.loadtest.llm import LLMTarget, llm_sweep
from vgkit.metrics import MetricsRegistry
from vgkit.orchestrator import Orchestrator

AGENTS = frozenset({"hook_creator"})


@pytest.mark.timeout(600)
async def test_a_profile_recorded_from_the_model_replays(
    local_model: LocalModel, tmp_path: Path
) -> None:
    config = LLMConfig(base_url=local_model.url, model=local_model.model, max_tokens=48,
                       agents=AGENTS, context=2048)  # fmt: skip
    backend = LLMBackend(config, metrics=MetricsRegistry())
    try:
        profile = await record_costs(backend, ["Why cats purr"], platforms=["tiktok"])
    finally:
        await backend.aclose()
    hook = profile.samples["hook_creator"]
    assert len(hook) == 1 and hook[0] > 0.05  # a real completion: tens of milliseconds at least
    assert max(profile.samples["timing_coordinator"]) < 0.05  # computed: no model call
    assert profile.source["completions"] >= 1 and profile.source["model"] == local_model.model
    loaded = CostProfile.load(profile.save(tmp_path / "costs.json"))
    replay = CostModel(TemplateBackend(), loaded, time_scale=0.5)
    result = await Orchestrator(backend=replay, metrics=MetricsRegistry()).run(
        topic="Why cats purr", platforms=["tiktok"]
    )
    assert result.ok
    assert replay.spent["hook_creator"] == pytest.approx(0.5 * hook[0])
    assert (result.schedule.records["hooks:tiktok"].duration or 0) >= 0.5 * hook[0] * 0.9


@pytest.mark.timeout(600)
async def test_the_llm_load_target_runs_real_generations(local_model: LocalModel) -> None:
    async with LLMTarget(model=local_model.url, agents=["hook_creator"], max_tokens=96) as llm:
        frame = await llm_sweep(
            llm, [0.5], Workload.from_csv(seed=3), duration=1.0, seed=3,
            arrivals="constant", drain_timeout=400,  # one request; a busy machine is slow
        )  # fmt: skip
    row = frame.iloc[0]
    assert row["ok"] >= 1 and row["errors"] == 0, frame
    assert row["completions"] >= row["ok"] and row["completion_tokens"] > 0
    assert row["tokens_per_s"] > 0 and row["request_tokens_per_s"] > 0


@pytest.mark.timeout(600)
async def test_the_reports_measured_section_puts_real_seconds_beside_assumed_ones(
    local_model: LocalModel,
) -> None:
    rows = await claims.measure_with_model(runs=1, max_tokens=32, model=local_model.url)
    by_metric = {m.metric: m for m in rows}
    saved = by_metric[claims.measured.SAVED_RESULT]
    hit = by_metric[claims.measured.HIT_RESULT]
    assert saved.measured > 0.05 and not saved.assumed
    assert hit.baseline == saved.measured and hit.measured < saved.measured
    assert by_metric[claims.measured.EAGER_MEASURED].baseline is not None
