"""PooledClient against a new connection per request across an emulated network link.

On loopback a new TCP connection costs CPU but no round trip; the original
claim of a 60% cut is about a network. Here the network lab (``vgkit.netlab``)
puts the client and ``vgkit serve`` on two hosts joined by links with a 1 ms
and a 10 ms round trip (netem where the kernel has it, else the lab's delaying
relay, which holds set-up and every chunk for the one-way delay), and the same
closed-loop comparison as ``bench_pool`` runs over http and https at
concurrency 1, 10 and 50. A new connection pays a round trip for TCP's
handshake (and one more for TLS 1.3's) before its request; a pooled one pays
only the request's.

Needs root, iproute2 and nftables; without them it prints why and returns no rows.
The relay runs on the server's host and its CPU is reported beside the server's.
The server runs with ``--trust-peers`` (the lean A2A path of vgkit's own hops).
"""

from __future__ import annotations

from benchmarks._common import Row, row
from benchmarks._load import Clients, Load, closed_loop, compare, process_cpu
from benchmarks._servers import AGENT, agent_call, load_average, send_body
from vgkit import netlab
from vgkit.netlab import Lab, LinkConfig
from vgkit.netlab.services import serve_agents

TITLE = "PooledClient vs a new connection per request over an emulated link (network lab)"
CONCURRENCY = (1, 10, 50)
LINKS = ("1ms", "10ms")
#: Requests per measurement by concurrency (a 10 ms link at c=1 does ~90 a second).
TOTAL = {1: 60, 10: 300, 50: 600}


async def run(quick: bool) -> list[Row]:
    missing = netlab.problems()
    if missing:
        print(f"bench_pool_link skipped: the network lab needs {' and '.join(missing)}")
        return []
    rounds = 1 if quick else 3
    body = send_body(await agent_call())
    rows: list[Row] = []
    with Lab(["client", "agents"], link=LinkConfig.parse(rtt=LINKS[0])) as lab:
        relay_pid = lab.relay_pids().get("agents")
        for link in LINKS:
            lab.shape(LinkConfig.parse(rtt=link))
            measured = lab.measure_rtt("client", "agents", samples=50)
            for tls in (False, True):
                async with serve_agents(lab, "agents", [AGENT], tls=tls,
                                        args=["--trust-peers"]) as server:  # fmt: skip
                    with lab.inside("client"):
                        clients = Clients(server.url(AGENT), body, ca_file=server.ca_file)
                        try:
                            for c in CONCURRENCY:
                                total = TOTAL[c] // (3 if quick else 1)
                                relay_before = process_cpu(relay_pid)
                                results = await compare(
                                    {"pooled": clients.pooled, "new": clients.new_connection},
                                    c,
                                    total,
                                    rounds,
                                    warmup=min(50, total),
                                    server_pid=server.pid,
                                )
                                relay = (process_cpu(relay_pid) - relay_before) / (
                                    2 * total * rounds + 2 * min(50, total)
                                )
                                rows.append(_row(link, tls, c, results, measured, relay))
                            clients.pool.reset_stats()
                            await closed_loop(clients.pooled, 10, TOTAL[10])
                            reuse = clients.pool.stats()["totals"]["reuse_rate"]
                        finally:
                            await clients.aclose()
                    rows[-1] = _with_reuse(rows[-1], reuse)
    return rows


def _row(
    link: str,
    tls: bool,
    c: int,
    results: dict[str, Load],
    measured: dict[str, float],
    relay_cpu: float,
) -> Row:
    pooled, new = results["pooled"], results["new"]
    scheme = "https" if tls else "http"
    cut = 1 - pooled.mean_latency / new.mean_latency
    target = 3.0 if (link, tls, c) == ("1ms", False, 10) else None
    return row(
        f"{link} link, {scheme}: pooled / new connection per request, c={c}",
        pooled.throughput,
        new.throughput,
        "req/s",
        target=target,
        higher_is_better=True,
        notes=(
            f"mean latency {pooled.mean_latency * 1e3:.2f} vs {new.mean_latency * 1e3:.2f} ms "
            f"({cut:.0%} lower; the original claimed ~60%); measured round trip "
            f"{measured['rtt'] * 1e3:.2f} ms; CPU per request client + server "
            f"{(pooled.cpu + pooled.server_cpu) * 1e6:.0f} vs "
            f"{(new.cpu + new.server_cpu) * 1e6:.0f} us, relay ~{relay_cpu * 1e6:.0f} us; "
            f"{load_average()}"
        ),
        latency_cut=cut,
        link=link,
        scheme=scheme,
        concurrency=c,
        rtt_measured=measured["rtt"],
    )


def _with_reuse(r: Row, reuse: float) -> Row:
    return Row(
        r.name,
        r.vgkit,
        r.baseline,
        r.unit,
        r.ratio,
        r.target,
        r.higher_is_better,
        r.notes + f"; pooled TCP reuse after warm-up {reuse:.2f}",
        {**r.extra, "reuse_rate": reuse},
    )
