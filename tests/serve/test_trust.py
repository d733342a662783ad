"""Trusted hops: a vgkit peer's requests skip re-validation and keep no task; others do not."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest

from vgkit import Orchestrator, VideoRequest
from vgkit.a2a.protocol import INVALID_PARAMS, TASK_NOT_FOUND, Task, TaskState
from vgkit.a2a.signing import auth_headers
from vgkit.agents import SPECS, A2ABackend, AgentCall, TemplateBackend
from vgkit.cli import build_parser
from vgkit.client import A2AClient
from vgkit.errors import InvalidRequestError, RpcError
from vgkit.metrics import MetricsRegistry
from vgkit.models import VideoRequest as Request
from vgkit.serve import AgentServer, AuthConfig, PipelineAgent, ServeConfig, start_cluster
from vgkit.serve.config import ClusterConfig
from vgkit.serve.launcher import Cluster

from .conftest import recorded_calls

SECRET = "peers-share-this"


def _topic_server(**config: object) -> AgentServer:
    return AgentServer(
        PipelineAgent(SPECS["topic_analysis"], TemplateBackend()),
        config=ServeConfig(metrics=MetricsRegistry(), **config),  # type: ignore[arg-type]
    )


@pytest.fixture
async def trusted_cluster() -> AsyncIterator[Cluster]:
    config = ServeConfig(metrics=MetricsRegistry(), trust_peers=True)
    async with await start_cluster(list(SPECS), free_ports=True, config=config) as c:
        yield c


async def test_a_trusted_blocking_send_answers_the_same_artifact_and_keeps_no_task(
    trusted_cluster: Cluster,
) -> None:
    calls = await recorded_calls()
    async with A2AClient(trusted_cluster.endpoints()) as client:
        for name, call in calls.items():
            task = await client.send(name, data=call.payload())
            assert isinstance(task, Task) and task.state is TaskState.COMPLETED
            expected = (await TemplateBackend().run(call)).to_json()
            assert call.spec.output.model_validate(task.artifacts[0].parts[0].data).to_json() == (
                expected
            )
            with pytest.raises(RpcError) as missing:  # nobody polls it, so nothing is kept
                await client.get_task(name, task.id)
            assert missing.value.code == TASK_NOT_FOUND
        assert all(s.tasks.running == 0 and len(s.tasks) == 0
                   for s in trusted_cluster.servers.values())  # fmt: skip
        # A send that returns at once is polled, so it is kept as before.
        name, call = next(iter(calls.items()))
        started = await client.send(name, data=call.payload(), blocking=False)
        assert isinstance(started, Task)
        assert (await client.get_task(name, started.id)).id == started.id


async def test_remote_plans_over_trusted_hops_are_byte_identical(trusted_cluster: Cluster) -> None:
    request = VideoRequest(topic="How tides follow the moon", style="viral", seed=3)
    local = await Orchestrator().run(request)
    async with Orchestrator(backend=A2ABackend(trusted_cluster.endpoints())) as orchestrator:
        remote = await orchestrator.run(request)
    assert remote.ok
    for platform in request.platforms:
        assert remote.plan(platform).to_json() == local.plan(platform).to_json()


async def _send_raw(
    url: str, payload: object, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    body = orjson.dumps(
        {
            "jsonrpc": "2.0",
            "id": 7,
            "method": "SendMessage",
            "params": {"message": {"role": "ROLE_USER", "parts": [{"data": payload}]}},
        }
    )
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, data=body, headers={**(headers or {}), **auth_headers(body)}) as resp,
    ):
        assert resp.status == 200
        answer: dict[str, Any] = orjson.loads(await resp.read())
        return answer


async def test_an_untrusted_malformed_request_is_still_refused_with_a_clear_error() -> None:
    call = (await recorded_calls())["topic_analysis"]
    payload = call.payload()
    bad = {**payload, "request": {**payload["request"], "platforms": ["myspace"]}}
    async with _topic_server() as server:
        answer = await _send_raw(server.url, bad)
    error = answer["error"]
    assert error["code"] == INVALID_PARAMS
    assert error["message"].startswith("invalid request: platforms: unknown platform 'myspace'")
    empty = {**payload, "request": {**payload["request"], "topic": "   "}}
    async with _topic_server() as server:
        answer = await _send_raw(server.url, empty)
    assert "topic is empty" in answer["error"]["message"]


async def test_a_signed_request_is_trusted_and_a_trusted_hop_still_refuses_a_wrong_shape() -> None:
    call = (await recorded_calls())["topic_analysis"]
    auth = AuthConfig(hmac_secret=SECRET)
    async with _topic_server(auth=auth) as server:
        async with A2AClient({"topic_analysis": server.url}, hmac_secret=SECRET) as client:
            task = await client.send("topic_analysis", data=call.payload())
            assert isinstance(task, Task) and task.state is TaskState.COMPLETED
            assert len(server.tasks) == 0  # a signed peer's blocking send keeps no task
        # Trusted hops skip the request's validators, not its shape: a peer that sends
        # something that is not a whole request gets a JSON-RPC error, not a crash.
        shapeless = {**call.payload(), "request": {"topic": "no platforms"}}
        body = orjson.dumps(
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "SendMessage",
                "params": {"message": {"role": "ROLE_USER", "parts": [{"data": shapeless}]}},
            }
        )
        headers = auth_headers(body, hmac_secret=SECRET)
        async with (
            aiohttp.ClientSession() as http,
            http.post(server.url, data=body, headers=headers) as resp,
        ):
            error = orjson.loads(await resp.read())["error"]
    assert error["code"] == INVALID_PARAMS
    assert "invalid request from a peer (KeyError" in error["message"]


def test_from_peer_rebuilds_the_validated_request() -> None:
    request = VideoRequest(topic="Knots for sailors", platforms=["tiktok"], duration=30, seed=9)
    rebuilt = Request.from_peer(request.model_dump(mode="json"))
    assert rebuilt == request and rebuilt.to_json() == request.to_json()
    assert rebuilt.request_id == request.request_id
    with pytest.raises(InvalidRequestError, match="invalid request from a peer"):
        Request.from_peer({"topic": "x"})
    call = AgentCall(spec=SPECS["topic_analysis"], request=request)
    again = AgentCall.from_payload(call.payload(), SPECS, trusted=True)
    assert again.canonical() == call.canonical()


def test_trust_peers_on_the_command_line() -> None:
    parser = build_parser()
    args: argparse.Namespace = parser.parse_args(["serve", "--trust-peers"])
    assert args.trust_peers is True
    assert ClusterConfig(trust_peers=True).serve_config().trust_peers is True
    assert ClusterConfig().serve_config().trust_peers is False
