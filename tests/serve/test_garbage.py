"""Garbage in, the right JSON-RPC error out, and the server keeps serving."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest

from vgkit.a2a.protocol import (
    CONTENT_TYPE_NOT_SUPPORTED,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    TASK_NOT_FOUND,
    UNSUPPORTED_OPERATION,
    Task,
    TaskState,
)
from vgkit.client import A2AClient
from vgkit.serve import AgentServer

from .conftest import recorded_calls


def rpc(method: str, params: Any = None, id_: Any = 1) -> bytes:
    body: dict[str, Any] = {"jsonrpc": "2.0", "id": id_, "method": method}
    if params is not None:
        body["params"] = params
    return orjson.dumps(body)


def send(parts: Any) -> bytes:
    return rpc("SendMessage", {"message": {"role": "ROLE_USER", "messageId": "m", "parts": parts}})


GARBAGE: list[tuple[str, bytes, int]] = [
    ("not JSON", b"{this is not json", PARSE_ERROR),
    ("truncated JSON", b'{"jsonrpc": "2.0", "id": 1, "method": "SendMess', PARSE_ERROR),
    ("empty body", b"", PARSE_ERROR),
    ("binary", bytes(range(256)), PARSE_ERROR),
    ("JSON array (batch)", b"[]", INVALID_REQUEST),
    ("JSON string", b'"SendMessage"', INVALID_REQUEST),
    ("wrong jsonrpc version", b'{"jsonrpc": "1.0", "id": 1, "method": "GetTask"}', INVALID_REQUEST),
    ("method is a number", b'{"jsonrpc": "2.0", "id": 1, "method": 42}', INVALID_REQUEST),
    ("id is an object", b'{"jsonrpc": "2.0", "id": {}, "method": "GetTask"}', INVALID_REQUEST),
    ("params is a string", rpc("SendMessage", "hello"), INVALID_REQUEST),
    ("unknown method", rpc("tasks/explode", {}), METHOD_NOT_FOUND),
    ("unsupported A2A method", rpc("ListTasks", {}), UNSUPPORTED_OPERATION),
    ("params is an array", rpc("SendMessage", [1, 2]), INVALID_PARAMS),
    ("no params", rpc("SendMessage"), INVALID_PARAMS),
    ("no message", rpc("message/send", {"configuration": {}}), INVALID_PARAMS),
    ("missing parts", rpc("SendMessage", {"message": {"role": "ROLE_USER"}}), INVALID_PARAMS),
    ("empty parts", send([]), INVALID_PARAMS),
    ("part of the wrong type", send(["text"]), INVALID_PARAMS),
    ("text is a number", send([{"text": 12}]), INVALID_PARAMS),
    ("no data part", send([{"text": "analyse something"}]), INVALID_PARAMS),
    ("file part", send([{"url": "http://example.invalid/x.png"}]), CONTENT_TYPE_NOT_SUPPORTED),
    (
        "data of the wrong shape",
        send([{"data": {"agent": "topic_analysis", "request": 7}}]),
        INVALID_PARAMS,
    ),
    ("wrong agent", send([{"data": {"agent": "script_writer"}}]), INVALID_PARAMS),
    (
        "unknown platform",
        send([{"data": {"request": {"topic": "x"}, "platform": "myspace"}}]),
        INVALID_PARAMS,
    ),
    (
        "blocking is a string",
        rpc(
            "message/send",
            {
                "message": {"role": "user", "parts": [{"kind": "text", "text": "x"}]},
                "configuration": {"blocking": "yes"},
            },
        ),
        INVALID_PARAMS,
    ),
    ("task id missing", rpc("GetTask", {}), INVALID_PARAMS),
    ("task id is a number", rpc("tasks/get", {"id": 5}), INVALID_PARAMS),
    ("unknown task", rpc("GetTask", {"id": "nope"}), TASK_NOT_FOUND),
    ("cancel unknown task", rpc("tasks/cancel", {"id": "nope"}), TASK_NOT_FOUND),
    (
        "continue unknown task",
        rpc(
            "SendMessage",
            {"message": {"role": "ROLE_USER", "taskId": "nope", "parts": [{"text": "x"}]}},
        ),
        TASK_NOT_FOUND,
    ),
]


async def post(http: aiohttp.ClientSession, url: str, body: bytes) -> tuple[int, Any]:
    async with http.post(url, data=body, headers={"Content-Type": "application/json"}) as resp:
        return resp.status, await resp.json(content_type=None)


@pytest.mark.parametrize(("what", "body", "code"), GARBAGE, ids=[g[0] for g in GARBAGE])
async def test_each_kind_of_garbage_gets_its_error(
    topic_server: AgentServer, what: str, body: bytes, code: int
) -> None:
    async with aiohttp.ClientSession() as http:
        status, answer = await post(http, topic_server.url, body)
    assert status == 200, what
    assert answer["jsonrpc"] == "2.0"
    assert answer["error"]["code"] == code, (what, answer)
    assert answer["error"]["message"]
    assert "result" not in answer


async def test_error_echoes_a_readable_id(topic_server: AgentServer) -> None:
    async with aiohttp.ClientSession() as http:
        _, answer = await post(http, topic_server.url, rpc("NoSuchMethod", {}, id_="abc-7"))
        _, unreadable = await post(http, topic_server.url, b"{oops")
    assert answer["id"] == "abc-7"
    assert unreadable["id"] is None


async def test_a_body_over_the_limit_is_refused_unread(topic_server: AgentServer) -> None:
    big = send([{"text": "x" * (topic_server.config.max_body + 1)}])
    async with aiohttp.ClientSession() as http:
        status, answer = await post(http, topic_server.url, big)

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: limit while reading
            for _ in range(100):
                yield b"x" * 1024

        async with http.post(topic_server.url, data=chunks()) as resp:
            chunked = (resp.status, await resp.json(content_type=None))
    assert status == 413 and answer["error"]["code"] == INVALID_REQUEST
    assert "exceeds the limit" in answer["error"]["message"]
    assert chunked[0] == 413 and chunked[1]["error"]["code"] == INVALID_REQUEST


async def test_a_burst_of_1000_bad_requests_then_good_ones(topic_server: AgentServer) -> None:
    calls = await recorded_calls()
    good_payload = calls["topic_analysis"].payload()
    connector = aiohttp.TCPConnector(limit=50)
    async with aiohttp.ClientSession(connector=connector) as http:
        bodies = [GARBAGE[i % len(GARBAGE)] for i in range(1000)]
        answers = await asyncio.gather(*(post(http, topic_server.url, b) for _, b, _ in bodies))
    wrong = [
        (what, a)
        for (what, _, code), (_, a) in zip(bodies, answers, strict=True)
        if a["error"]["code"] != code
    ]
    assert not wrong
    assert topic_server.stats.error_count() >= 1000
    async with A2AClient({"topic_analysis": topic_server.url}) as client:
        results = await asyncio.gather(
            *(client.send("topic_analysis", data=good_payload) for _ in range(20))
        )
    assert all(isinstance(r, Task) and r.state is TaskState.COMPLETED for r in results)
