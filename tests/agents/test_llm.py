"""The llm backend against a local OpenAI-compatible server on 127.0.0.1.

The test server (tests/agents/_chat.py) answers with an instance of the draft
schema the request carries, as a schema-constrained server does, or with invalid
or cut-off answers on demand, so the backend's checks, repair loop, fallback,
counts and errors run for real. tests/llm/ runs the same backend against the
real local model.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.agents._chat import ChatServer, chat_server
from vgkit import Orchestrator
from vgkit.agents import SPECS
from vgkit.agents.base import AgentCall
from vgkit.agents.llm import GENERATIVE_AGENTS, LLMBackend, LLMConfig
from vgkit.config import settings
from vgkit.errors import BackendError, ConfigError
from vgkit.events import Event, NodeFinished
from vgkit.generation import GenerationResult
from vgkit.metrics import MetricsRegistry
from vgkit.models import VideoPlan, VideoRequest
from vgkit.pipeline import narrow
from vgkit.platforms import Platform
from vgkit.quality import score_plan, with_provenance


@pytest.fixture
async def chat() -> AsyncIterator[ChatServer]:
    async with chat_server() as server:
        yield server


def _backend(chat: ChatServer, **kw: object) -> LLMBackend:
    return LLMBackend(
        LLMConfig(base_url=chat.url, model="tiny", **kw),  # type: ignore[arg-type]
        metrics=MetricsRegistry(),
    )


async def _run(backend: LLMBackend, events: list[Event] | None = None) -> GenerationResult:
    async with Orchestrator(backend=backend, metrics=MetricsRegistry()) as orchestrator:
        return await orchestrator.run(
            topic="How tides work",
            platforms=["tiktok"],
            seed=3,
            on_event=events.append if events is not None else None,
        )


def _sample(registry: MetricsRegistry, name: str, **labels: str) -> float:
    for family in registry.collect():
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return 0.0


async def test_the_model_writes_every_generative_agent_and_the_plan_validates(
    chat: ChatServer,
) -> None:
    backend = LLMBackend(
        LLMConfig(base_url=chat.url, model="tiny", api_key="k"), metrics=MetricsRegistry()
    )
    result = await _run(backend)
    assert result.ok, result.failures
    plan = result.plan("tiktok")
    assert VideoPlan.model_validate_json(plan.to_json()) == plan
    # The model's text is in the plan; times and counts are the template skeleton's.
    assert plan.hooks.primary.text.startswith("Line ")
    assert all(s.text.startswith("Line ") for s in plan.script.segments)
    assert plan.script.word_count == sum(len(s.text.split()) for s in plan.script.segments)
    template = (
        await Orchestrator().run(topic="How tides work", platforms=["tiktok"], seed=3)
    ).plan("tiktok")
    assert [s.duration for s in plan.script.segments] == [
        s.duration for s in template.script.segments
    ]
    assert len(chat.requests) == len(GENERATIVE_AGENTS) == 7  # timing, assembler, quality computed
    systems = {r["body"]["messages"][0]["content"].split("\n")[0] for r in chat.requests}
    assert len(systems) == 7  # a distinct prompt per agent
    first = chat.requests[0]["body"]
    assert chat.requests[0]["auth"] == "Bearer k" and first["model"] == "tiny"
    assert first["response_format"]["type"] == "json_object"
    assert first["response_format"]["schema"]["type"] == "object"
    assert first["max_tokens"] >= 16
    assert "Answer shape" in first["messages"][0]["content"]
    assert "Topic: How tides work" in first["messages"][1]["content"]
    sources = {node: note.source for node, note in result.notes.items()}
    assert sources["topic_analysis"] == "model" and sources["timing:tiktok"] == "computed"
    assert not result.repairs and not result.fallbacks
    assert backend.totals().model_calls == 7 and backend.totals().completion_tokens == 140
    assert "llm: 7 agent calls written by the model" in result.summary()


async def test_every_call_goes_through_one_pooled_connection(chat: ChatServer) -> None:
    backend = _backend(chat)
    await _run(backend)
    created = _sample(backend.metrics, "vgkit_pool_connections_created_total", client="llm")
    reused = _sample(backend.metrics, "vgkit_pool_connections_reused_total", client="llm")
    # Seven completions; agents that run at the same time (scenes, then shots, transitions
    # and cta) need a connection each, every later request reuses one.
    assert created + reused == 7 and 1 <= created <= 3 and reused >= 4
    await backend.aclose()


@pytest.mark.parametrize("kind", ["not json", "wrong schema", "cut off"])
async def test_invalid_answers_are_repaired_and_counted(chat: ChatServer, kind: str) -> None:
    chat.bad_answers, chat.bad_kind = 2, kind
    backend = _backend(chat, attempts=3)
    events: list[Event] = []
    result = await _run(backend, events)
    assert result.ok and backend.invalid_answers == 2
    assert result.repairs == {"topic_analysis": 2} and not result.fallbacks
    repair = chat.requests[2]["body"]["messages"]
    assert repair[-2]["role"] == "assistant"
    assert repair[-1]["content"].startswith("That answer is invalid")
    expected = {"not json": "not JSON", "wrong schema": "keywords: missing", "cut off": "cut off"}
    assert expected[kind] in repair[-1]["content"]
    finished = next(e for e in events if isinstance(e, NodeFinished) and e.node == "topic_analysis")
    assert (finished.source, finished.model_calls, finished.repairs) == ("model", 3, 2)
    registry = backend.metrics
    assert _sample(registry, "vgkit_llm_repairs_total", agent="topic_analysis") == 2
    assert (
        _sample(registry, "vgkit_llm_requests_total", agent="topic_analysis", outcome="invalid")
        == 2
    )


async def test_no_valid_answer_falls_back_to_the_template_agent_and_says_so(
    chat: ChatServer,
) -> None:
    chat.bad_answers = 2
    backend = _backend(chat, attempts=2)
    events: list[Event] = []
    result = await _run(backend, events)
    assert result.ok, "one agent's failure no longer fails the run"
    assert list(result.fallbacks) == ["topic_analysis"]
    assert "not JSON" in result.fallbacks["topic_analysis"]
    template = (
        await Orchestrator().run(topic="How tides work", platforms=["tiktok"], seed=3)
    ).plan("tiktok")
    assert result.plan("tiktok").topic == template.topic
    finished = next(e for e in events if isinstance(e, NodeFinished) and e.node == "topic_analysis")
    assert finished.source == "fallback" and finished.fallback
    assert backend.stats["topic_analysis"].fallbacks == 1
    assert _sample(backend.metrics, "vgkit_llm_fallbacks_total", agent="topic_analysis") == 1
    assert "1 fallbacks to the template agents (topic_analysis)" in result.summary()


async def test_the_runs_own_quality_check_counts_repairs_and_fallbacks(chat: ChatServer) -> None:
    """The quality node of the run scores the plan with what the model did for it
    (not only ``vgkit.quality.with_provenance`` afterwards): the fallback and the
    repair are in the plan's provenance, its coherence score and its reasons."""
    chat.bad_answers = 3  # topic analysis: 2 invalid answers, fallback; hooks: 1 repair
    result = await _run(_backend(chat, attempts=2))
    plan = result.plan("tiktok")
    made = plan.provenance
    assert made is not None and made.backend == "llm"
    assert made.agents == 7  # the shared topic analysis and TikTok's six written agents
    assert made.fallbacks == 1 and made.fallback_agents == ("topic_analysis",)
    assert made.repairs == sum(result.repairs.values()) == 2
    assert plan.quality is not None
    reasons = " ".join(plan.quality.coherence.reasons)
    assert "1 of 7 model-written artifacts fell back to templates" in reasons
    assert "2 answers needed a repair" in reasons
    # The same plan without the provenance scores higher: the run's score counted them.
    clean = score_plan(plan.model_copy(update={"provenance": None}))
    assert plan.quality.coherence.score < clean.coherence.score
    # vgkit.quality's grid reads the same provenance (nothing counted twice).
    assert with_provenance(result, Platform.TIKTOK, "llm") == plan


async def test_without_fallback_invalid_answers_are_a_clear_error(chat: ChatServer) -> None:
    chat.bad_answers = 100
    result = await _run(_backend(chat, attempts=2, fallback=False))
    assert not result.ok
    assert "returned no valid TopicAnalysis in 2 attempts" in result.failures["topic_analysis"]
    assert len(chat.requests) == 2


async def test_only_the_chosen_agents_go_to_the_model(chat: ChatServer) -> None:
    backend = _backend(chat, agents=frozenset({"hook_creator", "cta_generator"}))
    result = await _run(backend)
    assert result.ok
    assert len(chat.requests) == 2
    assert {n for n, note in result.notes.items() if note.source == "model"} == {
        "hooks:tiktok",
        "cta:tiktok",
    }
    other = _backend(chat)
    assert backend.fingerprint() != other.fingerprint()
    with pytest.raises(ConfigError, match="cannot write timing_coordinator"):
        LLMConfig(base_url=chat.url, model="m", agents=frozenset({"timing_coordinator"}))


@pytest.mark.parametrize(
    ("style", "expected"),
    [("openai", "json_schema"), ("json", "json_object"), ("llama-cpp", "json_object")],
)
async def test_schema_styles(chat: ChatServer, style: str, expected: str) -> None:
    backend = _backend(chat, schema_style=style, agents=frozenset({"cta_generator"}))
    await _run(backend)
    fmt = chat.requests[0]["body"]["response_format"]
    assert fmt["type"] == expected
    if style == "openai":
        assert fmt["json_schema"]["name"] == "cta_generator"
    if style == "json":
        assert "schema" not in fmt
        chat.requests.clear()


async def test_http_errors_from_the_endpoint_are_reported(chat: ChatServer) -> None:
    chat.status = 500
    backend = _backend(chat)
    spec = SPECS["topic_analysis"]
    call = AgentCall(spec, narrow(VideoRequest(topic="x"), spec, None))
    with pytest.raises(BackendError, match="HTTP 500: model overloaded"):
        await backend.run(call)
    await backend.aclose()
    await backend.aclose()  # closing twice is harmless


def test_configuration_from_settings() -> None:
    with pytest.raises(ConfigError, match="VGKIT_LLM_BASE_URL"):
        LLMConfig.from_settings(settings({}))
    config = LLMConfig.from_settings(
        settings({"VGKIT_LLM_BASE_URL": "http://127.0.0.1:11434/v1", "VGKIT_LLM_MODEL": "llama3.1"})
    )
    assert config.model == "llama3.1"
    over = LLMConfig.from_settings(settings({}), base_url="http://127.0.0.1:1/v1", model="m")
    assert over.base_url == "http://127.0.0.1:1/v1"
    a = LLMBackend(config).fingerprint()
    b = LLMBackend(LLMConfig(base_url=config.base_url, model="other")).fingerprint()
    assert a != b and a.startswith("llm/")
    with pytest.raises(ConfigError, match="http"):
        LLMConfig(base_url="localhost:1", model="m")
    with pytest.raises(ConfigError, match="schema style"):
        LLMConfig(base_url="http://x", model="m", schema_style="xml")
