"""``vgkit serve`` in the foreground: bind, announce, serve until a signal, stop.

``serve`` binds, prints the endpoints, optionally writes the agents file, and
serves until SIGINT or SIGTERM, then shuts down gracefully; with ``workers >
1`` the parent binds the sockets and supervises worker processes
(``vgkit -m vgkit.serve.worker``), each running :func:`run_worker`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vgkit.serve.config import ClusterConfig
from vgkit.serve.launcher import bind_sockets, resolve_ports, run_workers, serve_until_signal
from vgkit.serve.loops import run_on_loop

__all__ = ["run_worker", "serve"]


def _announce(options: ClusterConfig, endpoints: Mapping[str, list[str]]) -> None:
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


def serve(options: ClusterConfig) -> int:
    """Run ``vgkit serve`` in the foreground; returns the exit status."""
    made = options.with_certificate()  # once, so every worker serves the same one
    try:
        return _serve(made)
    finally:
        if made is not options and made.tls_cert:  # a throwaway certificate leaves with us
            shutil.rmtree(Path(made.tls_cert).parent, ignore_errors=True)


def _serve(options: ClusterConfig) -> int:
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
    options = ClusterConfig.from_json(spec)
    sockets = {name: socket.socket(fileno=int(fd)) for name, fd in spec["fds"].items()}
    parent = os.getppid()
    cluster = await options.start(sockets)
    return await serve_until_signal(cluster, parent=parent)
