"""The official a2a-sdk (1.x) client against vgkit's servers, in both protocol versions.

A 1.x client reading ``/.well-known/agent-card.json`` picks the 1.0 interface
(``SendMessage`` ...); reading the older ``/.well-known/agent.json`` it finds a
0.3 card and speaks 0.3 (``message/send`` ...). Either way it must fetch every
card, send a message and read the artifact back.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from a2a.client import A2ACardResolver, ClientConfig, ClientFactory
from a2a.helpers.proto_helpers import (
    get_data_parts,
    get_text_parts,
    new_data_part,
    new_message,
    new_text_part,
)
from a2a.types.a2a_pb2 import Role, SendMessageRequest, StreamResponse, TaskState

from vgkit import Orchestrator, VideoPlan
from vgkit.agents import TemplateBackend
from vgkit.serve.launcher import Cluster

from .conftest import recorded_calls

CARD_PATHS = {"1.0": "/.well-known/agent-card.json", "0.3": "/.well-known/agent.json"}


async def _collect(client: Any, parts: list[Any]) -> list[StreamResponse]:
    request = SendMessageRequest(message=new_message(parts, role=Role.ROLE_USER))
    return [event async for event in client.send_message(request)]


@pytest.mark.parametrize("version", ["1.0", "0.3"])
async def test_sdk_client_fetches_every_card_sends_and_reads_artifacts(
    cluster: Cluster, version: str
) -> None:
    calls = await recorded_calls()
    async with httpx.AsyncClient(timeout=30) as http:
        factory = ClientFactory(ClientConfig(streaming=False, httpx_client=http))
        for name, server in cluster.servers.items():
            base = server.url.rstrip("/")
            card = await A2ACardResolver(http, base, CARD_PATHS[version]).get_agent_card()
            assert card.name == name and card.skills
            (interface,) = [
                i for i in card.supported_interfaces if i.protocol_version.startswith(version)
            ] or [None]
            assert interface is not None and interface.url == server.url
            client = await factory.create_from_url(base, relative_card_path=CARD_PATHS[version])
            if name == "orchestrator":
                parts = [
                    new_text_part("Sourdough for beginners"),
                    new_data_part({"platforms": ["tiktok"], "seed": 2}),
                ]
            else:
                parts = [new_data_part(calls[name].payload())]
            (response,) = await _collect(client, parts)
            await client.close()
            task = response.task
            assert task.status.state == TaskState.TASK_STATE_COMPLETED, (name, version)
            artifact = task.artifacts[0]
            (data,) = get_data_parts(artifact.parts)
            if name == "orchestrator":
                plan = VideoPlan.model_validate(data)
                local = await Orchestrator().run(
                    topic="Sourdough for beginners", platforms=["tiktok"], seed=2
                )
                assert plan.to_json() == local.plan("tiktok").to_json()
                assert get_text_parts(artifact.parts)[0].startswith("# ")
            else:
                call = calls[name]
                expected = await TemplateBackend().run(call)
                assert call.spec.output.model_validate(data).to_json() == expected.to_json()


@pytest.mark.parametrize("version", ["1.0", "0.3"])
async def test_sdk_client_streams_progress_and_plans(cluster: Cluster, version: str) -> None:
    base = cluster.servers["orchestrator"].url.rstrip("/")
    async with httpx.AsyncClient(timeout=30) as http:
        factory = ClientFactory(ClientConfig(streaming=True, httpx_client=http))
        client = await factory.create_from_url(base, relative_card_path=CARD_PATHS[version])
        events = await _collect(client, [new_text_part("Composting at home")])
        await client.close()
    kinds = [e.WhichOneof("payload") for e in events]
    assert kinds[0] == "task"
    assert kinds.count("artifact_update") == 3  # one plan per platform
    assert kinds.count("status_update") > 20  # progress from the orchestrator's events
    last = events[-1].status_update
    assert last.status.state == TaskState.TASK_STATE_COMPLETED
