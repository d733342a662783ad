"""The pooled client counts real TCP connections, balances, checks health, adapts."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from vgkit.client import AdaptiveSizing, PoolConfig, PooledClient
from vgkit.errors import ConfigError, RequestTimeoutError
from vgkit.metrics import MetricsRegistry

from .conftest import FaultyServer

BODY = {"jsonrpc": "2.0", "id": 1, "method": "m"}


def make(registry: MetricsRegistry | None = None, **kw: Any) -> PooledClient:
    config = PoolConfig(health_check_interval=None, **kw)
    return PooledClient(config, metrics=registry or MetricsRegistry())


async def test_sequential_requests_reuse_one_tcp_connection(faulty: FaultyServer) -> None:
    async with make() as client:
        for _ in range(50):
            assert (await client.post(faulty.url, "/", json=BODY)).status == 200
        totals = client.stats()["totals"]
    assert len(faulty.peers) == 1  # the server saw one client socket
    assert totals["created"] == 1 and totals["reused"] == 49
    assert totals["reuse_rate"] == pytest.approx(0.98)
    assert totals["requests_per_connection"] == 50


async def test_concurrency_is_capped_per_host_and_waits_are_measured(faulty: FaultyServer) -> None:
    faulty.delay = 0.02
    async with make(limit_per_host=4) as client:
        await asyncio.gather(*(client.post(faulty.url, "/", json=BODY) for _ in range(24)))
        totals = client.stats()["totals"]
    assert len(faulty.peers) == totals["created"] <= 4
    assert totals["created"] + totals["reused"] == 24
    assert totals["waits"] >= 16 and totals["wait_seconds"] > 0


async def test_the_total_limit_spans_origins(
    faulty_pair: tuple[FaultyServer, FaultyServer],
) -> None:
    a, b = faulty_pair
    a.delay = b.delay = 0.02
    async with make(limit=3) as client:
        await asyncio.gather(
            *(client.post(s.url, "/", json=BODY) for s in (a, b) for _ in range(6))
        )
        totals = client.stats()["totals"]
        assert client._global.peak == 3  # never more than 3 requests on the wire
    assert a.hits + b.hits == 12 and totals["waits"] >= 9


async def test_closed_connections_are_counted(faulty: FaultyServer) -> None:
    faulty.close_connections = True
    async with make() as client:
        for _ in range(5):
            await client.post(faulty.url, "/", json=BODY)
        await asyncio.sleep(0.05)
        totals = client.stats()["totals"]
    assert len(faulty.peers) == 5
    assert totals == {**totals, "created": 5, "reused": 0, "closed": 5, "open": 0}


async def test_stats_frame_and_metrics(faulty: FaultyServer) -> None:
    registry = MetricsRegistry()
    async with make(
        registry,
    ) as client:
        for _ in range(3):
            await client.post(faulty.url, "/", json=BODY)
        frame = client.stats_frame()
        text = registry.exposition().decode()
    assert list(frame["endpoint"]) == [faulty.url]
    assert frame.loc[0, "requests"] == 3 and frame.loc[0, "conn_created"] == 1
    label = f'client="{client.name}",origin="http://127.0.0.1:{faulty.port}"'
    assert f"vgkit_pool_connections_created_total{{{label}}} 1.0" in text
    assert f"vgkit_pool_connections_reused_total{{{label}}} 2.0" in text
    count = f'client="{client.name}",endpoint="{faulty.url}"'
    assert f"vgkit_pool_request_duration_seconds_count{{{count}}} 3.0" in text


async def test_the_request_deadline_bounds_a_slow_server(faulty: FaultyServer) -> None:
    faulty.delay = 5
    async with make(request_timeout=0.2) as client:
        loop = asyncio.get_running_loop()
        start = loop.time()
        with pytest.raises(RequestTimeoutError, match="in time"):
            await client.post(faulty.url, "/", json=BODY, idempotent=True)
        assert loop.time() - start < 1.0


async def test_least_outstanding_balances_replicas(
    faulty_pair: tuple[FaultyServer, FaultyServer],
) -> None:
    a, b = faulty_pair
    a.delay = b.delay = 0.01
    async with make() as client:
        client.register("agent", [a.url, b.url])
        for _ in range(3):
            await asyncio.gather(*(client.post("agent", "/", json=BODY) for _ in range(20)))
    assert a.hits + b.hits == 60 and min(a.hits, b.hits) >= 25


async def test_health_checks_take_failing_endpoints_out_and_back(
    faulty_pair: tuple[FaultyServer, FaultyServer],
) -> None:
    a, b = faulty_pair
    config = PoolConfig(health_check_interval=0.05)
    async with PooledClient(
        config, services={"agent": [a.url, b.url]}, metrics=MetricsRegistry()
    ) as client:
        b.healthy = False
        assert await client.check_health() == {a.url: True, b.url: False}
        before = b.hits
        await asyncio.gather(*(client.post("agent", "/", json=BODY) for _ in range(10)))
        assert b.hits == before and a.hits == 10
        b.healthy = True
        await client.post("agent", "/", json=BODY)  # starts the background loop
        for _ in range(100):
            if all(e.healthy for e in client.endpoints("agent")):
                break
            await asyncio.sleep(0.05)
        assert all(e.healthy for e in client.endpoints("agent"))
        assert client.stats()["endpoints"][b.url]["health_checks"] >= 2
        await asyncio.gather(*(client.post("agent", "/", json=BODY) for _ in range(10)))
        assert b.hits > before


async def test_idle_origins_are_closed_and_reopened(faulty: FaultyServer) -> None:
    async with make() as client:
        await client.post(faulty.url, "/", json=BODY)
        assert await client.close_idle(0) == 1
        await asyncio.sleep(0.05)
        assert client.stats()["totals"]["open"] == 0
        assert (await client.post(faulty.url, "/", json=BODY)).status == 200
        assert client.stats()["totals"]["created"] == 2


async def test_adaptive_sizing_grows_under_load_and_shrinks_when_idle(faulty: FaultyServer) -> None:
    faulty.delay = 0.03
    adaptive = AdaptiveSizing(min_per_host=2, max_per_host=16, interval=0.05)
    async with make(adaptive=adaptive) as client:
        for _ in range(5):
            await asyncio.gather(*(client.post(faulty.url, "/", json=BODY) for _ in range(32)))
        grown = max(client.limits().values())
        for _ in range(100):  # idle: one step down per interval
            await asyncio.sleep(0.05)
            if max(client.limits().values()) == 2:
                break
        shrunk = max(client.limits().values())
    assert grown >= 8 and shrunk == 2
    assert len(faulty.peers) > 2


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(ConfigError, match="limit_per_host"):
        PoolConfig(limit_per_host=0)
    client = make()
    with pytest.raises(ConfigError, match="absolute http"):
        client.register("agent", "ftp://x")
    with pytest.raises(ConfigError, match="unknown service"):
        client._candidates("nobody")
