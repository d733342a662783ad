"""Slow and hostile clients: 408 after the header and body deadlines, 503 beyond the cap.

Every figure is read on the server's side (its guard's counts), as in the client
tests' fault-injecting server; the clients are raw sockets on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import resource
import statistics
import time
from collections.abc import AsyncIterator

import orjson
import pytest

from vgkit.a2a.protocol import encode_send_request
from vgkit.agents import SPECS, TemplateBackend
from vgkit.cli import main
from vgkit.client import PoolConfig, PooledClient
from vgkit.metrics import MetricsRegistry
from vgkit.serve import AgentServer, PipelineAgent, ServeConfig
from vgkit.serve.config import ClusterConfig

from .conftest import recorded_calls

SLOW_CLIENTS = 2000
#: The slow clients' header and body deadline in the test with thousands of them.
DEADLINE = 10.0


def _server(**config: object) -> AgentServer:
    return AgentServer(
        PipelineAgent(SPECS["topic_analysis"], TemplateBackend()),
        config=ServeConfig(metrics=MetricsRegistry(), **config),  # type: ignore[arg-type]
    )


@pytest.fixture
async def quick_deadlines() -> AsyncIterator[AgentServer]:
    async with _server(header_timeout=0.4, body_timeout=0.4) as server:
        yield server


async def _connect(server: AgentServer) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", server.port)


def _post(body: bytes, *, length: int | None = None) -> bytes:
    size = len(body) if length is None else length
    head = (
        f"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {size}\r\n\r\n"
    )
    return head.encode() + body


async def _answer(reader: asyncio.StreamReader, timeout: float = 5.0) -> bytes:
    """Everything the server sends until it closes the connection."""
    return await asyncio.wait_for(reader.read(), timeout)


async def test_headers_that_never_finish_get_408_and_the_connection_closes(
    quick_deadlines: AgentServer,
) -> None:
    reader, writer = await _connect(quick_deadlines)
    writer.write(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le")
    started = time.monotonic()
    answer = await _answer(reader)
    waited = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout")
    assert b"did not arrive within 0.4 s" in answer
    assert 0.3 < waited < 3.0
    writer.close()
    guard = quick_deadlines.guard
    assert guard.header_timeouts == 1 and guard.body_timeouts == 0
    await asyncio.sleep(0.05)
    assert guard.open == 0
    # A connection that sends nothing at all is cut by the same deadline.
    reader, writer = await _connect(quick_deadlines)
    assert (await _answer(reader)).startswith(b"HTTP/1.1 408")
    writer.close()
    assert guard.header_timeouts == 2


async def test_a_body_that_never_finishes_gets_408_with_a_json_rpc_error(
    quick_deadlines: AgentServer,
) -> None:
    reader, writer = await _connect(quick_deadlines)
    writer.write(_post(b'{"jsonrpc": "2.0", ', length=400))
    answer = await _answer(reader)
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408")
    error = orjson.loads(body)["error"]
    assert error["message"] == "the request body did not arrive within 0.4 s"
    assert quick_deadlines.guard.body_timeouts == 1
    assert quick_deadlines.guard.header_timeouts == 0


async def test_an_idle_kept_alive_connection_is_not_cut_by_the_header_deadline(
    quick_deadlines: AgentServer,
) -> None:
    call = (await recorded_calls())["topic_analysis"]
    request = _post(encode_send_request(call.payload()))
    reader, writer = await _connect(quick_deadlines)
    for _ in range(2):
        writer.write(request)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 200")
        length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
        assert b'"result"' in await reader.readexactly(length)
        await asyncio.sleep(0.8)  # twice the header deadline, idle between requests
    writer.close()
    assert quick_deadlines.guard.header_timeouts == 0


async def test_connections_beyond_the_cap_get_503_with_retry_after() -> None:
    async with _server(max_connections=5) as server:
        held = [await _connect(server) for _ in range(5)]
        await asyncio.sleep(0.05)
        assert server.guard.open == 5
        reader, writer = await _connect(server)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        answer = await _answer(reader)
        writer.close()
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 503 Service Unavailable")
        assert b"\r\nRetry-After: 1\r\n" in head
        assert "5 connections open, its limit" in orjson.loads(body)["error"]["message"]
        assert server.guard.refused == 1
        for _, w in held[:2]:
            w.close()
        await asyncio.sleep(0.1)
        reader, writer = await _connect(server)  # room again: served
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        assert (await _answer(reader)).startswith(b"HTTP/1.1 200")
        writer.close()
        for _, w in held[2:]:
            w.close()
        assert server.guard.refused == 1


def _enough_descriptors(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            pytest.fail(f"this test needs {needed} descriptors; the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


async def _latencies(pool: PooledClient, url: str, body: bytes, count: int) -> list[float]:
    async def one() -> float:
        start = time.perf_counter()
        resp = await pool.post(url, "/", data=body)
        assert resp.status == 200 and b'"result"' in resp.body
        return time.perf_counter() - start

    out: list[float] = []
    for _ in range(count // 4):
        out += await asyncio.gather(*(one() for _ in range(4)))
    return out


async def test_thousands_of_slow_clients_are_cut_while_good_requests_keep_their_latency() -> None:
    _enough_descriptors(2 * SLOW_CLIENTS + 1024)  # both ends of every connection live here
    body = encode_send_request((await recorded_calls())["topic_analysis"].payload())
    async with (
        _server(
            header_timeout=DEADLINE, body_timeout=DEADLINE, max_connections=3 * SLOW_CLIENTS
        ) as server,
        PooledClient(PoolConfig(health_check_interval=None)) as pool,
    ):
        await _latencies(pool, server.url, body, 40)  # warm: the pool's connections are open
        before = await _latencies(pool, server.url, body, 200)
        good = server.guard.open
        opened = time.monotonic()
        slow: list[asyncio.StreamWriter] = []
        answers: list[asyncio.Task[tuple[float, bytes]]] = []

        async def answer(reader: asyncio.StreamReader, since: float) -> tuple[float, bytes]:
            data = await _answer(reader, timeout=DEADLINE + 20)
            return time.monotonic() - since, data

        for start in range(0, SLOW_CLIENTS, 50):  # under the listen backlog (128)
            since = time.monotonic()
            batch = await asyncio.gather(*(_connect(server) for _ in range(50)))
            for i, (reader, writer) in enumerate(batch, start):
                # half stall in their headers, half in their body
                writer.write(_post(b"{", length=100) if i % 2 else b"POST / HTTP/1.1\r\nHost: 1")
                slow.append(writer)
                answers.append(asyncio.create_task(answer(reader, since)))
        for writer in slow:  # and keep trickling
            writer.write(b" ")
        for _ in range(50):  # the last ones may still wait in the accept queue
            if server.guard.open == good + SLOW_CLIENTS:
                break
            await asyncio.sleep(0.1)
        assert server.guard.open == good + SLOW_CLIENTS  # all held at once, server-side
        during = await _latencies(pool, server.url, body, 200)
        held = time.monotonic() - opened
        cut = await asyncio.gather(*answers)
        assert all(data.startswith(b"HTTP/1.1 408") for _, data in cut)
        # None was cut before its deadline (counted from before its connect).
        assert min(waited for waited, _ in cut) > DEADLINE - 0.2
        assert server.guard.header_timeouts == SLOW_CLIENTS // 2
        assert server.guard.body_timeouts == SLOW_CLIENTS // 2
        for writer in slow:
            writer.close()
        await asyncio.sleep(0.2)
        assert server.guard.open == good
        assert server.guard.refused == 0
    p50_before, p50_during = statistics.median(before), statistics.median(during)
    # The same requests, while 2000 slow connections were open: the median may move
    # with the machine's load, not with the slow clients (bounded, generously).
    print(f"good requests' median latency {p50_before * 1e3:.2f} ms before, "
          f"{p50_during * 1e3:.2f} ms with {SLOW_CLIENTS} slow connections open "
          f"({held:.1f} s after the first)")  # fmt: skip
    assert p50_during < 3 * p50_before + 0.005, (p50_before, p50_during)


def test_deadlines_and_the_cap_on_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    options = ClusterConfig(header_timeout=2.5, body_timeout=7, max_connections=300)
    config = options.serve_config()
    assert (config.header_timeout, config.body_timeout, config.max_connections) == (2.5, 7, 300)
    assert main(["serve", "--header-timeout", "0"]) == 2
    assert "--header-timeout must be positive seconds, not 0.0" in capsys.readouterr().err
    assert main(["serve", "--max-connections", "0"]) == 2
    assert "--max-connections must be at least 1, not 0" in capsys.readouterr().err
