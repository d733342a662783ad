"""Connection pooling: the PooledClient against a new connection per request."""

from __future__ import annotations

import time
from typing import Any

import orjson

from vgkit.a2a.protocol import encode_send_request
from vgkit.agents import AgentCall
from vgkit.claims.base import TOPIC, Measurement
from vgkit.metrics import MetricsRegistry
from vgkit.models import VideoRequest
from vgkit.serve.process import ServeProcess


async def measure_pool(*, requests: int = 300, concurrency: int = 10) -> list[Measurement]:
    """PooledClient against a new TCP connection per request, to a real ``vgkit serve``.

    Both send the same A2A SendMessage (a real topic-analysis call) closed-loop
    with ``concurrency`` users; connections are counted from the sockets the
    pool really opened.
    """
    import aiohttp

    from vgkit.agents import SPECS
    from vgkit.client import PoolConfig, PooledClient
    from vgkit.loadtest import FunctionTarget, LoadTest

    call = AgentCall(SPECS["topic_analysis"], VideoRequest(topic=TOPIC))
    body = encode_send_request(call.payload())
    headers = {"Content-Type": "application/json"}
    load = LoadTest(mode="closed", users=concurrency, max_requests=requests, duration=120)
    defaults = PoolConfig()
    async with ServeProcess(["topic_analysis"]) as server:
        url = server.url("topic_analysis")
        services = {"topic_analysis": url}
        async with PooledClient(defaults, services=services, metrics=MetricsRegistry()) as pool:

            async def pooled(_: Any) -> None:
                response = await pool.post("topic_analysis", data=body, headers=headers)
                response.json()

            await LoadTest(mode="closed", users=concurrency, max_requests=50).run(
                FunctionTarget("warm-up", pooled), metrics=MetricsRegistry()
            )
            pool.reset_stats()
            with_pool = await load.run(FunctionTarget("pooled", pooled), metrics=MetricsRegistry())
            totals = pool.stats()["totals"]
            started = time.perf_counter()
            healthy = await pool.check_health()
            health_check = time.perf_counter() - started
        connector = aiohttp.TCPConnector(force_close=True, limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def fresh(_: Any) -> None:
                async with session.post(url, data=body, headers=headers) as response:
                    orjson.loads(await response.read())

            without = await load.run(FunctionTarget("new", fresh), metrics=MetricsRegistry())
    reuse = float(totals["reuse_rate"])
    opened_per_request = totals["created"] / max(1, with_pool.ok)
    latency_pooled = with_pool.summary()["latency_ms"]["mean"] or 0.0
    latency_new = without.summary()["latency_ms"]["mean"] or 0.0
    section = "Connection Pooling"
    improvement = with_pool.throughput / without.throughput if without.throughput else 0.0
    interval = defaults.health_check_interval or 300.0
    return [
        Measurement(
            section=section,
            claim="60% performance improvement via connection pooling",
            metric=f"requests/s, pooled vs a new connection per request (c={concurrency})",
            measured=with_pool.throughput,
            unit="req/s",
            baseline=without.throughput,
            baseline_label="a new TCP connection per request",
            target="ratio >= 1.6 (the claim); the issue asks >= 2",
            met=improvement >= 1.6,
        ),
        Measurement(
            section=section,
            claim="Reduced connection overhead: ~60% as claimed",
            metric="TCP connections opened per request after warm-up",
            measured=opened_per_request,
            unit="conn/req",
            baseline=1.0,
            baseline_label="one per request without a pool",
            target="overhead cut by >= 60% (ratio <= 0.4)",
            met=opened_per_request <= 0.4,
            notes=(
                f"mean latency {latency_pooled:.2f} ms vs {latency_new:.2f} ms "
                f"({100 * (1 - latency_pooled / latency_new):.0f}% lower)"
                if latency_new
                else ""
            ),
        ),
        Measurement(
            section=section,
            claim="Connection reuse rate: typically 80-95% after warmup",
            metric="true TCP reuse rate after warm-up",
            measured=reuse,
            unit="fraction",
            target=">= 0.8 (the claim); vgkit aims >= 0.95",
            met=reuse >= 0.8,
            notes=f"{int(totals['created'])} connections opened for {with_pool.ok} requests",
        ),
        Measurement(
            section=section,
            claim="Health check overhead: minimal (5-minute intervals)",
            metric="share of time spent in health checks at the default interval",
            measured=health_check / interval,
            unit="fraction",
            target="< 0.1%",
            met=health_check / interval < 0.001 and all(healthy.values()),
            notes=(
                f"one check of {len(healthy)} endpoint's agent card took "
                f"{health_check * 1000:.2f} ms"
            ),
        ),
        Measurement(
            section=section,
            claim="Defaults: 10 connections per host, 30 s keep-alive, 5-minute health checks",
            metric="PoolConfig defaults match the original",
            measured=float(
                (defaults.limit_per_host, defaults.keepalive_timeout, interval) == (10, 30, 300)
            ),
            unit="bool",
            target="1",
            met=(defaults.limit_per_host, defaults.keepalive_timeout, interval) == (10, 30, 300),
        ),
    ]
