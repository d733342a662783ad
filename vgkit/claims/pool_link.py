"""Connection pooling across a network link: the claim per link type.

On loopback a new connection costs CPU and no round trip; the claim of a 60%
improvement is about a network. The network lab (``vgkit.netlab``) puts the
client and ``vgkit serve`` on two hosts joined by emulated links, and the same
comparison as :func:`~vgkit.claims.pool.measure_pool` (PooledClient against a
new connection per request, the same A2A SendMessage, closed loop) runs per
link and per scheme: a new TCP connection costs one round trip before its
request, a new TLS 1.3 connection two.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from vgkit.a2a.protocol import encode_send_request
from vgkit.agents import AgentCall
from vgkit.claims.base import TOPIC, Measurement
from vgkit.claims.registry import claim_section
from vgkit.metrics import MetricsRegistry
from vgkit.models import VideoRequest

__all__ = ["DEFAULT_LINKS", "measure_pool_links"]

#: Round-trip times measured by default: a LAN across a switch or two, and a region.
DEFAULT_LINKS = ("1ms", "10ms")
AGENT = "topic_analysis"


@claim_section(
    "pooling-links",
    "Connection pooling across emulated links",
    order=11,
    parameters={
        "links": "link_rtts",
        "requests": "pool_requests",
        "concurrency": "pool_concurrency",
        "across": "across_link",
    },
)
async def measure_pool_links(
    links: Sequence[str] = DEFAULT_LINKS,
    *,
    requests: int = 300,
    concurrency: int = 10,
    schemes: Sequence[str] = ("http", "https"),
    across: bool | str = "auto",
) -> list[Measurement]:
    """Pooled against a new connection per request across each link, per scheme.

    One row per (link, scheme): requests/s pooled vs new, the verdict on the
    claim (ratio >= 1.6) and, in the notes, the mean latencies, the latency cut
    and the round trip the lab measured. Needs root, iproute2 and nftables:
    ``across`` is the report's switch (``"auto"``: no rows, with the reason
    printed, where this machine cannot run the lab; see ``netlab.skip_reason``).
    """
    from vgkit.agents import SPECS
    from vgkit.netlab import Lab, LinkConfig, skip_reason
    from vgkit.netlab.services import serve_agents

    if reason := skip_reason(across):
        print(reason)
        return []

    body = encode_send_request(AgentCall(SPECS[AGENT], VideoRequest(topic=TOPIC)).payload())
    rows: list[Measurement] = []
    async with Lab(["client", "agents"], link=LinkConfig.parse(rtt=links[0])) as lab:
        for scheme in schemes:
            secure = scheme == "https"
            async with serve_agents(lab, "agents", [AGENT], tls=secure) as server:
                for link in links:
                    lab.shape(LinkConfig.parse(rtt=link))  # new connections see the new link
                    rtt = lab.measure_rtt("client", "agents")["rtt"]
                    with lab.inside("client"):
                        pooled, fresh = await _pooled_vs_new(
                            server.url(AGENT), body, server.ca_file, requests, concurrency
                        )
                    rows.append(_row(link, scheme, concurrency, pooled, fresh, rtt, lab.delay))
    return rows


async def _pooled_vs_new(
    url: str, body: bytes, ca_file: str | None, requests: int, concurrency: int
) -> tuple[dict[str, float], dict[str, float]]:
    import aiohttp

    from vgkit.a2a.tls import client_context
    from vgkit.client import PoolConfig, PooledClient
    from vgkit.loadtest import FunctionTarget, LoadTest

    headers = {"Content-Type": "application/json"}
    load = LoadTest(mode="closed", users=concurrency, max_requests=requests, duration=120)
    warm = LoadTest(mode="closed", users=concurrency, max_requests=min(50, requests))
    config = PoolConfig(health_check_interval=None, ca_file=ca_file)
    async with PooledClient(config, services={AGENT: url}, metrics=MetricsRegistry()) as pool:

        async def pooled(_: Any) -> None:
            response = await pool.post(AGENT, data=body, headers=headers)
            response.json()

        await warm.run(FunctionTarget("warm-up", pooled), metrics=MetricsRegistry())
        with_pool = await load.run(FunctionTarget("pooled", pooled), metrics=MetricsRegistry())
    tls = client_context(ca_file) if ca_file else None
    connector = aiohttp.TCPConnector(force_close=True, limit=0, ssl=tls if tls else True)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def fresh(_: Any) -> None:
            async with session.post(url, data=body, headers=headers) as response:
                orjson.loads(await response.read())

        without = await load.run(FunctionTarget("new", fresh), metrics=MetricsRegistry())

    def figures(result: Any) -> dict[str, float]:
        latency = result.summary()["latency_ms"]["mean"] or 0.0
        return {"throughput": result.throughput, "latency_ms": latency, "errors": result.errors}

    return figures(with_pool), figures(without)


def _row(
    link: str,
    scheme: str,
    concurrency: int,
    pooled: dict[str, float],
    fresh: dict[str, float],
    rtt: float,
    delay: str,
) -> Measurement:
    ratio = pooled["throughput"] / fresh["throughput"] if fresh["throughput"] else 0.0
    cut = 1 - pooled["latency_ms"] / fresh["latency_ms"] if fresh["latency_ms"] else 0.0
    handshake = "TLS" if scheme == "https" else "TCP"
    return Measurement(
        section="Connection Pooling",
        claim="60% performance improvement via connection pooling",
        metric=(
            f"requests/s, pooled vs a new connection per request (c={concurrency}), "
            f"across a {link} link, {scheme}"
        ),
        measured=pooled["throughput"],
        unit="req/s",
        baseline=fresh["throughput"],
        baseline_label=f"a new {handshake} connection per request, same link",
        target="ratio >= 1.6 (the claim)",
        met=ratio >= 1.6,
        notes=(
            f"mean latency {pooled['latency_ms']:.2f} vs {fresh['latency_ms']:.2f} ms "
            f"({cut:.0%} lower); round trip measured {rtt * 1e3:.2f} ms ({delay} delay)"
        ),
    )
