"""PooledClient against a new connection per request, a bare aiohttp session and httpx.

Against a new connection per request the pool runs with the original defaults
(10 connections per host); against aiohttp and httpx it gets their connection
budget (100), so the rows compare the clients' own overhead, and the default
pool's figure is in the notes.

The original system claimed connection pooling saves ~60% of connection
overhead and reuses 80-95% of connections after warm-up, but its pool counted
sessions, not connections. Here every client sends the same A2A ``SendMessage``
(a real topic-analysis call) to ``vgkit serve`` running in a separate process,
closed-loop at concurrency 1, 10 and 50 in one run, and the reuse rate is read
from aiohttp's trace hooks (real TCP connections).

The same comparison over https (what A2A asks for in production; the server
runs ``--tls-cert`` with a self-signed certificate the clients trust) shows
what a new connection costs once it carries a TLS handshake.

The server runs with ``--trust-peers``, as the agent servers of a vgkit
deployment do for the orchestrator's calls (the lean A2A path); one more row
at c=10 measures the same comparison against a server that validates every
request in full.
"""

from __future__ import annotations

from benchmarks._common import Row, row
from benchmarks._load import Clients, closed_loop, compare
from benchmarks._servers import AGENT, agent_call, load_average, send_body, start_vgkit_serve

TITLE = "PooledClient vs new connection / bare aiohttp / httpx (A2A SendMessage to vgkit serve)"
CONCURRENCY = (1, 10, 50)
TRUSTED = ("--trust-peers",)


async def run(quick: bool) -> list[Row]:
    # Short rounds, rotated and many: other work on a 2-core machine comes in bursts.
    total, rounds = (100, 2) if quick else (300, 11)
    body = send_body(await agent_call())
    rows: list[Row] = []
    with start_vgkit_serve(args=TRUSTED) as server:
        clients = Clients(server.url(AGENT), body)
        try:
            results = {}
            for c in CONCURRENCY:
                results[c] = await compare(
                    {
                        "pooled": clients.pooled,
                        "wide": clients.pooled_wide,
                        "new": clients.new_connection,
                        "aiohttp": clients.bare_aiohttp,
                        "httpx": clients.httpx_client,
                    },
                    c,
                    total,
                    rounds,
                    server_pid=server.pid,
                )
            light = await compare(
                {"pooled": clients.pooled_card, "new": clients.new_connection_card},
                10,
                total,
                rounds,
            )
            naive = await compare(
                {"pooled": clients.pooled, "session": clients.session_per_request},
                10,
                total,
                rounds,
            )
            clients.pool.reset_stats()  # reuse after warm-up, at concurrency 10
            await closed_loop(clients.pooled, 10, 1000)
            reuse = clients.pool.stats()["totals"]
        finally:
            await clients.aclose()
    with start_vgkit_serve() as server:  # every request validated in full
        clients = Clients(server.url(AGENT), body)
        try:
            untrusted = await compare(
                {"pooled": clients.pooled, "new": clients.new_connection},
                10,
                total,
                rounds,
                server_pid=server.pid,
            )
        finally:
            await clients.aclose()
    with start_vgkit_serve(tls=True, args=TRUSTED) as server:
        clients = Clients(server.url(AGENT), body, ca_file=server.ca_file)
        try:
            over_tls = {
                c: await compare(
                    {"pooled": clients.pooled, "new": clients.new_connection},
                    c,
                    total,
                    rounds,
                    server_pid=server.pid,
                )
                for c in CONCURRENCY
            }
        finally:
            await clients.aclose()
    for label, runs, target, extra in (
        ("", results, 2.0, ""),
        ("over https: ", over_tls, None, " (a TLS handshake per new connection)"),
    ):
        for c in CONCURRENCY:
            pooled, new = runs[c]["pooled"], runs[c]["new"]
            rows.append(
                row(
                    f"{label}pooled / new connection per request, c={c}",
                    pooled.throughput,
                    new.throughput,
                    "req/s",
                    target=target if c == 10 else None,
                    higher_is_better=True,
                    notes=f"mean latency {pooled.mean_latency * 1e3:.2f} ms vs "
                    f"{new.mean_latency * 1e3:.2f} ms; CPU per request client + server "
                    f"{(pooled.cpu + pooled.server_cpu) * 1e6:.0f} vs "
                    f"{(new.cpu + new.server_cpu) * 1e6:.0f} us{extra}",
                )
            )
    pooled, new = untrusted["pooled"], untrusted["new"]
    rows.append(
        row(
            "untrusted server: pooled / new connection per request, c=10",
            pooled.throughput,
            new.throughput,
            "req/s",
            higher_is_better=True,
            notes=f"informational: vgkit serve without --trust-peers; mean latency "
            f"{pooled.mean_latency * 1e3:.2f} ms vs {new.mean_latency * 1e3:.2f} ms; CPU per "
            f"request client + server {(pooled.cpu + pooled.server_cpu) * 1e6:.0f} vs "
            f"{(new.cpu + new.server_cpu) * 1e6:.0f} us",
        )
    )
    rows.append(
        row(
            "pooled / new connection, GET agent card, c=10",
            light["pooled"].throughput,
            light["new"].throughput,
            "req/s",
            higher_is_better=True,
            notes="the lightest request (what health checks fetch): connection cost alone",
        )
    )
    rows.append(
        row(
            "pooled / a new aiohttp session per request, c=10",
            naive["pooled"].throughput,
            naive["session"].throughput,
            "req/s",
            higher_is_better=True,
            notes="informational: what code without a pool usually does (a session, so a "
            "connection, per call); the target stays on the strict row above",
        )
    )
    r10 = results[10]
    pooled_cpu = r10["pooled"].cpu + r10["pooled"].server_cpu
    new_cpu = r10["new"].cpu + r10["new"].server_cpu
    rows.append(
        row(
            "CPU per request, client + server, pooled / new connection, c=10",
            pooled_cpu * 1e6,
            new_cpu * 1e6,
            "us",
            notes=f"connection overhead removed: {1 - pooled_cpu / new_cpu:.0%} of the CPU "
            f"(server {r10['pooled'].server_cpu * 1e6:.0f} vs {r10['new'].server_cpu * 1e6:.0f} us,"
            f" client {r10['pooled'].cpu * 1e6:.0f} vs {r10['new'].cpu * 1e6:.0f} us); "
            "the original claimed ~60%",
        )
    )
    cut = 1 - r10["pooled"].mean_latency / r10["new"].mean_latency
    rows.append(
        row(
            "mean latency, pooled / new connection, c=10",
            r10["pooled"].mean_latency * 1e3,
            r10["new"].mean_latency * 1e3,
            "ms",
            notes=f"latency reduction {cut:.0%} (the original claimed ~60%, unmeasured); "
            f"{load_average()}",
        )
    )
    rows.append(
        row(
            "TCP connection reuse rate after warm-up, c=10",
            reuse["reuse_rate"],
            1.0,
            "ratio",
            target=0.95,
            higher_is_better=True,
            notes=f"{reuse['created']} TCP connections opened, {reuse['reused']} reuses, for "
            f"{reuse['requests']} requests; original claim 80-95%",
        )
    )
    for name, label, target in (("aiohttp", "bare shared aiohttp.ClientSession", 0.9),
                                ("httpx", "httpx.AsyncClient", 1.0)):  # fmt: skip
        for c in CONCURRENCY:
            r = results[c]
            rows.append(
                row(
                    f"pooled (100 conns) / {label}, c={c}",
                    r["wide"].throughput,
                    r[name].throughput,
                    "req/s",
                    target=target,
                    higher_is_better=True,
                    notes=f"client CPU per request {r['wide'].cpu * 1e6:.0f} us vs "
                    f"{r[name].cpu * 1e6:.0f} us; with the default 10 per host: "
                    f"{r['pooled'].throughput:.0f} req/s",
                )
            )
    return rows
