"""Where the agents live: the default port map and agent-endpoint configuration.

Each agent's port is its ``AgentSpec.port``, so a registered agent has one
here too (:data:`DEFAULT_PORTS` is a live view). The pipeline's ports come
from the original system (orchestrator 10106, script writer 10212, scene
designer 10213, timing coordinator 10214, hook creator 10215, shot describer
10301, transition planner 10302, CTA generator 10303); the agents it did not
have take the next ports after the map: topic analysis 10304, assembler
10305, quality validator 10306.

``--port-base B`` moves every port by the same offset: ``port = B + (default
- 10000)``, so ``--port-base 20000`` puts the orchestrator on 20106 and the
script writer on 20212 (the default base is 10000). Every agent port must land
in 1024-65535 (bases 918 to 65229): vgkit never binds a privileged port, as
root neither, so a typo such as ``--port-base -5`` fails in one line instead
of binding ports 101-301.

Endpoint configuration (``--agents`` on the CLI, ``VGKIT_AGENTS``, or the
``A2ABackend`` argument) maps agent names to one or more base URLs:

* a file, TOML or JSON, with an ``agents`` table (or the mapping at top level)::

      [agents]
      script_writer = "http://127.0.0.1:10212"
      scene_designer = ["http://127.0.0.1:10213", "http://127.0.0.1:20213"]

* ``name=url`` pairs (repeat a name for replicas);
* ``local`` or ``local:BASE``: every agent on 127.0.0.1 at the port map.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from vgkit.agents.catalog import ORCHESTRATOR, ORCHESTRATOR_PORT, SPECS
from vgkit.errors import ConfigError

__all__ = [
    "DEFAULT_PORTS",
    "DEFAULT_PORT_BASE",
    "MAX_PORT",
    "MIN_PORT",
    "check_port",
    "local_endpoints",
    "parse_agents",
    "port_for",
    "read_agents_file",
]

DEFAULT_PORT_BASE = 10000


class PortMap(Mapping[str, int]):
    """Served agent -> port at the default base: the orchestrator, then every registered
    agent's ``AgentSpec.port`` (a live view, so it never misses a registered agent)."""

    def __getitem__(self, agent: str) -> int:
        if agent == ORCHESTRATOR:
            return ORCHESTRATOR_PORT
        return SPECS[agent].port

    def __iter__(self) -> Iterator[str]:
        yield ORCHESTRATOR
        yield from SPECS

    def __len__(self) -> int:
        return 1 + len(SPECS)

    def __repr__(self) -> str:
        return f"PortMap({dict(self)!r})"


#: Agent name -> port (at the default base 10000).
DEFAULT_PORTS: Mapping[str, int] = PortMap()


#: Agent ports live in the unprivileged range, as root too: vgkit never binds a port
#: below 1024 (put a reverse proxy in front for 80 or 443).
MIN_PORT = 1024
MAX_PORT = 65535
#: The port bases that keep every agent of the map inside MIN_PORT-MAX_PORT.
MIN_PORT_BASE = MIN_PORT - (min(DEFAULT_PORTS.values()) - DEFAULT_PORT_BASE)
MAX_PORT_BASE = MAX_PORT - (max(DEFAULT_PORTS.values()) - DEFAULT_PORT_BASE)


def check_port(port: int, what: str) -> int:
    """``port`` when it is 0 (any free port) or inside 1024-65535; else ConfigError."""
    if port != 0 and not MIN_PORT <= port <= MAX_PORT:
        raise ConfigError(
            f"{what} port {port} is outside {MIN_PORT}-{MAX_PORT} (ports below {MIN_PORT} "
            "need root and vgkit never binds them); choose a port in that range, or 0 for any"
        )
    return port


def port_for(agent: str, base: int = DEFAULT_PORT_BASE) -> int:
    """The port of ``agent`` when the map is moved to ``base``."""
    try:
        default = DEFAULT_PORTS[agent]
    except KeyError:
        raise ConfigError(f"unknown agent {agent!r}; agents: {', '.join(DEFAULT_PORTS)}") from None
    port = base + default - DEFAULT_PORT_BASE
    if not MIN_PORT <= port <= MAX_PORT:
        raise ConfigError(
            f"port base {base} puts {agent} on port {port}, outside {MIN_PORT}-{MAX_PORT}; "
            f"choose a --port-base from {MIN_PORT_BASE} to {MAX_PORT_BASE}"
        )
    return port


def local_endpoints(base: int = DEFAULT_PORT_BASE, host: str = "127.0.0.1") -> dict[str, list[str]]:
    return {agent: [f"http://{host}:{port_for(agent, base)}"] for agent in DEFAULT_PORTS}


def _check(mapping: Mapping[str, Any], source: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in mapping.items():
        if name not in DEFAULT_PORTS:
            raise ConfigError(
                f"{source}: unknown agent {name!r}; agents: {', '.join(DEFAULT_PORTS)}"
            )
        urls = [value] if isinstance(value, str) else value
        if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
            raise ConfigError(f"{source}: {name} must be a URL or a list of URLs")
        for url in urls:
            if not url.startswith(("http://", "https://")):
                raise ConfigError(f"{source}: {name} endpoint {url!r} must start with http://")
        out[name] = list(urls)
    return out


def read_agents_file(path: str | Path) -> dict[str, list[str]]:
    """Agent endpoints from a TOML or JSON file (see the module docstring)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read agents file {p}: {exc.strerror or exc}") from exc
    try:
        data: Any = json.loads(text) if p.suffix == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(
            f"agents file {p} is not valid {'JSON' if p.suffix == '.json' else 'TOML'}: {exc}"
        ) from exc
    if not isinstance(data, dict):
        raise ConfigError(f"agents file {p} must hold a table of agent -> URL(s)")
    table = data.get("agents", data)
    if not isinstance(table, dict):
        raise ConfigError(f"agents file {p}: 'agents' must be a table of agent -> URL(s)")
    return _check(table, str(p))


def parse_agents(items: str | Path | Sequence[str] | Mapping[str, Any]) -> dict[str, list[str]]:
    """Agent endpoints from a mapping, a file, ``name=url`` pairs or ``local[:BASE]``."""
    if isinstance(items, Mapping):
        return _check(items, "agents")
    if isinstance(items, str | Path):
        items = [str(items)]
    pairs: dict[str, list[str]] = {}
    for item in items:
        if item == "local" or item.startswith("local:"):
            _, _, base = item.partition(":")
            try:
                found = local_endpoints(int(base) if base else DEFAULT_PORT_BASE)
            except ValueError:
                raise ConfigError(f"--agents {item!r}: the base must be a number") from None
        elif "=" in item:
            name, _, url = item.partition("=")
            found = _check({name.strip(): url.strip()}, f"--agents {item!r}")
        else:
            found = read_agents_file(item)
        for name, urls in found.items():
            pairs.setdefault(name, []).extend(u for u in urls if u not in pairs.get(name, []))
    return pairs


def merged(sources: Iterable[Mapping[str, list[str]]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for source in sources:
        for name, urls in source.items():
            out.setdefault(name, []).extend(urls)
    return out
