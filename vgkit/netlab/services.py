"""Services on lab hosts: ``redis-server`` and ``vgkit serve``, reachable from another host.

::

    with Lab(["client", "redis", "agents"], link=LinkConfig.parse(rtt="1ms")) as lab:
        redis = RedisServer(lab, "redis", workdir, aof=True).start()
        with serve_agents(lab, "agents", ["topic_analysis"], tls=True) as agents:
            url = agents.url("topic_analysis")     # https://10.77.0.3:PORT
            with lab.inside("client"):
                ...                                # clients on the client host
        redis.kill(); redis.start()                # SIGKILL, then the same files again

Both bind the host's lab address only; health checks run from ``probe_from``
(default: the first host), the way a client there would reach them.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Self

import redis

from vgkit.errors import NetlabError
from vgkit.netlab.lab import Lab
from vgkit.serve.process import ServeProcess

__all__ = ["RedisServer", "serve_agents"]

REDIS_PORT = 6379


def serve_agents(
    lab: Lab,
    host: str,
    agents: Sequence[str] | None = None,
    *,
    tls: bool = False,
    probe_from: str | None = None,
    **options: object,
) -> ServeProcess:
    """A ``vgkit serve`` child on ``host``, bound to its lab address (not started).

    ``options`` are :class:`~vgkit.serve.process.ServeProcess` options (workers,
    cost, time_scale, loop, args). With ``tls`` its throwaway certificate names
    the host's address; clients trust ``serve.ca_file``.
    """
    seat = probe_from or next(h for h in lab.hosts if h != host)
    return ServeProcess(
        agents,
        tls=tls,
        host=lab.address(host),
        launcher=lab.command(host, []),
        probe=lambda: lab.inside(seat),
        **options,  # type: ignore[arg-type]
    )


class RedisServer:
    """``redis-server`` on a lab host, which a test may kill and start again.

    ``aof``: the append-only file on with ``appendfsync everysec``; ``save``: the
    snapshot rules ("" none). Files go to ``workdir`` and survive a kill.
    """

    def __init__(
        self,
        lab: Lab,
        host: str,
        workdir: str | Path,
        *,
        aof: bool = True,
        save: str = "",
        probe_from: str | None = None,
    ) -> None:
        if shutil.which("redis-server") is None:
            raise NetlabError("redis-server is not installed (apt-get install redis-server)")
        self.lab, self.host, self.workdir = lab, host, Path(workdir)
        self.aof, self.save = aof, save
        self.seat = probe_from or next(h for h in lab.hosts if h != host)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{self.lab.address(self.host)}:{REDIS_PORT}/0"

    def start(self, timeout: float = 15.0) -> Self:
        """Start it (with this object's ``aof`` and ``save``) and wait until it answers."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        argv = ["redis-server", "--bind", self.lab.address(self.host), "--port", str(REDIS_PORT)]
        argv += ["--protected-mode", "no", "--dir", str(self.workdir), "--save", self.save]
        argv += ["--appendonly", "yes", "--appendfsync", "everysec"] if self.aof else [
            "--appendonly", "no"
        ]  # fmt: skip
        self.proc = self.lab.popen(
            self.host, argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + timeout
        while not self._answers():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise NetlabError(f"redis-server on {self.host} did not start")
            time.sleep(0.05)
        return self

    def _answers(self) -> bool:
        with self.lab.inside(self.seat):
            client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False
            finally:
                client.close()

    def kill(self) -> None:
        """SIGKILL: no shutdown and no final save; what survives is in its files."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(5)
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
            self.proc = None
