"""Real HTTP servers for the client tests: in-process on 127.0.0.1, and `vgkit serve`
subprocesses that a test may kill or restart."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pytest
from aiohttp import web

from tests.conftest import free_port


@dataclass
class FaultyServer:
    """An aiohttp server whose faults a test switches on; it counts what it saw."""

    port: int = 0
    delay: float = 0.0
    fail_503: int = 0
    drop: int = 0
    rpc_error: bool = False
    healthy: bool = True
    close_connections: bool = False
    hits: int = 0
    peers: set[tuple[str, int]] = field(default_factory=set)
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _rpc(self, request: web.Request) -> web.StreamResponse:
        self.hits += 1
        peer = request.transport.get_extra_info("peername") if request.transport else None
        if peer:
            self.peers.add(tuple(peer[:2]))
        body = await request.read()
        if self.drop > 0:
            self.drop -= 1
            assert request.transport is not None
            request.transport.abort()  # no response at all
            return web.Response()
        if self.fail_503 > 0:
            self.fail_503 -= 1
            return web.Response(status=503, text="busy")
        if self.delay:
            await asyncio.sleep(self.delay)
        rid = orjson.loads(body).get("id") if body else None
        answer = (
            {"jsonrpc": "2.0", "id": rid, "error": {"code": -32602, "message": "bad params"}}
            if self.rpc_error
            else {"jsonrpc": "2.0", "id": rid, "result": {"hits": self.hits, "port": self.port}}
        )
        headers = {"Connection": "close"} if self.close_connections else None
        return web.json_response(answer, headers=headers)

    async def _card(self, _request: web.Request) -> web.Response:
        if not self.healthy:
            return web.Response(status=500)
        return web.json_response({"name": "faulty"})

    async def start(self) -> FaultyServer:
        app = web.Application()
        app.router.add_post("/", self._rpc)
        app.router.add_get("/.well-known/agent-card.json", self._card)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


@pytest.fixture
async def faulty() -> AsyncIterator[FaultyServer]:
    server = await FaultyServer().start()
    yield server
    await server.stop()


@pytest.fixture
async def faulty_pair() -> AsyncIterator[tuple[FaultyServer, FaultyServer]]:
    a, b = await FaultyServer().start(), await FaultyServer().start()
    yield a, b
    await a.stop()
    await b.stop()


@dataclass
class ServeProcess:
    """`vgkit serve` for some agents in a subprocess, on fixed free ports."""

    agents: tuple[str, ...]
    workdir: Path
    ports: dict[str, int] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        if not self.ports:
            self.ports = {name: free_port() for name in self.agents}

    def url(self, agent: str) -> str:
        return f"http://127.0.0.1:{self.ports[agent]}"

    def start(self, timeout: float = 20.0) -> None:
        agents_file = self.workdir / f"agents-{id(self)}.json"
        agents_file.unlink(missing_ok=True)
        args = [sys.executable, "-c", "from vgkit.cli import run; run()", "serve",
                "--write-agents", str(agents_file), "--shutdown-timeout", "2"]  # fmt: skip
        for name in self.agents:
            args += ["--agent", name, "--port", f"{name}={self.ports[name]}"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while not agents_file.exists():
            if self.proc.poll() is not None:
                raise RuntimeError(f"vgkit serve exited: {self.proc.stderr.read().decode()}")  # type: ignore[union-attr]
            if time.monotonic() > deadline:
                raise RuntimeError("vgkit serve did not start in time")
            time.sleep(0.05)
        assert json.loads(agents_file.read_text())["agents"]

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None

    def terminate(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(15)
        self.proc = None
        return code


@pytest.fixture
def serve_process(tmp_path: Path) -> Iterator[type[ServeProcess]]:
    started: list[ServeProcess] = []

    class Tracked(ServeProcess):
        def __post_init__(self) -> None:
            super().__post_init__()
            started.append(self)

    yield Tracked
    for proc in started:
        proc.kill()
