"""Retries only when safe, jittered backoff, and the circuit breaker."""

from __future__ import annotations

import asyncio
import random
import time

import pytest

from tests.conftest import free_port
from vgkit.client import A2AClient, BreakerConfig, PoolConfig, PooledClient, RetryPolicy
from vgkit.errors import (
    CircuitOpenError,
    ConfigError,
    EndpointUnavailableError,
    RpcError,
    VgkitError,
)
from vgkit.metrics import MetricsRegistry

from .conftest import FaultyServer

FAST = RetryPolicy(attempts=3, backoff=0.01, backoff_max=0.05)


def pool() -> PooledClient:
    config = PoolConfig(retry=FAST, health_check_interval=None)
    return PooledClient(config, metrics=MetricsRegistry())


def test_backoff_is_full_jitter_under_a_growing_cap() -> None:
    policy = RetryPolicy(backoff=0.1, backoff_max=0.5)
    rng = random.Random(1)
    for retry, cap in [(1, 0.1), (2, 0.2), (3, 0.4), (4, 0.5), (9, 0.5)]:
        draws = [policy.delay(retry, rng) for _ in range(2000)]
        assert min(draws) >= 0 and max(draws) <= cap
        assert abs(sum(draws) / len(draws) - cap / 2) < cap * 0.05


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"attempts": 0}, "attempts must be at least 1"),
        ({"backoff": -0.1}, "backoff and backoff_max must be seconds >= 0"),
        ({"backoff_max": -1.0}, "backoff and backoff_max must be seconds >= 0"),
    ],
)
def test_a_bad_retry_policy_is_a_config_error(fields: dict[str, float], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        RetryPolicy(**fields)  # type: ignore[arg-type]
    assert isinstance(info.value, VgkitError)


async def test_503_is_retried_until_it_succeeds(faulty: FaultyServer) -> None:
    faulty.fail_503 = 2
    async with pool() as client:
        resp = await client.post(faulty.url, "/", json={"jsonrpc": "2.0", "id": 1, "method": "m"})
    assert resp.status == 200 and resp.attempts == 3 and faulty.hits == 3


async def test_503_beyond_the_attempts_is_a_clear_error(faulty: FaultyServer) -> None:
    faulty.fail_503 = 10
    async with pool() as client:
        with pytest.raises(EndpointUnavailableError, match="503"):
            await client.post(faulty.url, "/", json={})
    assert faulty.hits == 3


async def test_a_json_rpc_error_is_never_retried(faulty: FaultyServer) -> None:
    faulty.rpc_error = True
    async with A2AClient({"agent": faulty.url}, pool_config=PoolConfig(retry=FAST)) as client:
        with pytest.raises(RpcError) as info:
            await client.send("agent", text="hello")
    assert info.value.code == -32602 and faulty.hits == 1


async def test_refused_connections_are_retried_then_reported() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    async with pool() as client:
        start = time.monotonic()
        with pytest.raises(EndpointUnavailableError, match="could not connect") as info:
            await client.post(url, "/", json={})
    assert "3 attempts" in str(info.value) and time.monotonic() - start < 2
    assert client.endpoints()[0].failures == 3


async def test_a_dropped_connection_is_retried_only_when_idempotent(faulty: FaultyServer) -> None:
    async with pool() as client:
        faulty.drop = 1
        with pytest.raises(EndpointUnavailableError, match="dropped"):
            await client.post(faulty.url, "/", json={}, idempotent=False)
        assert faulty.hits == 1
        faulty.drop = 1
        resp = await client.post(faulty.url, "/", json={"id": 2}, idempotent=True)
        assert resp.status == 200 and resp.attempts == 2 and faulty.hits == 3


async def test_the_circuit_opens_fails_fast_and_recovers() -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    config = PoolConfig(
        health_check_interval=None,
        breaker=BreakerConfig(failure_threshold=2, reset_timeout=0.3),
        retry=RetryPolicy(attempts=1),
    )
    async with PooledClient(config, metrics=MetricsRegistry()) as client:
        for _ in range(2):
            with pytest.raises(EndpointUnavailableError):
                await client.get(url, "/")
        with pytest.raises(CircuitOpenError):
            await client.get(url, "/")
        assert client.endpoints()[0].failures == 2  # the open circuit did not even connect
        server = await FaultyServer(port=port).start()
        try:
            await asyncio.sleep(0.35)
            resp = await client.get(url, "/.well-known/agent-card.json")
            assert resp.status == 200
            assert client.stats()["endpoints"][url]["circuit"] == "closed"
        finally:
            await server.stop()
