"""A real generation against the local model (SmolLM2-135M behind llama.cpp's server).

Bounded: a short topic, one platform, two agents going to the model (the hook
and the call to action, the shortest texts), a small token cap. The model's
text may be poor; the plan must be valid, every call counted (written by the
model, repaired, or fallen back to the template agent), and every request must
have gone through the pooled client's kept-alive connection.
"""

from __future__ import annotations

import pytest

from tests.conftest import LocalModel
from vgkit import Orchestrator
from vgkit.agents.llm import LLMBackend, LLMConfig
from vgkit.events import Event, NodeFinished
from vgkit.llm import ModelServer
from vgkit.metrics import MetricsRegistry
from vgkit.models import VideoPlan

AGENTS = frozenset({"hook_creator", "cta_generator"})


def _sample(registry: MetricsRegistry, name: str, **labels: str) -> float:
    return sum(
        float(s.value)
        for family in registry.collect()
        for s in family.samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


@pytest.mark.timeout(600)
async def test_a_real_generation_makes_a_valid_plan_with_counted_calls(
    local_model: LocalModel,
) -> None:
    metrics = MetricsRegistry()
    config = LLMConfig(
        base_url=local_model.url, model=local_model.model, max_tokens=96, agents=AGENTS
    )
    backend = LLMBackend(config, metrics=metrics)
    events: list[Event] = []
    async with Orchestrator(backend=backend, metrics=MetricsRegistry()) as orchestrator:
        result = await orchestrator.run(
            topic="Why cats purr", platforms=["tiktok"], seed=1, on_event=events.append
        )
        # The pool is still open here: its figures are live.
        created = _sample(metrics, "vgkit_pool_connections_created_total", client="llm")
        reused = _sample(metrics, "vgkit_pool_connections_reused_total", client="llm")

    assert result.ok, result.failures
    plan = result.plan("tiktok")
    assert VideoPlan.model_validate_json(plan.to_json()) == plan  # the same validation
    assert plan.quality is not None

    written = {n: note for n, note in result.notes.items() if note.source in ("model", "fallback")}
    assert set(written) == {"hooks:tiktok", "cta:tiktok"}
    for node, note in written.items():
        assert note.model_calls == 1 + note.repairs, node
        assert (note.source == "fallback") == (note.fallback is not None), node
        assert note.completion_tokens > 0 and note.model_seconds > 0
    stats = backend.stats
    assert set(stats) == AGENTS
    completions = sum(s.model_calls for s in stats.values())
    assert completions == sum(n.model_calls for n in written.values()) == backend.calls
    assert sum(s.repairs for s in stats.values()) == sum(result.repairs.values())
    assert sum(s.fallbacks for s in stats.values()) == len(result.fallbacks)
    assert _sample(metrics, "vgkit_llm_requests_total") == completions
    assert _sample(metrics, "vgkit_llm_fallbacks_total") == len(result.fallbacks)
    finished = {e.node: e for e in events if isinstance(e, NodeFinished)}
    assert finished["hooks:tiktok"].source == written["hooks:tiktok"].source
    assert finished["hooks:tiktok"].model_calls == written["hooks:tiktok"].model_calls
    # The model wrote what it was given to write, unless it fell back.
    template = (await Orchestrator().run(topic="Why cats purr", platforms=["tiktok"], seed=1)).plan(
        "tiktok"
    )
    if written["hooks:tiktok"].source == "model":
        assert plan.hooks.primary.text != template.hooks.primary.text
    assert plan.script == template.script  # not written by the model here

    # Pooled: the hook and the CTA run one after the other, so one connection
    # carries every completion (the first opens it, the others reuse it).
    assert created + reused == completions
    assert created == 1 and reused == completions - 1


@pytest.mark.timeout(600)
async def test_a_youtube_script_fits_the_models_context_in_parts(local_model: LocalModel) -> None:
    """Every YouTube script call used to fail with HTTP 400 (prompt + the whole
    narration's tokens over SmolLM2's 2,048). The context now comes from the server
    (``GET /props``), each answer is sized to it and to ``max_tokens``, and a script
    that does not fit one answer is written in parts. Bounded: a 60-second YouTube
    video (three sections), only the script goes to the model, 256 tokens an answer."""
    endpoint = ModelServer(model=local_model.url)
    await endpoint.start()
    assert endpoint.context == 2048  # what `vgkit llm serve --ctx` (default 2048) says
    metrics = MetricsRegistry()
    config = endpoint.llm_config(max_tokens=256, agents=frozenset({"script_writer"}))
    backend = LLMBackend(config, metrics=metrics)
    async with Orchestrator(backend=backend, metrics=MetricsRegistry()) as orchestrator:
        result = await orchestrator.run(
            topic="Why cats purr", platforms=["youtube"], duration=60, seed=1
        )
    assert result.ok, result.failures
    plan = result.plan("youtube")
    assert VideoPlan.model_validate_json(plan.to_json()) == plan
    note = result.notes["script:youtube"]
    assert note.parts == 3, note  # one section per answer: the budget splits it
    assert note.source in ("model", "fallback")
    assert note.model_calls >= 1 and note.completion_tokens > 0
    # No request was refused: every completion the backend sent was answered.
    assert _sample(metrics, "vgkit_llm_requests_total", outcome="error") == 0
    assert backend.calls == note.model_calls == backend.stats["script_writer"].model_calls
    if note.source == "model":
        template = await Orchestrator().run(
            topic="Why cats purr", platforms=["youtube"], duration=60, seed=1
        )
        assert plan.script.segments != template.plan("youtube").script.segments
    # The run's own quality check counted what the model did.
    assert plan.provenance is not None and plan.provenance.agents == 1
    assert plan.provenance.fallbacks == (1 if note.source == "fallback" else 0)
