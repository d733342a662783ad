"""The orchestrator with the cache: node hits, whole-request hits, learning, warming."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import vgkit
from tests.conftest import MakeCache
from vgkit import Orchestrator, VideoRequest
from vgkit.agents import AgentCall, TemplateBackend
from vgkit.agents.notes import current_note, note_scope
from vgkit.cache import TemplateCache
from vgkit.events import NodeFinished
from vgkit.loadtest.a2a import recorded_call
from vgkit.models import Model
from vgkit.plan_cache import NOTE_KEY, CacheIntegration, plan_template_ids

TOPIC = "How tides work"


def _integration(make_cache: MakeCache, **kw: object) -> CacheIntegration:
    cache = make_cache(**kw)
    return CacheIntegration(cache, templates=TemplateCache(store=cache))


async def test_second_run_is_served_whole_and_reports_seconds_saved(make_cache: MakeCache) -> None:
    integration = _integration(make_cache)
    async with Orchestrator(
        backend=integration.backend(), cache=integration, cost="seed", time_scale=0.002
    ) as orch:
        first = await orch.run(topic=TOPIC, platforms=["tiktok", "youtube"])
        second = await orch.run(topic=TOPIC, platforms=["tiktok", "youtube"])
    assert sum(first.cache_misses.values()) == len(first.graph) and not first.cache_hits
    assert second.cache_hits == {"request": 1} and not second.cache_misses
    assert second.seconds_saved == pytest.approx(first.makespan, abs=1e-5)
    assert "served whole from the cache" in second.summary()
    for platform in ("tiktok", "youtube"):
        assert second.plan(platform).to_json() == first.plan(platform).to_json()


async def test_node_cache_serves_a_different_platform_set(make_cache: MakeCache) -> None:
    integration = _integration(make_cache)
    first = await vgkit.agenerate(
        TOPIC, platforms=["tiktok", "youtube"], cache=integration, backend=integration.backend()
    )
    subset = await vgkit.agenerate(
        TOPIC, platforms=["tiktok"], cache=integration, backend=integration.backend()
    )
    assert subset.cache_hits == {
        "topic": 1, "hooks": 1, "script": 1, "timing": 1, "storyboard": 3, "cta": 1,
        "result": 1, "quality": 1,
    }  # fmt: skip
    assert subset.seconds_saved > 0 and subset.cache_tiers["script:tiktok"] == "l1"
    assert subset.plan("tiktok").to_json() == first.plan("tiktok").to_json()


async def test_cached_plans_equal_uncached_plans(make_cache: MakeCache) -> None:
    integration = _integration(make_cache)
    plain = await vgkit.agenerate(TOPIC, platforms=["instagram_reels"], seed=4)
    cached = await vgkit.agenerate(
        TOPIC,
        platforms=["instagram_reels"],
        seed=4,
        cache=integration,
        backend=integration.backend(),
    )
    assert cached.plan("instagram_reels").to_json() == plain.plan("instagram_reels").to_json()


async def test_quality_is_credited_to_the_templates_a_plan_used(make_cache: MakeCache) -> None:
    integration = _integration(make_cache)
    async with integration:
        result = await vgkit.agenerate(
            TOPIC, platforms=["tiktok"], cache=integration, backend=integration.backend()
        )
        await integration.flush()
        plan = result.plan("tiktok")
        assert integration.templates is not None
        for template_id in plan_template_ids(plan):
            score = integration.templates.score(template_id)
            assert score.scored == 1 and score.ema == pytest.approx(plan.quality.overall)  # type: ignore[union-attr]
        # A run served from the cache adds no evidence.
        await vgkit.agenerate(
            TOPIC, platforms=["tiktok"], cache=integration, backend=integration.backend()
        )
        await integration.flush()
        assert integration.templates.score(plan.script.structure_id).scored == 1


async def test_warm_and_predictive_warming(make_cache: MakeCache) -> None:
    integration = _integration(make_cache)
    async with integration:
        report = await integration.warm(["tiktok"], ["Why cats purr", "Bread at home"])
        assert report.requests == 2 and report.computed_nodes == 20
        warmed = await vgkit.agenerate(
            "Why cats purr", platforms=["tiktok"], cache=integration, backend=integration.backend()
        )
        assert warmed.cache_hits == {"request": 1}
        for _ in range(3):
            await vgkit.agenerate(
                "Compost", platforms=["youtube"], cache=integration, backend=integration.backend()
            )
        await vgkit.agenerate(
            "Knots", platforms=["tiktok"], cache=integration, backend=integration.backend()
        )
        top = integration.topics.top(2)
        assert [s.fields["topic"] for s in top] == ["Compost", "Knots"]
        assert top[0].platforms == ("youtube",) and top[0].score == pytest.approx(3, rel=1e-3)
        await integration.cache.clear()
        again = await integration.warm_predictive(top_k=2)
        assert again.requests == 2 and again.computed_nodes == 20
        assert len(integration.topics) == 3  # warming itself is not counted as demand


async def test_topic_log_survives_a_restart(tmp_path: Path) -> None:
    first = CacheIntegration.from_settings(directory=tmp_path / "l1", use_redis=False)
    async with first:
        await vgkit.agenerate("Kites", platforms=["tiktok"], cache=first, backend=first.backend())
    second = CacheIntegration.from_settings(directory=tmp_path / "l1", use_redis=False)
    async with second:
        assert [s.fields["topic"] for s in second.topics.top(5)] == ["Kites"]


class _NotingBackend(TemplateBackend):
    """Notes its calls as a model-backed backend does: the script fell back after two
    repairs, the hooks needed one, every other generative agent answered at once."""

    name = "noting"
    WRITES = frozenset({"hook_creator", "script_writer", "scene_designer", "cta_generator"})

    async def run(self, call: AgentCall) -> Model:
        note = current_note()
        if note is not None and call.spec.name in self.WRITES:
            note.model_calls = 3
            note.source = "fallback" if call.spec.name == "script_writer" else "model"
            note.repairs = {"script_writer": 2, "hook_creator": 1}.get(call.spec.name, 0)
            note.fallback = "segments[1].text: too short" if note.source == "fallback" else None
        return await super().run(call)


async def test_a_plan_served_from_the_node_cache_keeps_how_the_model_made_it(
    make_cache: MakeCache,
) -> None:
    integration = CacheIntegration(make_cache())
    events: list[Any] = []
    async with Orchestrator(backend=_NotingBackend(), cache=integration) as orch:
        made = await orch.run(topic=TOPIC, platforms=["tiktok", "youtube"])
        served = await orch.run(topic=TOPIC, platforms=["tiktok"], on_event=events.append)
    assert not served.cache_misses and served.cache_hits["script"] == 1
    first, again = made.plan("tiktok"), served.plan("tiktok")
    assert first.provenance is not None
    assert (first.provenance.agents, first.provenance.repairs, first.provenance.fallbacks) == (
        4,
        3,
        1,
    )
    # The same provenance, so the same quality score (the quality node was a hit too).
    assert again.provenance == first.provenance
    assert again.to_json() == first.to_json()
    finished = {e.node: e for e in events if isinstance(e, NodeFinished)}
    script = finished["script:tiktok"]
    assert (script.cache_hit, script.source, script.repairs, script.model_calls) == (
        True,
        "fallback",
        2,
        0,
    )
    assert script.fallback == "segments[1].text: too short"
    assert finished["timing:tiktok"].source is None  # computed: nothing kept


async def test_a_template_entry_keeps_no_note_and_a_bad_note_is_ignored(
    make_cache: MakeCache,
) -> None:
    integration = CacheIntegration(make_cache())
    call = await recorded_call(VideoRequest(topic=TOPIC, platforms=["tiktok"]), "script_writer")
    backend = TemplateBackend()
    outcome = await integration.get_or_compute(call, "fp", lambda: backend.run(call))
    key = integration.cache.key("script", "tiktok", call.digest("fp"))
    found = await integration.cache.lookup(key)
    assert found is not None and NOTE_KEY not in found[0].value
    # An entry whose note is not one vgkit wrote: the artifact is served, the note ignored.
    await integration.cache.set(key, {**found[0].value, NOTE_KEY: {"source": 7, "repairs": -1}})
    with note_scope() as note:
        again = await integration.get_or_compute(call, "fp", lambda: backend.run(call))
    assert again.hit and again.artifact == outcome.artifact and note.source == ""
