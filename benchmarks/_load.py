"""Closed-loop load for the A2A benchmarks: N requests by C workers, and the clients compared."""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import httpx

from vgkit.a2a.tls import client_context
from vgkit.client import PoolConfig, PooledClient
from vgkit.metrics import MetricsRegistry

HEADERS = {"Content-Type": "application/json", "A2A-Version": "1.0"}
Send = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class Load:
    throughput: float
    """Requests per second."""
    mean_latency: float
    """Seconds per request."""
    cpu: float = 0.0
    """CPU seconds this (client) process spent per request."""
    server_cpu: float = 0.0
    """CPU seconds the server process spent per request (0 when unknown)."""


def process_cpu(pid: int | None) -> float:
    """CPU seconds process ``pid`` has run, all its live threads (Linux; 0 elsewhere).

    Read from each thread's ``/proc/PID/task/TID/schedstat`` (nanoseconds), not from
    ``/proc/PID/stat``, whose user and system times count 10 ms clock ticks: a round of
    1,500 requests at ~200 us is only ~30 ticks there, so one tick moved a ratio by 3%.
    Falls back to the tick counts where schedstat is missing.
    """
    if pid is None:
        return 0.0
    try:
        threads = list(Path(f"/proc/{pid}/task").iterdir())
        return sum(int((t / "schedstat").read_text().split()[0]) for t in threads) / 1e9
    except (OSError, ValueError, IndexError):
        pass
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def closed_loop(
    send: Send, concurrency: int, total: int, server_pid: int | None = None
) -> Load:
    """``total`` requests sent by ``concurrency`` workers back to back."""
    latencies: list[float] = []
    remaining = total

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            t0 = time.perf_counter()
            await send()
            latencies.append(time.perf_counter() - t0)

    start, cpu, server = time.perf_counter(), time.process_time(), process_cpu(server_pid)
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    return Load(
        total / elapsed,
        statistics.fmean(latencies),
        (time.process_time() - cpu) / total,
        (process_cpu(server_pid) - server) / total,
    )


def _check(status: int, body: bytes) -> None:
    if status != 200 or b'"result"' not in body:
        raise RuntimeError(f"bad answer {status}: {body[:200]!r}")


class Clients:
    """The four ways of sending the same request to the same server."""

    def __init__(self, url: str, body: bytes, ca_file: str | None = None) -> None:
        """``ca_file``: the server speaks https with a certificate this CA file verifies."""
        self.url, self.body = url, body
        # The original defaults (10 connections per host) ...
        self.pool = PooledClient(
            PoolConfig(health_check_interval=None, ca_file=ca_file), metrics=MetricsRegistry()
        )
        # ... and the baselines' connection budget (aiohttp and httpx: 100), to compare overheads.
        self.wide = PooledClient(
            PoolConfig(limit_per_host=100, limit=100, health_check_interval=None, ca_file=ca_file),
            metrics=MetricsRegistry(),
        )
        self.tls = tls = client_context(ca_file)
        self.shared = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=tls))
        self.fresh = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(force_close=True, ssl=tls)
        )
        self.httpx = httpx.AsyncClient(verify=tls)

    async def pooled_card(self) -> None:
        resp = await self.pool.request("GET", self.url, "/.well-known/agent-card.json")
        assert resp.status == 200

    async def new_connection_card(self) -> None:
        async with self.fresh.get(self.url + "/.well-known/agent-card.json") as resp:
            assert resp.status == 200
            await resp.read()

    async def pooled(self) -> None:
        resp = await self.pool.request(
            "POST", self.url, "/", data=self.body, headers=HEADERS, idempotent=True
        )
        _check(resp.status, resp.body)

    async def pooled_wide(self) -> None:
        resp = await self.wide.request(
            "POST", self.url, "/", data=self.body, headers=HEADERS, idempotent=True
        )
        _check(resp.status, resp.body)

    async def new_connection(self) -> None:
        async with self.fresh.post(self.url + "/", data=self.body, headers=HEADERS) as resp:
            _check(resp.status, await resp.read())

    async def session_per_request(self) -> None:
        # What code without a pool usually does: a session (and so a connection) per call.
        async with (
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=self.tls)) as session,
            session.post(self.url + "/", data=self.body, headers=HEADERS) as resp,
        ):
            _check(resp.status, await resp.read())

    async def bare_aiohttp(self) -> None:
        async with self.shared.post(self.url + "/", data=self.body, headers=HEADERS) as resp:
            _check(resp.status, await resp.read())

    async def httpx_client(self) -> None:
        resp = await self.httpx.post(self.url + "/", content=self.body, headers=HEADERS)
        _check(resp.status_code, resp.content)

    async def aclose(self) -> None:
        await self.pool.aclose()
        await self.wide.aclose()
        await self.shared.close()
        await self.fresh.close()
        await self.httpx.aclose()


async def compare(
    senders: dict[str, Send],
    concurrency: int,
    total: int,
    rounds: int,
    warmup: int = 50,
    server_pid: int | None = None,
) -> dict[str, Load]:
    """Median throughput and latency of each sender; the order rotates every round."""
    names = list(senders)
    for name in names:
        await closed_loop(senders[name], concurrency, warmup)
    runs: dict[str, list[Load]] = {name: [] for name in names}
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            runs[name].append(await closed_loop(senders[name], concurrency, total, server_pid))
    return {
        name: Load(
            statistics.median(x.throughput for x in loads),
            statistics.median(x.mean_latency for x in loads),
            statistics.median(x.cpu for x in loads),
            statistics.median(x.server_cpu for x in loads),
        )
        for name, loads in runs.items()
    }
