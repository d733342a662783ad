"""What ``vgkit serve`` was asked to do, and running it in the foreground.

``ServeOptions`` travels as JSON to worker processes (no secrets: those stay
in the environment, ``VGKIT_AUTH_TOKEN`` / ``VGKIT_HMAC_SECRET``, which the
workers inherit). ``serve`` binds, prints the endpoints, optionally writes the
agents file, and serves until SIGINT or SIGTERM, then shuts down gracefully.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib.util
import json
import os
import shutil
import socket
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vgkit.agents import Backend, CostModel, TemplateBackend
from vgkit.config import settings
from vgkit.endpoints import DEFAULT_PORT_BASE
from vgkit.errors import ServeError
from vgkit.serve.app import DEFAULT_MAX_BODY, ServeConfig
from vgkit.serve.auth import AuthConfig
from vgkit.serve.launcher import (
    ALL_AGENTS,
    Cluster,
    bind_sockets,
    resolve_ports,
    run_workers,
    serve_until_signal,
    start_cluster,
)
from vgkit.serve.tls import TLSConfig, self_signed

__all__ = ["DEFAULT_LOOP", "LOOPS", "ServeOptions", "loop_factory", "run_on_loop", "serve"]

BACKENDS = ("template", "llm")
#: Event loops ``vgkit serve`` can run on; ``auto`` is uvloop when it is installed.
LOOPS = ("auto", "uvloop", "asyncio")
DEFAULT_LOOP = "auto"


def loop_factory(name: str = DEFAULT_LOOP) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The event-loop factory for ``name`` (None: asyncio's default loop).

    uvloop runs the same aiohttp servers with about a third less CPU per
    request (its transports and loop iterations are C): on a loopback server
    that is most of what is left once the handler itself is lean.
    """
    if name not in LOOPS:
        raise ServeError(f"unknown event loop {name!r}; choose from {', '.join(LOOPS)}")
    if name == "asyncio":
        return None
    if importlib.util.find_spec("uvloop") is None:
        if name == "uvloop":
            raise ServeError("--loop uvloop needs the uvloop package: pip install uvloop")
        return None
    import uvloop

    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def run_on_loop(
    main: Callable[[], Coroutine[object, object, int]], loop: str = DEFAULT_LOOP
) -> int:
    """``asyncio.run(main())`` on the chosen event loop."""
    with asyncio.Runner(loop_factory=loop_factory(loop)) as runner:
        return runner.run(main())


@dataclass(frozen=True, kw_only=True)
class ServeOptions:
    agents: tuple[str, ...] = ALL_AGENTS
    host: str = "127.0.0.1"
    port_base: int = DEFAULT_PORT_BASE
    ports: Mapping[str, int] = field(default_factory=dict)
    free_ports: bool = False
    workers: int = 1
    backend: str = "template"
    cost: str | None = None
    time_scale: float = 1.0
    orchestrator_backend: str = "a2a"
    max_body: int = DEFAULT_MAX_BODY
    shutdown_timeout: float = 10.0
    write_agents: str | None = None
    loop: str = DEFAULT_LOOP
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_self_signed: bool = False
    """Make a throwaway certificate for 127.0.0.1 and localhost (``serve`` does, once)."""

    def __post_init__(self) -> None:
        loop_factory(self.loop)  # an unknown loop, or uvloop missing, fails here
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ServeError("--tls-cert and --tls-key go together: pass both PEM files")
        if self.tls_self_signed and self.tls_cert:
            raise ServeError("pass either --tls-self-signed or --tls-cert/--tls-key, not both")
        if self.tls is not None:
            self.tls.server_context()  # a missing or unreadable file fails here, in one line
        if self.workers < 1:
            raise ServeError(f"--workers must be at least 1, not {self.workers}")
        if self.backend not in BACKENDS:
            raise ServeError(f"unknown backend {self.backend!r}; choose from {', '.join(BACKENDS)}")
        if self.max_body < 1024:
            raise ServeError(f"--max-body must be at least 1024 bytes, not {self.max_body}")

    def to_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "agents": list(self.agents), "ports": dict(self.ports)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ServeOptions:
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        values["agents"] = tuple(values.get("agents", ALL_AGENTS))
        return cls(**values)

    def backend_factory(self) -> Callable[[], Backend]:
        def make() -> Backend:
            inner: Backend
            if self.backend == "llm":
                from vgkit.agents.llm import LLMBackend

                inner = LLMBackend.from_settings()
            else:
                inner = TemplateBackend()
            if self.cost:
                return CostModel(inner, self.cost, time_scale=self.time_scale)
            return inner

        return make

    @property
    def tls(self) -> TLSConfig | None:
        if self.tls_cert and self.tls_key:
            return TLSConfig(cert_file=self.tls_cert, key_file=self.tls_key)
        return None

    @property
    def scheme(self) -> str:
        return "https" if self.tls_cert or self.tls_self_signed else "http"

    def with_certificate(self) -> ServeOptions:
        """These options, with the self-signed certificate made now if one is asked for."""
        if not self.tls_self_signed:
            return self
        made = self_signed()
        return dataclasses.replace(
            self, tls_cert=made.cert_file, tls_key=made.key_file, tls_self_signed=False
        )

    def serve_config(self) -> ServeConfig:
        s = settings()
        return ServeConfig(
            host=self.host,
            max_body=self.max_body,
            shutdown_timeout=self.shutdown_timeout,
            auth=AuthConfig(token=s.auth_token, hmac_secret=s.hmac_secret),
            tls=self.tls,
        )

    async def start(self, sockets: Mapping[str, socket.socket] | None = None) -> Cluster:
        return await start_cluster(
            self.agents,
            ports=self.ports,
            port_base=self.port_base,
            free_ports=self.free_ports,
            config=self.serve_config(),
            backend=self.backend_factory(),
            orchestrator_backend=self.orchestrator_backend,
            sockets=sockets,
        )


def _announce(options: ServeOptions, endpoints: Mapping[str, list[str]]) -> None:
    workers = f"{options.workers} worker process{'es' if options.workers > 1 else ''}"
    print(f"vgkit serve: {len(endpoints)} agents on {options.host} ({workers})")
    for name, urls in endpoints.items():
        print(f"  {name:<20} {urls[0]}/")
    if options.tls_cert:
        print(
            f"TLS with the certificate {options.tls_cert} (clients that do not trust its CA: "
            f"VGKIT_CA_FILE={options.tls_cert} for a self-signed one)"
        )
    if options.write_agents:
        path = Path(options.write_agents)
        path.write_text(json.dumps({"agents": dict(endpoints)}, indent=2) + "\n")
        print(f"wrote the agents file {path}")
    print("serving until SIGINT or SIGTERM (Ctrl+C)", flush=True)


def serve(options: ServeOptions) -> int:
    """Run ``vgkit serve`` in the foreground; returns the exit status."""
    made = options.with_certificate()  # once, so every worker serves the same one
    try:
        return _serve(made)
    finally:
        if made is not options and made.tls_cert:  # a throwaway certificate leaves with us
            shutil.rmtree(Path(made.tls_cert).parent, ignore_errors=True)


def _serve(options: ServeOptions) -> int:
    if options.workers == 1:

        async def main() -> int:
            cluster = await options.start()
            _announce(options, cluster.endpoints())
            return await serve_until_signal(cluster)

        code = run_on_loop(main, options.loop)
        print("vgkit serve: stopped", flush=True)
        return code
    ports = resolve_ports(
        options.agents,
        port_base=options.port_base,
        ports=options.ports,
        free_ports=options.free_ports,
    )
    sockets = bind_sockets(options.host, ports)
    endpoints = {
        name: [f"{options.scheme}://{options.host}:{sock.getsockname()[1]}"]
        for name, sock in sockets.items()
    }
    # Every worker serves the ports the parent bound, so workers need the real
    # ports (not 0) to point the orchestrator at its siblings.
    bound = {name: int(urls[0].rsplit(":", 1)[1]) for name, urls in endpoints.items()}
    spec = dataclasses.replace(options, ports=bound, free_ports=False).to_json()
    code = run_workers(
        options.workers,
        sockets,
        spec,
        on_ready=lambda: _announce(options, endpoints),
        shutdown_timeout=options.shutdown_timeout,
    )
    print("vgkit serve: stopped", flush=True)
    return code


async def run_worker(spec: Mapping[str, Any]) -> int:
    """One worker process of ``serve --workers N``: serve the inherited sockets."""
    options = ServeOptions.from_json(spec)
    sockets = {name: socket.socket(fileno=int(fd)) for name, fd in spec["fds"].items()}
    parent = os.getppid()
    cluster = await options.start(sockets)
    return await serve_until_signal(cluster, parent=parent)
