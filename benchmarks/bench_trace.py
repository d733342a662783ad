"""Trace propagation per hop: A2A SendMessage with and without the trace, same run.

`vgkit serve --agent topic_analysis` runs in its own process on 127.0.0.1; two
A2A clients over one PooledClient send the same ``SendMessage`` (the agent call
as a data part): one with tracing (a client span, the ``traceparent`` header,
the session as ``contextId``; the server parses the header, records the agent's
span and returns it in the task's metadata; the client adds it to the caller's
trace), one with ``trace=False`` (none of it). Rounds interleave the two,
closed-loop. A further row times the propagation work of
one hop alone, in this process (both sides' steps, JSON included), against the
untraced SendMessage of the same run.

At concurrency 1 the two are sent alternately, request by request (ABBA), and
compared by their median latency: on a shared machine, blocks of one then the
other meet different loads and drift apart by more than the effect measured.
"""

from __future__ import annotations

import statistics
import time

import orjson

from benchmarks._common import Row, row
from benchmarks._load import Send, compare
from benchmarks._servers import AGENT, agent_call, start_vgkit_serve
from vgkit import tracing
from vgkit.client import A2AClient, PoolConfig, PooledClient
from vgkit.metrics import MetricsRegistry

TITLE = "Trace propagation per hop (A2A SendMessage to vgkit serve, with vs without)"
SESSION = "vg-bench-session"


def hop_work(registry: MetricsRegistry) -> None:
    """What tracing adds to one SendMessage, both sides, without the network."""
    root = tracing.TraceContext("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", 1, SESSION)
    with tracing.use(root), tracing.collect():
        # client: its span, the header
        span = tracing.begin(f"SendMessage {AGENT}", kind="client", agent=AGENT)
        header = f"00-{span.trace_id}-{span.span_id}-01"
        # server: parse, run the agent under the caller's span, return the spans
        with tracing.use(tracing.remote_parent(header)):
            served = tracing.hop(AGENT, kind="agent", registry=registry, session_id=SESSION,
                                 agent=AGENT, node=AGENT, cache="off")  # fmt: skip
            with served:
                pass
            metadata = orjson.dumps({tracing.SPANS_KEY: served.spans})  # as the server does
        # client: take the spans back, record its own
        tracing.adopt(orjson.loads(metadata)[tracing.SPANS_KEY])
        span.end = time.time()
        tracing.record(span, registry)


def time_hop_work(n: int) -> float:
    """Seconds per hop of :func:`hop_work` (best of three batches of ``n``)."""
    registry = MetricsRegistry()
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(n):
            hop_work(registry)
        best = min(best, (time.perf_counter() - t0) / n)
    return best


async def paired(
    a: Send, b: Send, pairs: int
) -> tuple[list[float], list[float], list[float], list[float]]:
    """Latency and client CPU per request of ``a`` and ``b``, sent alternately (ABBA order), so
    both meet the same machine: under load, blocks of one then the other drift apart."""
    lat: dict[int, list[float]] = {0: [], 1: []}
    cpu: dict[int, list[float]] = {0: [], 1: []}
    senders = (a, b)
    for k in range(pairs):
        for which in (0, 1) if k % 2 == 0 else (1, 0):
            t0, c0 = time.perf_counter(), time.process_time()
            await senders[which]()
            cpu[which].append(time.process_time() - c0)
            lat[which].append(time.perf_counter() - t0)
    return lat[0], lat[1], cpu[0], cpu[1]


async def run(quick: bool) -> list[Row]:
    total, rounds, pairs = (100, 2, 300) if quick else (400, 5, 3000)
    call = await agent_call()
    payload = call.payload()
    config = PoolConfig(limit_per_host=64, health_check_interval=None)
    root = tracing.TraceContext("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", 1, SESSION)
    with start_vgkit_serve() as server:
        url = server.url(AGENT)
        async with PooledClient(config, metrics=MetricsRegistry()) as pool:
            traced = A2AClient({AGENT: url}, pool=pool, metrics=MetricsRegistry())
            plain = A2AClient({AGENT: url}, pool=pool, metrics=MetricsRegistry(), trace=False)
            with tracing.use(root), tracing.collect() as spans:  # both sides really trace
                await traced.send(AGENT, data=payload)
            assert {s.kind for s in spans} == {"client", "agent"}, spans

            def sender(client: A2AClient, trace: bool) -> Send:
                async def send() -> None:
                    if trace:
                        with tracing.use(root), tracing.collect():
                            await client.send(AGENT, data=payload)
                    else:
                        await client.send(AGENT, data=payload)

                return send

            with_trace, without = sender(traced, True), sender(plain, False)
            await paired(with_trace, without, 200)  # warm-up
            lat_t, lat_p, cpu_t, cpu_p = await paired(with_trace, without, pairs)
            c10 = await compare(
                {"traced": with_trace, "plain": without}, 10, total, rounds, server_pid=server.pid
            )
    work = time_hop_work(500 if quick else 5000)
    med = statistics.median
    send_us = med(lat_p) * 1e6
    return [
        row(
            "SendMessage median latency, c=1, with trace propagation / without",
            med(lat_t) * 1e3,
            med(lat_p) * 1e3,
            "ms",
            target=1.05,
            notes=f"{pairs} pairs sent alternately; means {statistics.fmean(lat_t) * 1e3:.3f} vs "
            f"{statistics.fmean(lat_p) * 1e3:.3f} ms",
        ),
        row(
            "client CPU per SendMessage, c=1, with trace propagation / without",
            med(cpu_t) * 1e6,
            med(cpu_p) * 1e6,
            "us",
            notes="median of the same pairs (the client's share of the work)",
        ),
        row(
            "propagation work per hop (both sides, in-process) / untraced SendMessage, c=1",
            work * 1e6,
            send_us,
            "us",
            target=0.05,
            notes="span ids, header, parse, agent span, metadata JSON both ways, client span",
        ),
        row(
            "SendMessage requests/s, c=10, with trace propagation / without",
            c10["traced"].throughput,
            c10["plain"].throughput,
            "req/s",
            higher_is_better=True,
            notes=f"{rounds} rounds of {total}, rotated; server CPU per request "
            f"{c10['traced'].server_cpu * 1e6:.0f} vs {c10['plain'].server_cpu * 1e6:.0f} us",
        ),
    ]
