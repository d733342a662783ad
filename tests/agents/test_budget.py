"""Answers sized to the model's context: a YouTube plan against a 2,048-token model.

The chat server (tests/agents/_chat.py) refuses, as llama-cpp-python's server does,
any request whose prompt and ``max_tokens`` exceed its context with HTTP 400, and
cuts off an answer longer than ``max_tokens``. The first llm backend sent a YouTube
script's whole budget (thousands of tokens) and every script call failed; now every
request fits and a long answer is written in parts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.agents._chat import ChatServer, chat_server
from vgkit import Orchestrator
from vgkit.agents.budget import PromptMeter, context_error, join_parts, split_draft
from vgkit.agents.drafts import DRAFTS, draft_schema, token_budget
from vgkit.agents.llm import LLMBackend, LLMConfig
from vgkit.agents.template import TemplateBackend
from vgkit.metrics import MetricsRegistry
from vgkit.models import VideoPlan


@pytest.fixture
async def chat() -> AsyncIterator[ChatServer]:
    async with chat_server() as server:
        server.context = 2048
        yield server


async def _youtube_script() -> dict[str, object]:
    result = await Orchestrator(backend=TemplateBackend()).run(
        topic="How tides work", platforms=["youtube"], seed=3
    )
    return result.plan("youtube").script.model_dump(mode="json")


async def test_a_youtube_script_needs_more_than_the_context_and_splits_into_fitting_parts() -> None:
    spec = DRAFTS["script_writer"]
    base = await _youtube_script()
    whole = token_budget(draft_schema(spec, base))
    assert whole > 2048  # the defect: the whole answer can never fit
    parts = split_draft(spec, base, 600)
    assert len(parts) >= 3 and all(p.budget <= 600 for p in parts)
    segments = base["segments"]
    assert isinstance(segments, list)
    assert [p.start for p in parts] == [0, *[p.stop for p in parts[:-1]]]
    assert parts[-1].stop == len(segments)
    # The title is written once, in the first part.
    assert "title" in parts[0].schema["properties"]
    assert all(set(p.schema["properties"]) == {"segments"} for p in parts[1:])
    drafts = [
        {
            **({"title": "Tides"} if p.index == 0 else {}),
            "segments": [{"text": f"s{i}"} for i in range(p.start, p.stop)],
        }
        for p in parts
    ]
    joined = join_parts(spec, drafts)
    assert joined["title"] == "Tides"
    assert [s["text"] for s in joined["segments"]] == [f"s{i}" for i in range(len(segments))]
    assert split_draft(spec, base, 10**6)[0].count == 1  # it fits: one part


def test_context_errors_are_read_from_the_endpoints_words() -> None:
    said = (
        "This model's maximum context length is 2048 tokens, however you requested 3900 "
        "tokens (412 in the messages, 3488 in the completion). Please reduce the length"
    )
    assert context_error(said) == (2048, 412)
    assert context_error("Requested tokens (3900) exceed context window of 2048") == (2048, None)
    assert context_error('{"n_prompt_tokens": 99, "n_ctx": 512}') == (512, 99)
    assert context_error("model overloaded") is None


def test_the_prompt_meter_errs_towards_a_longer_prompt() -> None:
    meter = PromptMeter()
    chat = [{"role": "system", "content": "x" * 400}, {"role": "user", "content": "y" * 400}]
    assert meter.estimate(chat) >= 800 // 3
    meter.observe(chat, 800 // 4 + 24)
    meter.observe(chat, 800 // 5 + 24)  # fewer tokens seen later: the estimate keeps the most
    assert 800 // 4 + 24 <= meter.estimate(chat) <= 800 // 4 + 40


@pytest.mark.parametrize("told", [True, False], ids=["context-given", "context-learned"])
async def test_a_youtube_plan_fits_a_2048_token_model(chat: ChatServer, told: bool) -> None:
    config = LLMConfig(base_url=chat.url, model="tiny", context=2048 if told else None)
    backend = LLMBackend(config, metrics=MetricsRegistry())
    async with Orchestrator(backend=backend, metrics=MetricsRegistry()) as orchestrator:
        result = await orchestrator.run(topic="How tides work", platforms=["youtube"], seed=3)
    assert result.ok, result.failures
    plan = result.plan("youtube")
    assert VideoPlan.model_validate_json(plan.to_json()) == plan
    assert not result.fallbacks, result.fallbacks
    script = result.notes["script:youtube"]
    assert script.source == "model" and script.parts >= 2
    assert script.model_calls == script.parts + script.repairs
    assert all(s.text.startswith("Line ") for s in plan.script.segments)
    # Every request sent fitted; told the context, none was refused, and when not told,
    # the endpoint's first refusal taught the backend its size.
    for request in chat.requests:
        body = request["body"]
        sent = ChatServer.prompt_tokens(body) + body["max_tokens"]
        assert sent <= 2048 or not told
    assert chat.refused == (0 if told else 1)
    assert backend.context == 2048
