"""A local OpenAI-compatible chat server for the llm backend's tests (real HTTP on 127.0.0.1).

It answers every chat completion with a JSON instance of the draft schema the
request sent as ``response_format`` (distinct texts sized to each string's
bounds), as a schema-constrained server would; a whole-artifact request (an
agent without a draft spec) with the template agent's artifact for the call in
the prompt; or with invalid or cut-off answers on demand, so the backend's
checks, repair loop, fallback and errors run for real.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from vgkit.agents import SPECS
from vgkit.agents.base import AgentCall
from vgkit.agents.template import TemplateBackend


def instance(schema: Mapping[str, Any], counter: itertools.count[int] | None = None) -> Any:
    """A valid instance of a draft schema: every string distinct, within its bounds."""
    counter = counter if counter is not None else itertools.count(1)
    kind = schema.get("type")
    if kind == "object":
        return {k: instance(v, counter) for k, v in schema["properties"].items()}
    if kind == "array":
        items = schema.get("prefixItems") or [schema["items"]] * int(schema["minItems"])
        return [instance(s, counter) for s in items]
    if kind == "string":
        low, high = int(schema.get("minLength", 1)), int(schema.get("maxLength", 40))
        text = f"Line {next(counter)} on how tides rise"
        while len(text) < low:
            text += " and fall"
        return text[:high].rstrip()
    raise AssertionError(f"unexpected schema {schema}")


@dataclass
class ChatServer:
    """Speaks POST /v1/chat/completions; ``bad_answers`` invalid replies come first."""

    bad_answers: int = 0
    bad_kind: str = "not json"
    status: int = 200
    context: int | None = None
    """A context window in tokens (prompt: 4 characters a token, plus 10 a message):
    a request whose prompt and ``max_tokens`` exceed it is refused with HTTP 400 in
    llama-cpp-python's words, and an answer longer than ``max_tokens`` is cut off."""
    refused: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    @staticmethod
    def prompt_tokens(body: Mapping[str, Any]) -> int:
        chat = body["messages"]
        return sum(len(m["content"]) for m in chat) // 4 + 10 * len(chat)

    async def complete(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append({"body": body, "auth": request.headers.get("Authorization")})
        if self.status != 200:
            return web.Response(status=self.status, text="model overloaded")
        fmt = body.get("response_format") or {}
        schema = fmt.get("schema") or (fmt.get("json_schema") or {}).get("schema")
        finish = "stop"
        prompt = self.prompt_tokens(body) if self.context is not None else 50
        if self.context is not None and prompt + body["max_tokens"] > self.context:
            self.refused += 1
            asked = prompt + body["max_tokens"]
            message = (
                f"This model's maximum context length is {self.context} tokens, however you "
                f"requested {asked} tokens ({prompt} in the messages, {body['max_tokens']} in "
                "the completion). Please reduce the length of the messages or completion."
            )
            error = {"message": message, "type": "invalid_request_error"}
            return web.json_response({"error": error}, status=400)
        if self.bad_answers > 0:
            self.bad_answers -= 1
            if self.bad_kind == "not json":
                content = "Sure! Here is the JSON you asked for:"
            elif self.bad_kind == "cut off":
                content, finish = '{"primary": {"text": "Most people', "length"
            else:
                content = '{"wrong": 1}'
        else:
            content = await self._answer(body, schema)
            if self.context is not None and len(content) // 3 > body["max_tokens"]:
                content, finish = content[: body["max_tokens"] * 3], "length"
        return web.json_response(
            {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": finish,
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt,
                    "completion_tokens": 20,
                    "total_tokens": prompt + 20,
                },
            }
        )

    @staticmethod
    async def _answer(body: dict[str, Any], schema: Any) -> str:
        first_user = next(m["content"] for m in body["messages"] if m["role"] == "user")
        if first_user.startswith("Agent call:\n"):
            # A whole artifact (an agent without a draft spec): the template agent's.
            payload = orjson.loads(first_user.split("\n", 1)[1])
            call = AgentCall.from_payload(payload, SPECS)
            return (await TemplateBackend().run(call)).model_dump_json()
        assert isinstance(schema, dict), "the backend sends the draft's schema"
        return orjson.dumps(instance(schema)).decode()

    async def models(self, _request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": "tiny", "object": "model"}]})


@asynccontextmanager
async def chat_server() -> AsyncIterator[ChatServer]:
    server = ChatServer()
    app = web.Application()
    app.router.add_post("/v1/chat/completions", server.complete)
    app.router.add_get("/v1/models", server.models)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server.url = f"http://127.0.0.1:{runner.addresses[0][1]}/v1"
    try:
        yield server
    finally:
        await runner.cleanup()
