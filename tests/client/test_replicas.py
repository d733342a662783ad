"""Replicas under load: one killed mid-load, and a server restarted under a warm pool.

The servers are real `vgkit serve` processes, killed with SIGKILL like a crash.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp

from vgkit.a2a.protocol import Task, TaskState
from vgkit.client import A2AClient, BreakerConfig, PoolConfig, RetryPolicy
from vgkit.errors import VgkitError
from vgkit.metrics import MetricsRegistry

from ..serve.conftest import recorded_calls
from .conftest import ServeProcess

AGENT = "topic_analysis"


async def _wait_ready(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while True:
            try:
                async with http.get(url + "/healthz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not come back")
            await asyncio.sleep(0.05)


def _outcome(result: Any) -> str:
    if isinstance(result, Task) and result.state is TaskState.COMPLETED:
        return "ok"
    assert isinstance(result, VgkitError), f"not a clear error: {result!r}"
    return "error"


async def test_one_of_two_replicas_killed_mid_load(
    serve_process: type[ServeProcess], tmp_path
) -> None:
    first, second = serve_process((AGENT,), tmp_path), serve_process((AGENT,), tmp_path)
    first.start()
    second.start()
    payload = (await recorded_calls())[AGENT].payload()
    config = PoolConfig(
        retry=RetryPolicy(attempts=4, backoff=0.02, backoff_max=0.2),
        breaker=BreakerConfig(failure_threshold=3, reset_timeout=30),
        request_timeout=10,
        health_check_interval=None,
    )
    client = A2AClient(
        {AGENT: [first.url(AGENT), second.url(AGENT)]},
        pool_config=config,
        metrics=MetricsRegistry(),
    )
    done = 0
    limit = asyncio.Semaphore(20)

    async def one() -> Any:
        nonlocal done
        async with limit:
            try:
                return await client.send(AGENT, data=payload)
            finally:
                done += 1

    async def killer() -> None:
        while done < 150:
            await asyncio.sleep(0.005)
        first.kill()

    async with client:
        tasks = [asyncio.create_task(one()) for _ in range(600)]
        kill = asyncio.create_task(killer())
        results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 45)
        await kill
        stats = client.pool.stats()["endpoints"]
    outcomes = [_outcome(r) for r in results]
    assert len(outcomes) == 600  # none lost, none hanging
    assert outcomes.count("ok") == 600, [r for r in results if not isinstance(r, Task)][:3]
    dead, alive = stats[first.url(AGENT)], stats[second.url(AGENT)]
    assert dead["failures"] >= 1 and dead["circuit"] == "open"
    assert alive["requests"] > dead["requests"]


async def test_restart_under_a_warm_pool(serve_process: type[ServeProcess], tmp_path) -> None:
    server = serve_process((AGENT,), tmp_path)
    server.start()
    url = server.url(AGENT)
    payload = (await recorded_calls())[AGENT].payload()
    config = PoolConfig(
        retry=RetryPolicy(attempts=5, backoff=0.05, backoff_max=0.5),
        breaker=BreakerConfig(failure_threshold=50),
        health_check_interval=None,
    )
    async with A2AClient({AGENT: url}, pool_config=config, metrics=MetricsRegistry()) as client:
        warm = await asyncio.gather(*(client.send(AGENT, data=payload) for _ in range(10)))
        assert all(_outcome(r) == "ok" for r in warm)
        assert client.pool.stats()["totals"]["open"] >= 2  # kept-alive connections
        server.kill()
        server.start()
        await _wait_ready(url)
        created_before = client.pool.stats()["totals"]["created"]
        results = await asyncio.gather(
            *(client.send(AGENT, data=payload) for _ in range(50)), return_exceptions=True
        )
        errors = [r for r in results if not isinstance(r, Task)]
        assert not errors, errors[:3]  # no "server disconnected" reached a caller
        assert client.pool.stats()["totals"]["created"] > created_before  # fresh connections
