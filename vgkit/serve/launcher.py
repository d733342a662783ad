"""Start every agent server: the port map, worker processes, and shutdown.

``start_cluster`` starts one ``AgentServer`` per agent in this process: the
pipeline agents first, then the orchestrator agent, which by default calls
them over A2A like the original system did (``orchestrator_backend="embedded"``
runs its graph in-process instead). Ports follow ``vgkit.endpoints``
(the original map, moved by ``port_base``) unless ``ports`` overrides them or
``free_ports`` asks for ephemeral ones.

``run_workers`` is ``vgkit serve --workers N``: the parent binds every
listening socket, then starts N worker processes that inherit them and
serve the same ports (the kernel hands each connection to one of them); the
parent restarts workers that crash, relays SIGINT/SIGTERM and waits for the
workers' graceful shutdown (``vgkit.serve.supervisor``).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from vgkit.agents import SPECS, AgentCall, Backend, TemplateBackend
from vgkit.agents.remote import A2ABackend
from vgkit.client import PoolConfig
from vgkit.endpoints import DEFAULT_PORT_BASE, check_port, port_for
from vgkit.errors import ServeError
from vgkit.models import Model
from vgkit.orchestrator import Orchestrator
from vgkit.resource import AsyncResource
from vgkit.serve.agents import PipelineAgent, ServedAgent
from vgkit.serve.app import AgentServer, ServeConfig
from vgkit.serve.artifact_store import ArtifactStore
from vgkit.serve.orchestrator_agent import ORCHESTRATOR_NAME, OrchestratorAgent
from vgkit.serve.supervisor import DEFAULT_RESTART, RestartPolicy, Supervisor

__all__ = ["Cluster", "all_agents", "resolve_ports", "run_workers", "start_cluster"]


def all_agents() -> tuple[str, ...]:
    """Every agent ``vgkit serve`` can start: the registered agents and the orchestrator."""
    return (*SPECS, ORCHESTRATOR_NAME)


BackendFactory = Callable[[], Backend]
#: How often a worker checks that its parent still runs (seconds).
PARENT_POLL = 1.0


def resolve_ports(
    agents: Sequence[str],
    *,
    port_base: int = DEFAULT_PORT_BASE,
    ports: Mapping[str, int] | None = None,
    free_ports: bool = False,
) -> dict[str, int]:
    """Agent -> port to bind (0 means any free port); every other port in 1024-65535."""
    known = all_agents()
    unknown = [a for a in [*agents, *(ports or {})] if a not in known]
    if unknown:
        raise ServeError(f"unknown agent(s) {', '.join(unknown)}; agents: {', '.join(known)}")
    out = {}
    for agent in agents:
        if ports and agent in ports:
            out[agent] = check_port(ports[agent], agent)
        else:
            out[agent] = 0 if free_ports else port_for(agent, port_base)
    return out


@dataclass
class Cluster(AsyncResource):
    """Agent servers started together (by :func:`start_cluster`, already serving);
    ``endpoints()`` is their agents file, ``aclose()`` (or leaving ``async with``) stops them."""

    servers: dict[str, AgentServer] = field(default_factory=dict)

    def endpoints(self) -> dict[str, list[str]]:
        return {name: [server.url.rstrip("/")] for name, server in self.servers.items()}

    async def aclose(self) -> None:
        """Stop the orchestrator first (it calls the others), then the rest."""
        order = sorted(self.servers, key=lambda n: n != ORCHESTRATOR_NAME)
        for name in order:
            await self.servers[name].aclose()


class SharedBackend:
    """One backend serving several agent servers, closed when the last one lets go.

    ``vgkit serve`` makes one backend per process, not one per agent: an llm
    backend holds a connection pool to its endpoint and registers its metrics,
    and a pool per agent to the same endpoint meant as many duplicate series at
    ``/metrics`` (which Prometheus rejects) and no connection sharing.
    """

    def __init__(self, inner: Backend) -> None:
        self.inner = inner
        self.users = 0

    @property
    def name(self) -> str:
        return self.inner.name

    def fingerprint(self) -> str:
        return self.inner.fingerprint()

    async def run(self, call: AgentCall) -> Model:
        return await self.inner.run(call)

    def acquire(self) -> SharedBackend:
        self.users += 1
        return self

    async def aclose(self) -> None:
        self.users -= 1
        if self.users == 0:
            await self.inner.aclose()


async def start_cluster(
    agents: Sequence[str] | None = None,
    *,
    ports: Mapping[str, int] | None = None,
    port_base: int = DEFAULT_PORT_BASE,
    free_ports: bool = False,
    config: ServeConfig | None = None,
    backend: BackendFactory = TemplateBackend,
    orchestrator_backend: str = "a2a",
    sockets: Mapping[str, socket.socket] | None = None,
) -> Cluster:
    """Start the servers of ``agents`` (default: all) in this process."""
    names = list(agents or all_agents())
    if orchestrator_backend not in ("a2a", "embedded"):
        raise ServeError("orchestrator_backend must be 'a2a' or 'embedded'")
    bind = resolve_ports(names, port_base=port_base, ports=ports, free_ports=free_ports)
    cfg = config or ServeConfig()
    cluster = Cluster()
    shared = SharedBackend(backend())
    # One store per process: a reference from any of its agents is good for all of them.
    store = ArtifactStore(cfg.artifact_store_bytes, metrics=cfg.metrics)
    # The cluster's own reference: released below once every server holds its own.
    shared.acquire()
    try:
        for name in names:
            if name == ORCHESTRATOR_NAME:
                continue
            served: ServedAgent = PipelineAgent(SPECS[name], shared.acquire(), store)
            await _start(cluster, name, served, bind[name], cfg, sockets)
        if ORCHESTRATOR_NAME in names:
            pipeline = {n: u for n, u in cluster.endpoints().items() if n in SPECS}
            inner: Backend
            if orchestrator_backend == "a2a" and pipeline:
                # Its siblings share this server's certificate: trust it (beside the
                # system's CAs, so a certificate from a real CA works as well).
                ca_file = cfg.tls.cert_file if cfg.tls else None
                inner = A2ABackend(
                    pipeline,
                    fallback=shared.acquire(),
                    pool_config=PoolConfig(ca_file=ca_file) if ca_file else None,
                    auth_token=cfg.auth.token,
                    hmac_secret=cfg.auth.hmac_secret,
                    metrics=cfg.metrics,
                )
            else:
                inner = shared.acquire()
            agent = OrchestratorAgent(Orchestrator(backend=inner, metrics=cfg.metrics))
            await _start(cluster, ORCHESTRATOR_NAME, agent, bind[ORCHESTRATOR_NAME], cfg, sockets)
    except BaseException:
        await cluster.aclose()
        raise
    finally:
        await shared.aclose()
    return cluster


async def _start(
    cluster: Cluster,
    name: str,
    agent: ServedAgent,
    port: int,
    config: ServeConfig,
    sockets: Mapping[str, socket.socket] | None,
) -> None:
    sock = sockets.get(name) if sockets else None
    server = AgentServer(agent, port=port, config=config, sock=sock)
    try:
        await server.start()
    except BaseException:
        await agent.aclose()  # releases its share of the backend
        raise
    cluster.servers[name] = server


# -- several worker processes ---------------------------------------------------


def bind_sockets(host: str, ports: Mapping[str, int]) -> dict[str, socket.socket]:
    """Listening sockets for every agent, inheritable by worker processes."""
    out: dict[str, socket.socket] = {}
    try:
        for name, port in ports.items():
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, port))
            except OSError as exc:
                sock.close()
                raise ServeError(
                    f"{name}: cannot listen on {host}:{port} ({exc.strerror or exc}); "
                    "choose another --port-base or --free-ports"
                ) from exc
            sock.listen(1024)
            sock.setblocking(False)
            sock.set_inheritable(True)
            out[name] = sock
    except BaseException:
        for sock in out.values():
            sock.close()
        raise
    return out


def worker_command(spec: Mapping[str, Any]) -> list[str]:
    # -P as in ServeProcess: the working directory must not shadow the installed vgkit.
    return [sys.executable, "-P", "-m", "vgkit.serve.worker", json.dumps(spec)]


def run_workers(
    workers: int,
    sockets: Mapping[str, socket.socket],
    spec: Mapping[str, Any],
    *,
    on_ready: Callable[[], None] | None = None,
    shutdown_timeout: float = 10.0,
    policy: RestartPolicy = DEFAULT_RESTART,
) -> int:
    """Run ``workers`` processes serving ``sockets`` until SIGINT/SIGTERM; exit status.

    Crashed workers are restarted (see ``vgkit.serve.supervisor``), so the
    parent keeps the listening sockets open for the new ones.
    """
    fds = {name: sock.fileno() for name, sock in sockets.items()}
    command = worker_command({**spec, "fds": fds})
    supervisor = Supervisor(
        command, tuple(fds.values()), workers, policy=policy, shutdown_timeout=shutdown_timeout
    )
    try:
        return supervisor.run(on_ready)
    finally:
        for sock in sockets.values():
            sock.close()


async def serve_until_signal(cluster: Cluster, *, parent: int | None = None) -> int:
    """Wait for SIGINT or SIGTERM, then stop the cluster gracefully.

    ``parent``: a worker's parent pid; the worker also stops when that parent
    is gone (killed without a chance to stop its workers), so no orphan keeps
    serving the ports.
    """
    loop = asyncio.get_running_loop()
    stopped = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopped.set)
    watch = asyncio.create_task(_watch_parent(parent, stopped)) if parent else None
    try:
        await stopped.wait()
    finally:
        if watch is not None:
            watch.cancel()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        await cluster.aclose()
    return 0


async def _watch_parent(parent: int, stopped: asyncio.Event) -> None:
    while os.getppid() == parent:
        await asyncio.sleep(PARENT_POLL)
    stopped.set()
