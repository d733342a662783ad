"""Measured cost profiles: recorded from real calls, saved as JSON, replayed with time_scale.

The recording here goes to the local chat server (tests/agents/_chat.py, real HTTP on
127.0.0.1); tests/llm/ records from the real model.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.agents._chat import chat_server
from vgkit import Orchestrator
from vgkit.agents import SPECS, CostModel, TemplateBackend
from vgkit.agents.base import AgentCall
from vgkit.agents.cost import CostProfile, cost_profile, measured_profile
from vgkit.agents.llm import LLMBackend, LLMConfig
from vgkit.cli import main
from vgkit.errors import ConfigError
from vgkit.llm.costs import record_costs
from vgkit.metrics import MetricsRegistry
from vgkit.models import VideoRequest


def test_a_measured_profile_round_trips_through_json(tmp_path: Path) -> None:
    profile = measured_profile(
        {"script_writer": [2.0, 3.0, 4.0], "timing_coordinator": [0.0001]},
        source={"model": "smollm2"},
    )
    path = profile.save(tmp_path / "costs.json")
    data = json.loads(path.read_text())
    assert data["format"] == "vgkit-cost-profile"
    assert data["agents"]["script_writer"]["samples"] == [2.0, 3.0, 4.0]
    assert data["agents"]["script_writer"]["p50"] == 3.0
    assert data["source"]["model"] == "smollm2" and "recorded" in data["source"]
    loaded = CostProfile.load(path)
    assert loaded.samples == profile.samples and not loaded.assumed
    assert loaded.mean("script_writer") == pytest.approx(3.0)
    assert loaded.mean("hook_creator") == 0.0  # nothing measured, nothing assumed
    assert cost_profile(f"measured:{path}").samples == profile.samples
    assert cost_profile("seed").assumed


def test_replay_draws_recorded_latencies_scaled_and_seeded() -> None:
    profile = measured_profile({"topic_analysis": [2.0, 3.0, 4.0]})
    request = VideoRequest(topic="How tides work", platforms=["tiktok"])
    calls = [
        AgentCall(SPECS["topic_analysis"], request.model_copy(update={"seed": s}), None, {})
        for s in range(30)
    ]
    model = CostModel(TemplateBackend(), profile, time_scale=0.01)
    drawn = [model.latency(c) for c in calls]
    assert set(drawn) == {0.02, 0.03, 0.04}  # every recorded value, times time_scale
    assert drawn == [
        CostModel(TemplateBackend(), profile, time_scale=0.01).latency(c) for c in calls
    ]
    other = measured_profile({"hook_creator": [1.0]})
    assert CostModel(TemplateBackend(), other).latency(calls[0]) == 0.0  # not measured


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "no cost profile at"),
        ("not json", "is not a cost profile (not JSON"),
        ('{"format": "other"}', 'no "format": "vgkit-cost-profile"'),
        ('{"format": "vgkit-cost-profile", "agents": {"a": {"samples": [-1]}}}', "negative"),
    ],
)
def test_bad_profile_files_are_one_line_errors(
    tmp_path: Path, content: str | None, says: str
) -> None:
    path = tmp_path / "costs.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError, match=says.replace("(", r"\(")):
        CostProfile.load(path)


def test_the_cli_says_what_is_wrong_with_a_cost_profile(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["generate", "x", "-p", "tiktok", "--no-cache", "--cost", f"measured:{tmp_path}/no.json"]
    )
    assert code == 2
    assert "no cost profile at" in capsys.readouterr().err
    code = main(["generate", "x", "-p", "tiktok", "--record-costs", str(tmp_path / "c.json")])
    assert code == 2
    assert "--record-costs needs --backend llm" in capsys.readouterr().err


async def test_recorded_costs_replay_in_a_run(tmp_path: Path) -> None:
    async with chat_server() as chat:
        backend = LLMBackend(LLMConfig(base_url=chat.url, model="tiny"), metrics=MetricsRegistry())
        profile = await record_costs(backend, ["How tides work", "Why cats purr"])
        await backend.aclose()
    assert profile.samples["script_writer"] and len(profile.samples["script_writer"]) == 2
    assert profile.source["completions"] >= 14  # seven written agents, two topics
    assert set(profile.samples) >= {"topic_analysis", "timing_coordinator", "assembler"}
    path = profile.save(tmp_path / "costs.json")
    replay = CostModel(TemplateBackend(), CostProfile.load(path), time_scale=2.0)
    result = await Orchestrator(backend=replay, metrics=MetricsRegistry()).run(
        topic="How tides work", platforms=["tiktok"]
    )
    assert result.ok
    spent = replay.spent["script_writer"]
    assert spent in {2.0 * v for v in profile.samples["script_writer"]}
