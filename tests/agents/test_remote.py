"""Remote orchestration over A2A produces byte-identical plans."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from vgkit import Orchestrator, VideoRequest
from vgkit.agents import SPECS, A2ABackend, TemplateBackend
from vgkit.cli import main
from vgkit.errors import BackendError, ConfigError
from vgkit.metrics import MetricsRegistry
from vgkit.serve import ServeConfig, start_cluster
from vgkit.serve.launcher import Cluster

from ..serve.conftest import recorded_calls


@pytest.fixture
async def workers() -> AsyncIterator[Cluster]:
    names = list(SPECS)
    async with await start_cluster(
        names, free_ports=True, config=ServeConfig(metrics=MetricsRegistry())
    ) as c:
        yield c


@pytest.mark.parametrize("style", ["educational", "viral"])
async def test_remote_plans_are_byte_identical_on_all_three_platforms(
    workers: Cluster, style: str
) -> None:
    request = VideoRequest(
        topic="How solar panels turn sunlight into electricity", style=style, seed=11
    )
    local = await Orchestrator().run(request)
    backend = A2ABackend(workers.endpoints())
    async with Orchestrator(backend=backend) as orchestrator:
        remote = await orchestrator.run(request)
        stats = backend.client.stats()
        backend.client.pool.reset_stats()
        again = await orchestrator.run(request)
        second = backend.client.pool.stats()["totals"]
    assert again.plan("youtube").to_json() == remote.plan("youtube").to_json()
    assert second["created"] == 0 and second["reused"] == 28  # the warm pool carried run two
    assert remote.ok and len(remote.plans) == 3
    for platform in request.platforms:
        assert remote.plan(platform).to_json() == local.plan(platform).to_json()
    sent = sum(v for k, v in stats["messages"].items() if k.endswith("/ok"))
    assert sent == 1 + 9 * 3  # every agent call went over A2A


async def test_agents_without_endpoints_use_the_fallback(workers: Cluster) -> None:
    endpoints = {k: v for k, v in workers.endpoints().items() if k != "script_writer"}
    with pytest.raises(ConfigError, match="no endpoint for script_writer"):
        A2ABackend(endpoints)
    backend = A2ABackend(endpoints, fallback=TemplateBackend())
    async with Orchestrator(backend=backend) as orchestrator:
        result = await orchestrator.run(topic="Knots", platforms=["tiktok"])
    local = await Orchestrator().run(topic="Knots", platforms=["tiktok"])
    assert result.plan("tiktok").to_json() == local.plan("tiktok").to_json()
    assert not any(k.startswith("script_writer/") for k in backend.client.stats()["messages"])


async def test_a_dead_agent_fails_its_nodes_clearly(workers: Cluster) -> None:
    await workers.servers["cta_generator"].aclose()
    backend = A2ABackend(workers.endpoints())
    async with Orchestrator(backend=backend) as orchestrator:
        result = await orchestrator.run(topic="Knots", platforms=["tiktok"])
    assert not result.ok
    assert "could not connect" in result.failures["cta:tiktok"]
    call = (await recorded_calls())["cta_generator"]
    with pytest.raises(BackendError, match="closed"):
        await backend.run(call)  # the orchestrator closed its backend
    fresh = A2ABackend(workers.endpoints())
    with pytest.raises(BackendError, match="could not connect"):
        await fresh.run(call)
    await fresh.aclose()


def test_unknown_agents_in_the_configuration_are_refused() -> None:
    with pytest.raises(ConfigError, match="unknown agent 'scriptwriter'"):
        A2ABackend({"scriptwriter": "http://127.0.0.1:1"})
    with pytest.raises(ConfigError, match="must start with http"):
        A2ABackend({"script_writer": "127.0.0.1:1"})


async def test_cli_generate_with_agents_file_and_pairs(
    workers: Cluster, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    agents_file = tmp_path / "agents.json"
    agents_file.write_text(json.dumps({"agents": workers.endpoints()}))
    out_remote, out_local = tmp_path / "remote", tmp_path / "local"
    args = ["generate", "Knot tying for sailors", "-p", "tiktok", "--seed", "5"]
    code = await asyncio.to_thread(
        main, [*args, "--agents", str(agents_file), "--out", str(out_remote)]
    )
    assert code == 0
    assert await asyncio.to_thread(main, [*args, "--out", str(out_local)]) == 0
    assert (out_remote / "tiktok.json").read_bytes() == (out_local / "tiktok.json").read_bytes()
    pairs = [f"--agents={name}={urls[0]}" for name, urls in workers.endpoints().items()]
    assert await asyncio.to_thread(main, [*args, *pairs]) == 0
    assert await asyncio.to_thread(main, [*args, "--agents", "nobody=http://127.0.0.1:1"]) == 2
    assert "unknown agent 'nobody'" in capsys.readouterr().err
