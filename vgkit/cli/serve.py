"""``vgkit serve``: every agent as an A2A server on 127.0.0.1."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from vgkit.agents.cost import cost_profile
from vgkit.cli.generate import add_llm_arguments, llm_agents, llm_endpoint_from
from vgkit.endpoints import DEFAULT_PORT_BASE, DEFAULT_PORTS
from vgkit.errors import ConfigError
from vgkit.serve.app import DEFAULT_MAX_BODY
from vgkit.serve.artifact_store import DEFAULT_ARTIFACT_STORE_BYTES
from vgkit.serve.command import serve
from vgkit.serve.config import ClusterConfig
from vgkit.serve.guard import DEFAULT_BODY_TIMEOUT, DEFAULT_HEADER_TIMEOUT, DEFAULT_MAX_CONNECTIONS
from vgkit.serve.launcher import all_agents
from vgkit.serve.loops import DEFAULT_LOOP, LOOPS


def _port_pairs(items: list[str] | None) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in items or ():
        name, sep, port = item.partition("=")
        if not sep or not port.isdigit():
            raise ConfigError(f"--port {item!r}: write NAME=PORT, such as script_writer=10212")
        out[name] = int(port)
    return out


def _llm_endpoint(args: argparse.Namespace) -> tuple[str | None, str | None, int | None]:
    """The llm endpoint, model and context ``--backend llm`` serves with, checked once here."""
    if args.backend != "llm":
        return None, None, None
    endpoint = asyncio.run(llm_endpoint_from(args))
    return endpoint.base_url, endpoint.model, args.llm_ctx or endpoint.context


def cmd_serve(args: argparse.Namespace) -> int:
    if args.cost is not None:
        cost_profile(args.cost)  # an unknown name or a bad file fails here, in one line
    llm_url, llm_model, llm_context = _llm_endpoint(args)
    agents = llm_agents(args.llm_agents)
    options = ClusterConfig(
        agents=tuple(args.agent) if args.agent else all_agents(),
        host=args.host,
        port_base=args.port_base,
        ports=_port_pairs(args.port),
        free_ports=args.free_ports,
        workers=args.workers,
        backend=args.backend,
        llm_url=llm_url,
        llm_model=llm_model,
        llm_agents=tuple(sorted(agents)) if agents is not None else None,
        llm_max_tokens=args.llm_max_tokens,
        llm_context=llm_context,
        llm_schema=args.llm_schema,
        cost=args.cost,
        time_scale=args.time_scale,
        orchestrator_backend="embedded" if args.embedded_orchestrator else "a2a",
        max_body=args.max_body,
        shutdown_timeout=args.shutdown_timeout,
        trust_peers=args.trust_peers,
        artifact_store_mb=args.artifact_store_mb,
        header_timeout=args.header_timeout,
        body_timeout=args.body_timeout,
        max_connections=args.max_connections,
        write_agents=args.write_agents,
        loop=args.loop,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        tls_self_signed=args.tls_self_signed,
    )
    return serve(options)


def register(sub: Any) -> None:
    ports = ", ".join(f"{name} {port}" for name, port in DEFAULT_PORTS.items())
    p = sub.add_parser(
        "serve",
        help="serve every agent over A2A (JSON-RPC, SSE) until Ctrl+C",
        description=(
            "Serve the agents as A2A servers, one port per agent. Default ports: "
            f"{ports}. --port-base B moves them all: port = B + (default - {DEFAULT_PORT_BASE});"
            " every port must land in 1024-65535."
            " Authentication: set VGKIT_AUTH_TOKEN (bearer) and/or VGKIT_HMAC_SECRET."
            " HTTPS: --tls-cert and --tls-key, or --tls-self-signed."
        ),
    )
    p.add_argument(
        "--agent",
        action="append",
        metavar="NAME",
        help=f"serve only these (repeat); default all: {', '.join(all_agents())}",
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    p.add_argument(
        "--port-base",
        type=int,
        default=DEFAULT_PORT_BASE,
        help=f"move every port by the same offset (default {DEFAULT_PORT_BASE})",
    )
    p.add_argument("--port", action="append", metavar="NAME=PORT", help="override one agent's port")
    p.add_argument("--free-ports", action="store_true", help="put every agent on a free port")
    p.add_argument("--workers", type=int, default=1, help="worker processes sharing the ports")
    add_llm_arguments(p)
    p.add_argument("--cost", metavar="PROFILE", help="add seeded agent latency (experiments)")
    p.add_argument("--time-scale", type=float, default=0.01, help="multiplier for --cost")
    p.add_argument(
        "--embedded-orchestrator",
        action="store_true",
        help="the orchestrator agent runs its graph in-process, not over A2A",
    )
    p.add_argument(
        "--max-body",
        type=int,
        default=DEFAULT_MAX_BODY,
        help=f"largest request body in bytes (default {DEFAULT_MAX_BODY})",
    )
    p.add_argument(
        "--shutdown-timeout",
        type=float,
        default=10.0,
        help="seconds to let requests finish on shutdown",
    )
    p.add_argument(
        "--header-timeout",
        type=float,
        default=DEFAULT_HEADER_TIMEOUT,
        metavar="SECONDS",
        help="a request's line and headers must arrive within this, else 408 and the "
        f"connection is closed (default {DEFAULT_HEADER_TIMEOUT:g})",
    )
    p.add_argument(
        "--body-timeout",
        type=float,
        default=DEFAULT_BODY_TIMEOUT,
        metavar="SECONDS",
        help="a request's body must arrive within this once its headers are in, else 408 "
        f"(default {DEFAULT_BODY_TIMEOUT:g})",
    )
    p.add_argument(
        "--max-connections",
        type=int,
        default=DEFAULT_MAX_CONNECTIONS,
        metavar="N",
        help="open connections per server process; beyond it 503 with Retry-After "
        f"(default {DEFAULT_MAX_CONNECTIONS}, kept 256 under ulimit -n)",
    )
    p.add_argument(
        "--trust-peers",
        action="store_true",
        help="every client is a vgkit peer that validated what it sends: agents skip "
        "re-validating the request and blocking sends keep no task (HMAC-signed requests, "
        "VGKIT_HMAC_SECRET, are trusted without it; never expose such a server to others)",
    )
    p.add_argument(
        "--artifact-store-mb",
        type=float,
        default=DEFAULT_ARTIFACT_STORE_BYTES / 2**20,
        metavar="MIB",
        help="artifacts each process keeps for trusted peers, which then send a reference "
        "instead of an artifact this server made (default "
        f"{DEFAULT_ARTIFACT_STORE_BYTES // 2**20}; 0: none; see docs/a2a.md)",
    )
    p.add_argument(
        "--write-agents",
        metavar="FILE.json",
        help="write the endpoints as an agents file (for --agents / VGKIT_AGENTS)",
    )
    p.add_argument(
        "--loop",
        choices=LOOPS,
        default=DEFAULT_LOOP,
        help="event loop: uvloop (less CPU per request) or asyncio; auto uses uvloop when "
        f"installed (default {DEFAULT_LOOP})",
    )
    p.add_argument("--tls-cert", metavar="CERT.pem", help="serve https with this certificate chain")
    p.add_argument("--tls-key", metavar="KEY.pem", help="the private key of --tls-cert")
    p.add_argument(
        "--tls-self-signed",
        action="store_true",
        help="serve https with a throwaway certificate for 127.0.0.1 and localhost (printed; "
        "clients trust it with VGKIT_CA_FILE)",
    )
    p.set_defaults(handler=cmd_serve)
