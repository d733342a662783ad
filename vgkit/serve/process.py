"""``vgkit serve`` in a child process on free loopback ports (load tests, benchmarks, notebooks).

::

    async with ServeProcess(agents=["topic_analysis"], workers=2) as serve:
        serve.endpoints()            # {"topic_analysis": ["http://127.0.0.1:41237"]}
        serve.url("topic_analysis")  # "http://127.0.0.1:41237"

The child is exactly what a person starts from a shell (``vgkit serve
--free-ports --write-agents FILE ...``), so a load test against it measures
the real server in its own process, not one sharing the load generator's event
loop. ``start`` returns once every agent answers ``/healthz``; ``aclose`` sends
SIGTERM (graceful shutdown) and kills the child if it outlives the grace time.
Scripts without an event loop use ``with ServeProcess(...)``, or ``start_sync``
and ``close``.
A child that fails to start raises ``ServeError`` with the last lines it wrote
to stderr.

On another host of the network lab (``vgkit.netlab``): ``host`` is the address
to bind (a throwaway certificate names it), ``launcher`` the command that starts
the child there (``lab.command("agents", [])``) and ``probe`` a context manager
the health checks run in (``lambda: lab.inside("client")``)::

    ServeProcess(["topic_analysis"], host=lab.address("agents"),
                 launcher=lab.command("agents", []), probe=lambda: lab.inside("client"))
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path

from vgkit.a2a.tls import client_context, self_signed
from vgkit.errors import ServeError
from vgkit.resource import AsyncResource
from vgkit.serve.loops import DEFAULT_LOOP

__all__ = ["DEFAULT_START_TIMEOUT", "ServeProcess"]

DEFAULT_START_TIMEOUT = 30.0
DEFAULT_STOP_TIMEOUT = 15.0


class ServeProcess(AsyncResource):
    """A ``vgkit serve`` child process (see the module docstring).

    ``agents`` (default: all), ``workers``, ``cost`` and ``time_scale``,
    ``embedded_orchestrator`` and ``loop`` are the ``vgkit serve`` options of
    the same names; ``args`` adds any other command-line arguments. ``tls``:
    serve https with a self-signed certificate made for this child; clients
    trust it with ``PoolConfig(ca_file=serve.ca_file)``.
    """

    def __init__(
        self,
        agents: Sequence[str] | None = None,
        *,
        workers: int = 1,
        cost: str | None = None,
        time_scale: float | None = None,
        embedded_orchestrator: bool = False,
        loop: str = DEFAULT_LOOP,
        tls: bool = False,
        args: Sequence[str] = (),
        start_timeout: float = DEFAULT_START_TIMEOUT,
        host: str = "127.0.0.1",
        launcher: Sequence[str] = (),
        probe: Callable[[], AbstractContextManager[object]] | None = None,
    ) -> None:
        if workers < 1:
            raise ServeError(f"workers must be at least 1, not {workers}")
        self.agents = tuple(agents or ())
        self.start_timeout = start_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self.returncode: int | None = None
        """The exit status of the last child, once it was stopped."""
        self._dir: Path | None = None
        self._endpoints: dict[str, list[str]] = {}
        argv = ["--free-ports", "--workers", str(workers), "--loop", loop, "--host", host]
        for agent in self.agents:
            argv += ["--agent", agent]
        if cost is not None:
            argv += ["--cost", cost]
        if time_scale is not None:
            argv += ["--time-scale", repr(time_scale)]
        if embedded_orchestrator:
            argv.append("--embedded-orchestrator")
        self.tls = tls
        self.host = host
        self.launcher = list(launcher)
        self.probe = probe
        self.ca_file: str | None = None
        """The certificate clients trust the child with (``tls=True``, once started)."""
        self.argv = [*argv, *args]

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def endpoints(self) -> dict[str, list[str]]:
        """Agent name -> base URLs (an agents table for ``A2ABackend``, ``--agents``)."""
        if not self._endpoints:
            raise ServeError("the vgkit serve process is not running; start() it first")
        return {name: list(urls) for name, urls in self._endpoints.items()}

    def url(self, agent: str) -> str:
        """The base URL of ``agent`` (no trailing slash)."""
        endpoints = self.endpoints()
        if agent not in endpoints:
            raise ServeError(f"{agent} is not served here; serving {', '.join(endpoints)}")
        return endpoints[agent][0]

    # -- lifecycle ---------------------------------------------------------------

    def start_sync(self) -> dict[str, list[str]]:
        """Start the child and wait until every agent is healthy; returns the endpoints."""
        if self.running:
            return self.endpoints()
        self._dir = Path(tempfile.mkdtemp(prefix="vgkit-serve-"))
        agents_file = self._dir / "agents.json"
        argv = list(self.argv)
        context = None
        if self.tls:
            made = self_signed(self._dir / "tls", hosts=_names(self.host))
            self.ca_file = made.cert_file
            argv += ["--tls-cert", made.cert_file, "--tls-key", made.key_file]
            context = client_context(made.cert_file)
        stderr = (self._dir / "stderr.txt").open("wb")
        # -P: the child's sys.path does not start with the working directory, so a
        # folder that holds a vgkit/ directory cannot shadow the installed package.
        command = [*self.launcher, sys.executable, "-P", "-c", "from vgkit.cli import run; run()",
                   "serve", *argv, "--write-agents", str(agents_file)]  # fmt: skip
        with stderr:
            self.proc = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr
            )
        try:
            deadline = time.monotonic() + self.start_timeout
            while not (endpoints := _read_agents(agents_file)):
                self._check_alive(deadline)
                time.sleep(0.05)
            self._endpoints = endpoints
            for urls in self._endpoints.values():
                while not self._healthy(urls[0], context):
                    self._check_alive(deadline)
                    time.sleep(0.05)
        except BaseException:
            self.close()
            raise
        return self.endpoints()

    def _healthy(self, url: str, context: ssl.SSLContext | None) -> bool:
        if self.probe is None:
            return _healthy(url, context)
        with self.probe():  # from where the child's address is reachable
            return _healthy(url, context)

    def _check_alive(self, deadline: float) -> None:
        assert self.proc is not None
        code = self.proc.poll()
        if code is not None:
            raise ServeError(f"vgkit serve exited with status {code}: {self._stderr_tail()}")
        if time.monotonic() > deadline:
            raise ServeError(
                f"vgkit serve did not become healthy within {self.start_timeout:g} s; "
                f"{self._stderr_tail() or 'it printed nothing'}"
            )

    def _stderr_tail(self, lines: int = 5) -> str:
        if self._dir is None:
            return ""
        try:
            text = (self._dir / "stderr.txt").read_text(errors="replace")
        except OSError:
            return ""
        return " | ".join(text.strip().splitlines()[-lines:])

    def close(self, timeout: float = DEFAULT_STOP_TIMEOUT) -> int | None:
        """SIGTERM (graceful), then SIGKILL after ``timeout``; the exit status."""
        proc, self.proc = self.proc, None
        code = None
        if proc is not None:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            code = proc.returncode
            self.returncode = code
        self._endpoints = {}
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
        return code

    async def start(self) -> None:
        """``start_sync`` off the event loop (``endpoints()`` then lists the agents)."""
        await asyncio.to_thread(self.start_sync)

    async def aclose(self) -> None:
        """``close`` off the event loop (``returncode`` then holds the exit status)."""
        await asyncio.to_thread(self.close)

    def __enter__(self) -> ServeProcess:
        self.start_sync()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        # A forgotten child would keep its ports; never leave one behind.
        proc = getattr(self, "proc", None)
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(OSError):
                proc.kill()


def _names(host: str) -> tuple[str, ...]:
    """What a throwaway certificate for a server bound to ``host`` must name."""
    loopback = ("127.0.0.1", "localhost")
    return loopback if host in loopback else (host, *loopback)


def _read_agents(path: Path) -> dict[str, list[str]]:
    """The agents file ``vgkit serve --write-agents`` wrote ({} until it is complete)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):  # not there yet, or half written
        return {}
    agents: dict[str, list[str]] = data.get("agents", {}) if isinstance(data, dict) else {}
    return agents


def _healthy(url: str, context: ssl.SSLContext | None = None) -> bool:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=1, context=context) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False
