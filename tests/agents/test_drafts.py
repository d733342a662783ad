"""Drafts: the model's text laid over the template skeleton, and what is checked."""

from __future__ import annotations

import importlib.util
import json
from typing import Any

import pytest

import vgkit
from vgkit.agents.drafts import (
    DRAFTS,
    apply_draft,
    check_draft,
    draft_schema,
    project,
    shape_hint,
    token_budget,
)
from vgkit.models import Model, VideoPlan

ARTIFACTS = {
    "hook_creator": lambda p: p.hooks,
    "script_writer": lambda p: p.script,
    "scene_designer": lambda p: p.storyboard,
    "shot_describer": lambda p: p.storyboard,
    "transition_planner": lambda p: p.transitions,
    "cta_generator": lambda p: p.cta,
}


def _plans() -> dict[str, VideoPlan]:
    result = vgkit.generate("How tides work", seed=2)
    return {p.value: plan for p, plan in result.plans.items()}


def _data(agent: str, plan: VideoPlan) -> dict[str, Any]:
    artifact: Model = ARTIFACTS[agent](plan)
    data = artifact.model_dump(mode="json")
    if agent in ("scene_designer", "shot_describer"):  # the storyboard holds both lists
        key = "scenes" if agent == "scene_designer" else "shots"
        data = {"platform": plan.platform.value, key: data[key]}
    return data


@pytest.mark.parametrize("agent", sorted(ARTIFACTS))
def test_a_template_artifact_is_its_own_draft_laid_over_itself(agent: str) -> None:
    for plan in _plans().values():
        data = _data(agent, plan)
        spec = DRAFTS[agent]
        draft = project(spec, data)
        assert check_draft(spec, data, draft) == []
        assert apply_draft(spec, data, draft) == data


def test_the_script_draft_changes_text_and_recomputes_counts_and_id() -> None:
    plan = _plans()["tiktok"]
    data = plan.script.model_dump(mode="json")
    spec = DRAFTS["script_writer"]
    draft = project(spec, data)
    draft["segments"][1]["text"] = "Tides   rise twice a day because the Moon pulls the sea."
    out = apply_draft(spec, data, draft)
    assert out["segments"][1]["text"] == "Tides rise twice a day because the Moon pulls the sea."
    assert out["segments"][1]["word_count"] == 11
    assert out["word_count"] == data["word_count"] - data["segments"][1]["word_count"] + 11
    assert out["script_id"] != data["script_id"]
    assert [s["start"] for s in out["segments"]] == [s["start"] for s in data["segments"]]
    assert type(plan.script).model_validate(out).segments[1].word_count == 11


def test_script_narration_is_sized_to_each_segment() -> None:
    data = _plans()["tiktok"].script.model_dump(mode="json")
    schema = draft_schema(DRAFTS["script_writer"], data)
    segments = schema["properties"]["segments"]
    assert segments["minItems"] == segments["maxItems"] == len(data["segments"])
    bounds = [item["properties"]["text"]["maxLength"] for item in segments["prefixItems"]]
    durations = [s["duration"] for s in data["segments"]]
    longest = durations.index(max(durations))
    assert bounds[longest] == max(bounds) and len(set(bounds)) > 1
    assert shape_hint(schema) == '{"title": text, "segments": [{"text": text}, ... (5 items)]}'
    assert 100 < token_budget(schema) < 500


def test_a_segment_longer_than_the_cap_covers_still_has_a_schema_text_can_meet() -> None:
    narration = DRAFTS["script_writer"].fields["segments[].text"]
    assert narration.max_chars == 1400  # 233 s at the slowest pace
    for seconds in (5, 60, 230, 240, 600):
        low, high = narration.bounds({"duration": seconds})
        assert narration.min_chars <= low < high <= narration.max_chars, seconds
    assert narration.bounds({"duration": 600}) == (1392, 1400)
    assert narration.bounds({"duration": 60}) == (360, 1320)  # short items: unchanged


def test_problems_are_named_by_path() -> None:
    plan = _plans()["tiktok"]
    data = plan.hooks.model_dump(mode="json")
    spec = DRAFTS["hook_creator"]
    good = project(spec, data)
    assert check_draft(spec, data, [1]) == ["the answer: must be a JSON object"]
    bad = json.loads(json.dumps(good))
    bad["primary"]["text"] = "x" * 200
    bad["alternatives"] = bad["alternatives"][:1]
    bad["extra"] = 1
    problems = check_draft(spec, data, bad)
    assert "the answer: unknown field(s) extra" in problems
    assert "primary.text: 200 characters, at most 90" in problems
    assert "alternatives: 1 items, expected 2" in problems
    topic = DRAFTS["topic_analysis"]
    analysis = plan.topic.model_dump(mode="json")
    repeated = {"keywords": ["tides", "Tides ", "moon"], "key_points": ["   ", "b" * 20, "c" * 20],
                "category": "science", "angle": "a" * 30, "summary": "s" * 30}  # fmt: skip
    problems = check_draft(topic, analysis, repeated)
    assert "keywords.1: repeats item 0" in problems
    assert "key_points.0: 0 characters, at least 12" in problems


def test_an_empty_list_the_model_may_not_extend_is_left_out() -> None:
    cta = _plans()["tiktok"].cta  # TikTok has no secondary calls to action
    assert cta.secondary == ()
    data = cta.model_dump(mode="json")
    schema = draft_schema(DRAFTS["cta_generator"], data)
    assert set(schema["properties"]) == {"primary"}
    draft = project(DRAFTS["cta_generator"], data)
    assert "secondary" not in draft and apply_draft(DRAFTS["cta_generator"], data, draft) == data


@pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None, reason="needs the llm extra")
@pytest.mark.parametrize("agent", sorted(DRAFTS))
def test_llama_cpp_turns_every_draft_schema_into_a_grammar(agent: str) -> None:
    """The server falls back to plain JSON, silently, for a schema it cannot convert."""
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    plan = _plans()["youtube"]
    data = plan.topic.model_dump(mode="json") if agent == "topic_analysis" else _data(agent, plan)
    grammar = json_schema_to_gbnf(json.dumps(draft_schema(DRAFTS[agent], data)))
    assert "root ::=" in grammar
