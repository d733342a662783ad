"""The llm backend against a local OpenAI-compatible server on 127.0.0.1.

The test server reads the agent call from the prompt and answers with the
template agent's artifact as JSON, or with invalid output on demand, so the
backend's validation, repair loop and errors are exercised for real.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from aiohttp import web

from vgkit import Orchestrator
from vgkit.agents import SPECS, LLMBackend, LLMConfig, TemplateBackend
from vgkit.agents.base import AgentCall
from vgkit.config import settings
from vgkit.errors import BackendError, ConfigError
from vgkit.generation import GenerationResult


@dataclass
class ChatServer:
    """Speaks POST /v1/chat/completions; ``bad_answers`` invalid replies come first."""

    bad_answers: int = 0
    bad_kind: str = "not json"
    status: int = 200
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    async def complete(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append({"body": body, "auth": request.headers.get("Authorization")})
        if self.status != 200:
            return web.Response(status=self.status, text="model overloaded")
        first_user = next(m["content"] for m in body["messages"] if m["role"] == "user")
        payload = orjson.loads(first_user.split("\n", 1)[1])
        if self.bad_answers > 0:
            self.bad_answers -= 1
            content = (
                "Sure! Here is the JSON you asked for:"
                if self.bad_kind == "not json"
                else '{"wrong": 1}'
            )
        else:
            call = AgentCall.from_payload(payload, SPECS)
            artifact = await TemplateBackend().run(call)
            content = artifact.model_dump_json()
        return web.json_response(
            {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": "stop",
                    }
                ],
            }
        )


@pytest.fixture
async def chat() -> AsyncIterator[ChatServer]:
    server = ChatServer()
    app = web.Application()
    app.router.add_post("/v1/chat/completions", server.complete)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server.url = f"http://127.0.0.1:{runner.addresses[0][1]}/v1"
    yield server
    await runner.cleanup()


async def _run(backend: LLMBackend) -> GenerationResult:
    async with Orchestrator(backend=backend) as orchestrator:
        return await orchestrator.run(topic="How tides work", platforms=["tiktok"], seed=3)


async def test_valid_answers_make_the_same_plan_and_one_prompt_per_generative_agent(
    chat: ChatServer,
) -> None:
    backend = LLMBackend(LLMConfig(base_url=chat.url, model="tiny", api_key="k"))
    result = await _run(backend)
    local = await Orchestrator().run(topic="How tides work", platforms=["tiktok"], seed=3)
    assert result.plan("tiktok").to_json() == local.plan("tiktok").to_json()
    generative = {s.name for s in SPECS.values() if s.generative}
    assert len(chat.requests) == len(generative) == 7  # timing, assembler, quality are computed
    systems = {r["body"]["messages"][0]["content"].split("\n")[0] for r in chat.requests}
    assert len(systems) == 7  # a distinct prompt per agent
    first = chat.requests[0]
    assert first["auth"] == "Bearer k" and first["body"]["model"] == "tiny"
    assert first["body"]["response_format"] == {"type": "json_object"}
    assert "JSON Schema of the answer" in first["body"]["messages"][0]["content"]


@pytest.mark.parametrize("kind", ["not json", "wrong schema"])
async def test_invalid_answers_are_repaired(chat: ChatServer, kind: str) -> None:
    chat.bad_answers, chat.bad_kind = 2, kind
    backend = LLMBackend(LLMConfig(base_url=chat.url, model="tiny", attempts=3))
    result = await _run(backend)
    assert result.ok and backend.invalid_answers == 2
    repair = chat.requests[2]["body"]["messages"]
    assert repair[-2]["role"] == "assistant" and repair[-1]["content"].startswith(
        "That answer is invalid"
    )
    assert ("not JSON" if kind == "not json" else "keywords: Field required") in repair[-1][
        "content"
    ]


async def test_invalid_answers_beyond_the_attempts_are_a_clear_error(chat: ChatServer) -> None:
    chat.bad_answers = 100
    backend = LLMBackend(LLMConfig(base_url=chat.url, model="tiny", attempts=2))
    result = await _run(backend)
    assert not result.ok
    reason = result.failures["topic_analysis"]
    assert "returned no valid TopicAnalysis in 2 attempts" in reason
    assert len(chat.requests) == 2


async def test_http_errors_from_the_endpoint_are_reported(chat: ChatServer) -> None:
    chat.status = 500
    backend = LLMBackend(LLMConfig(base_url=chat.url, model="tiny"))
    call = next(iter(_calls_of(await Orchestrator().run(topic="x", platforms=["tiktok"]))))
    with pytest.raises(BackendError, match="HTTP 500: model overloaded"):
        await backend.run(call)
    await backend.aclose()


def _calls_of(result: GenerationResult) -> list[AgentCall]:
    from vgkit.models import VideoRequest
    from vgkit.pipeline import narrow

    spec = SPECS["topic_analysis"]
    return [AgentCall(spec, narrow(VideoRequest(topic="x"), spec, None))]


def test_configuration_from_settings() -> None:
    with pytest.raises(ConfigError, match="VGKIT_LLM_BASE_URL"):
        LLMConfig.from_settings(settings({}))
    config = LLMConfig.from_settings(
        settings({"VGKIT_LLM_BASE_URL": "http://127.0.0.1:11434/v1", "VGKIT_LLM_MODEL": "llama3.1"})
    )
    assert config.model == "llama3.1"
    a = LLMBackend(config).fingerprint()
    b = LLMBackend(LLMConfig(base_url=config.base_url, model="other")).fingerprint()
    assert a != b and a.startswith("llm/")
    with pytest.raises(ConfigError, match="http"):
        LLMConfig(base_url="localhost:1", model="m")
