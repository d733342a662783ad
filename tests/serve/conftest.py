"""Fixtures for the agent servers: real aiohttp servers on 127.0.0.1, free ports."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from vgkit import Orchestrator, VideoRequest
from vgkit.agents import SPECS, TemplateBackend
from vgkit.agents.base import AgentCall
from vgkit.metrics import MetricsRegistry
from vgkit.serve import AgentServer, PipelineAgent, ServeConfig, start_cluster
from vgkit.serve.launcher import Cluster


@pytest.fixture
async def cluster() -> AsyncIterator[Cluster]:
    """Every agent, each on its own free port, in this process."""
    async with await start_cluster(
        free_ports=True, config=ServeConfig(metrics=MetricsRegistry())
    ) as c:
        yield c


@pytest.fixture
async def topic_server() -> AsyncIterator[AgentServer]:
    """The topic-analysis agent alone, with a small body limit."""
    config = ServeConfig(max_body=64 * 1024, metrics=MetricsRegistry())
    async with AgentServer(
        PipelineAgent(SPECS["topic_analysis"], TemplateBackend()), config=config
    ) as server:
        yield server


async def recorded_calls(topic: str = "How solar panels work") -> dict[str, AgentCall]:
    """One real call per agent (tiktok), recorded from an in-process run."""
    calls: dict[str, AgentCall] = {}

    class Recorder(TemplateBackend):
        async def run(self, call: AgentCall) -> Any:
            calls.setdefault(call.spec.name, call)
            return await super().run(call)

    await Orchestrator(backend=Recorder()).run(VideoRequest(topic=topic, platforms=["tiktok"]))
    return calls
