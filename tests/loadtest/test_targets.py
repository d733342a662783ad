"""Targets: a real HTTP server on 127.0.0.1, the in-process orchestrator, the CLI registry."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from vgkit.errors import LoadTestError
from vgkit.loadtest import (
    HttpTarget,
    LoadTest,
    NoopTarget,
    OrchestratorTarget,
    Target,
    Workload,
    make_target,
)
from vgkit.metrics import MetricsRegistry


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """A JSON endpoint on a free loopback port that fails requests about black holes."""
    received: list[dict[str, Any]] = []

    async def handle(request: web.Request) -> web.Response:
        body = await request.json()
        received.append(body)
        if "black holes" in body["topic"]:
            return web.json_response({"error": "no"}, status=503)
        return web.json_response({"ok": True, "topic": body["topic"]})

    app = web.Application()
    app.router.add_post("/generate", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}/generate", received
    await runner.cleanup()


async def test_http_target_sends_each_item_and_counts_error_statuses(
    server: tuple[str, list[dict[str, Any]]], registry: MetricsRegistry
) -> None:
    url, received = server
    items = Workload.from_csv(zipf=0.5, seed=11).sample(120)
    async with HttpTarget(url, connections=8) as target:
        result = await LoadTest(rate=400, duration=5, max_requests=120).run(
            target, items, metrics=registry
        )
    assert sorted(received, key=str) == sorted((i.as_dict() for i in items), key=str)
    failing = sum("black holes" in i.topic for i in items)
    assert failing > 0
    assert result.summary()["error_kinds"] == {"HTTP 503": failing}
    assert result.ok == 120 - failing


async def test_http_target_counts_a_refused_connection(registry: MetricsRegistry) -> None:
    from tests.conftest import free_port

    port = free_port()
    async with HttpTarget(f"http://127.0.0.1:{port}/x") as target:
        result = await LoadTest(rate=100, duration=1, max_requests=3).run(
            target, Workload.from_csv(), metrics=registry
        )
    assert result.errors == 3
    assert result.summary()["error_kinds"] == {f"connection refused at 127.0.0.1:{port}": 3}


@pytest.mark.parametrize(
    "url", ["http://10.1.2.3/x", "http://example.com/x", "ftp://127.0.0.1/x", "127.0.0.1:80"]
)
def test_http_target_only_loads_this_machine(url: str) -> None:
    with pytest.raises(LoadTestError):
        HttpTarget(url)


def test_loopback_spellings_are_accepted() -> None:
    for url in (
        "http://127.0.0.1:1/x",
        "http://localhost:1/",
        "http://[::1]:1/",
        "http://127.9.9.9/",
    ):
        assert HttpTarget(url).url == url


async def test_orchestrator_target_generates_the_requested_plans(registry: MetricsRegistry) -> None:
    items = Workload.from_csv(seed=2).sample(12)
    async with OrchestratorTarget(metrics=registry) as target:
        result = await LoadTest(mode="closed", users=3, max_requests=12).run(
            target, items, metrics=registry
        )
    assert result.ok == 12
    frame = registry.to_frame()
    runs = frame[(frame["sample"] == "vgkit_runs_total") & (frame["ok"] == "true")]
    assert runs["value"].sum() == 12
    quality = frame[frame["sample"] == "vgkit_quality_score_count"]
    platforms = {i.platform.value for i in items}
    assert set(quality["platform"]) == platforms


async def test_orchestrator_target_counts_incomplete_runs(registry: MetricsRegistry) -> None:
    from vgkit.agents import TemplateBackend
    from vgkit.agents.base import AgentCall
    from vgkit.models import Model

    class NoShots(TemplateBackend):
        async def run(self, call: AgentCall) -> Model:
            if call.spec.step == "shots":
                raise RuntimeError("shot describer is down")
            return await super().run(call)

    async with OrchestratorTarget(backend=NoShots(), metrics=registry) as target:
        result = await LoadTest(max_requests=4, rate=100).run(
            target, Workload.from_csv(), metrics=registry
        )
    assert result.summary()["error_kinds"] == {"incomplete": 4}


def test_targets_by_name() -> None:
    noop = make_target("noop", {"delay": "0.5"})
    assert isinstance(noop, NoopTarget) and noop.delay == 0.5
    assert isinstance(noop, Target)
    with pytest.raises(
        LoadTestError, match="unknown target 'warp'; choose from agent, cache, http"
    ):
        make_target("warp")
    with pytest.raises(LoadTestError, match="has no option colour; it accepts: delay"):
        make_target("noop", {"colour": "red"})
    with pytest.raises(LoadTestError, match="needs a URL"):
        make_target("http")
    with pytest.raises(LoadTestError, match="must be a number"):
        make_target("noop", {"delay": "soon"})
