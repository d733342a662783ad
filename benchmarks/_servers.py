"""Servers the A2A benchmarks start in separate processes: `vgkit serve` and an
a2a-sdk server hosting the same agent function."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from vgkit import VideoRequest
from vgkit.a2a.protocol import encode_send_request
from vgkit.agents.base import AgentCall
from vgkit.loadtest.a2a import recorded_call
from vgkit.serve import ServeProcess

AGENT = "topic_analysis"
SDK_SERVER = Path(__file__).with_name("_a2a_sdk_server.py")
BARE_SERVER = Path(__file__).with_name("_bare_server.py")


@dataclass
class ServerProcess:
    """A server in its own process; ``url`` is its base URL."""

    args: list[str]
    url: str = ""
    proc: subprocess.Popen[bytes] | None = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _wait_for(url: str, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(url + "/.well-known/agent-card.json", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not start")


def load_average() -> str:
    """The 1-minute load average, for the notes of a measurement (others share the cores)."""
    with contextlib.suppress(OSError):
        return f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    return "load unknown"


def start_vgkit_serve(
    agent: str = AGENT, workers: int = 1, *, tls: bool = False, args: Sequence[str] = ()
) -> ServeProcess:
    """`vgkit serve --agent AGENT` on a free port, in its own process (started).

    ``tls``: https with a self-signed certificate (``serve.ca_file`` verifies it);
    ``args``: more options (``["--trust-peers"]``).
    """
    serve = ServeProcess([agent], workers=workers, tls=tls, args=args)
    serve.start_sync()
    return serve


def start_sdk_server(port: int, agent: str = AGENT) -> ServerProcess:
    """The a2a-sdk (Starlette + uvicorn + httptools) server hosting the same agent function."""
    server = ServerProcess([sys.executable, str(SDK_SERVER), str(port), agent])
    # The baseline's best configuration: its OpenTelemetry spans switched off.
    env = {**os.environ, "OTEL_INSTRUMENTATION_A2A_SDK_ENABLED": "false"}
    server.proc = subprocess.Popen(server.args, stdout=subprocess.DEVNULL, env=env)
    server.url = f"http://127.0.0.1:{port}"
    _wait_for(server.url, server.proc)
    return server


def start_bare_server(port: int, request: bytes, answer: bytes) -> ServerProcess:
    """The bare aiohttp baseline: runs the agent, answers ``answer`` (see _bare_server.py)."""
    folder = Path(tempfile.mkdtemp(prefix="vgkit-bare-"))
    (folder / "request.json").write_bytes(request)
    (folder / "answer.json").write_bytes(answer)
    server = ServerProcess([sys.executable, str(BARE_SERVER), str(port),
                            str(folder / "request.json"), str(folder / "answer.json")])  # fmt: skip
    server.proc = subprocess.Popen(server.args, stdout=subprocess.DEVNULL)
    server.url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(server.url, server.proc)
    finally:  # read at start
        shutil.rmtree(folder, ignore_errors=True)
    return server


async def agent_call(agent: str = AGENT) -> AgentCall:
    """A real call of ``agent`` (recorded from an in-process run)."""
    request = VideoRequest(
        topic="How solar panels turn sunlight into electricity", platforms=["tiktok"]
    )
    return await recorded_call(request, agent)


def send_body(call: AgentCall, *, request_id: int = 1) -> bytes:
    """A SendMessage (A2A 1.0) request carrying ``call`` as a data part."""
    return encode_send_request(call.payload(), request_id=request_id)
