"""What ``vgkit serve`` was asked to do: the configuration of a cluster of agent servers.

:class:`ClusterConfig` is every ``vgkit serve`` option (which agents, ports,
workers, backend, TLS, event loop); :class:`~vgkit.serve.app.ServeConfig`,
which it builds, is what each agent server needs. A ``ClusterConfig`` travels
as JSON to worker processes (no secrets: those stay in the environment,
``VGKIT_AUTH_TOKEN`` / ``VGKIT_HMAC_SECRET``, which the workers inherit).
``vgkit.serve.command`` runs it.
"""

from __future__ import annotations

import dataclasses
import math
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from vgkit.a2a.tls import TLSConfig, self_signed
from vgkit.agents import Backend, CostModel, TemplateBackend
from vgkit.config import settings
from vgkit.endpoints import DEFAULT_PORT_BASE
from vgkit.errors import ServeError
from vgkit.serve.app import DEFAULT_MAX_BODY, ServeConfig
from vgkit.serve.artifact_store import DEFAULT_ARTIFACT_STORE_BYTES
from vgkit.serve.auth import AuthConfig
from vgkit.serve.guard import DEFAULT_BODY_TIMEOUT, DEFAULT_HEADER_TIMEOUT, DEFAULT_MAX_CONNECTIONS
from vgkit.serve.launcher import Cluster, all_agents, resolve_ports, start_cluster
from vgkit.serve.loops import DEFAULT_LOOP, loop_factory

__all__ = ["BACKENDS", "ClusterConfig"]

BACKENDS = ("template", "llm")


@dataclass(frozen=True, kw_only=True)
class ClusterConfig:
    """Every option of ``vgkit serve`` (the command line's flags of the same names)."""

    agents: tuple[str, ...] = field(default_factory=all_agents)
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
    trust_peers: bool = False
    """Every client is a vgkit peer (see ``ServeConfig.trust_peers``)."""
    artifact_store_mb: float = DEFAULT_ARTIFACT_STORE_BYTES / 2**20
    """MiB of artifacts each process keeps for trusted peers' references (0: none)."""
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    write_agents: str | None = None
    loop: str = DEFAULT_LOOP
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_self_signed: bool = False
    """Make a throwaway certificate for 127.0.0.1 and localhost (``serve`` does, once)."""
    llm_url: str | None = None
    """The llm backend's endpoint (None: ``VGKIT_LLM_BASE_URL``)."""
    llm_model: str | None = None
    llm_agents: tuple[str, ...] | None = None
    """The generative agents the model writes (None: all seven)."""
    llm_max_tokens: int | None = None
    llm_context: int | None = None
    """The model's context window (None: learned from the endpoint's first refusal)."""
    llm_schema: str = "llama-cpp"

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
        for flag, seconds in (("--header-timeout", self.header_timeout),
                              ("--body-timeout", self.body_timeout)):  # fmt: skip
            if not seconds > 0:
                raise ServeError(f"{flag} must be positive seconds, not {seconds}")
        if self.max_connections < 1:
            raise ServeError(f"--max-connections must be at least 1, not {self.max_connections}")
        if not (self.artifact_store_mb >= 0 and math.isfinite(self.artifact_store_mb)):
            raise ServeError(
                f"--artifact-store-mb must be a size in MiB >= 0, not {self.artifact_store_mb}"
            )
        if self.max_body < 1024:
            raise ServeError(f"--max-body must be at least 1024 bytes, not {self.max_body}")
        # Every agent port inside 1024-65535 (or 0), checked before anything binds.
        resolve_ports(
            self.agents, port_base=self.port_base, ports=self.ports, free_ports=self.free_ports
        )

    def to_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "agents": list(self.agents), "ports": dict(self.ports)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ClusterConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        values["agents"] = tuple(values.get("agents") or all_agents())
        if values.get("llm_agents") is not None:
            values["llm_agents"] = tuple(values["llm_agents"])
        return cls(**values)

    def backend_factory(self) -> Callable[[], Backend]:
        """Makes the process's backend (``start_cluster`` calls it once and shares it)."""

        def make() -> Backend:
            inner: Backend
            if self.backend == "llm":
                from vgkit.agents.llm import LLMBackend, LLMConfig

                overrides: dict[str, Any] = {
                    "max_tokens": self.llm_max_tokens,
                    "context": self.llm_context,
                    "schema_style": self.llm_schema,
                    "agents": frozenset(self.llm_agents) if self.llm_agents else None,
                }
                if self.llm_url:
                    overrides["base_url"] = self.llm_url
                if self.llm_model:
                    overrides["model"] = self.llm_model
                inner = LLMBackend(LLMConfig.from_settings(**overrides))
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

    def with_certificate(self) -> ClusterConfig:
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
            trust_peers=self.trust_peers,
            artifact_store_bytes=int(self.artifact_store_mb * 2**20),
            header_timeout=self.header_timeout,
            body_timeout=self.body_timeout,
            max_connections=self.max_connections,
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
