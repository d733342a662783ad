"""A2ABackend: run the agents of the graph on A2A agent servers.

``Orchestrator(backend=A2ABackend(endpoints))`` runs the same graph as the
embedded agents, but each agent call travels as an A2A message (the
``AgentCall`` payload as a data part) to the agent's server through the pooled
A2A client, and the artifact comes back as JSON validated into the same model,
so plans are byte-identical to an in-process run. Several URLs per agent are
replicas: the pool balances them and fails over.

Agents without an endpoint run on ``fallback`` (for example
``TemplateBackend()``); without a fallback every agent needs one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from pydantic import ValidationError

from vgkit.a2a.protocol import Dialect, Message, Task, TaskState
from vgkit.agents.base import AgentCall, Backend
from vgkit.client.a2a import A2AClient
from vgkit.client.config import PoolConfig
from vgkit.endpoints import parse_agents
from vgkit.errors import AgentError, BackendError, ClientError, ConfigError, RpcError
from vgkit.metrics import MetricsRegistry
from vgkit.models import Model

__all__ = ["A2ABackend"]


class A2ABackend:
    """Produces artifacts by calling A2A agent servers (see the module docstring).

    ``endpoints``: agent name -> base URL(s), a file, ``name=url`` pairs or
    ``local`` (see ``vgkit.endpoints``); or pass a ready ``client``.
    ``timeout`` bounds each call, retries included. ``metrics``: the registry the
    client it makes records into (its calls, its pool, its spans; default: the
    process's).
    """

    name = "a2a"

    def __init__(
        self,
        endpoints: Mapping[str, str | Sequence[str]] | Sequence[str] | str | None = None,
        *,
        client: A2AClient | None = None,
        fallback: Backend | None = None,
        pool_config: PoolConfig | None = None,
        auth_token: str | None = None,
        hmac_secret: str | None = None,
        dialect: Dialect = Dialect.V1,
        timeout: float | None = None,
        metrics: MetricsRegistry | None = None,
    ) -> None:
        from vgkit.agents import SPECS

        if client is None:
            if endpoints is None:
                raise ConfigError("A2ABackend needs endpoints (agent name -> URL) or a client")
            table = parse_agents(endpoints)
            table = {name: urls for name, urls in table.items() if name in SPECS}
            client = A2AClient(
                table,
                pool_config=pool_config,
                auth_token=auth_token,
                hmac_secret=hmac_secret,
                dialect=dialect,
                metrics=metrics,
            )
            self._own_client = True
        else:
            self._own_client = False
        self.client = client
        self.fallback = fallback
        self.timeout = timeout
        served = set(client.agents)
        missing = [name for name in SPECS if name not in served]
        if missing and fallback is None:
            raise ConfigError(
                f"no endpoint for {', '.join(missing)}; add them to the agents configuration "
                "or pass fallback=TemplateBackend()"
            )
        self._remote = served & set(SPECS)

    def fingerprint(self) -> str:
        table = orjson.dumps(self.client.agents, option=orjson.OPT_SORT_KEYS)
        digest = hashlib.sha256(table).hexdigest()[:16]
        tail = f"+{self.fallback.fingerprint()}" if self.fallback is not None else ""
        return f"a2a/{digest}{tail}"

    async def run(self, call: AgentCall) -> Model:
        agent = call.spec.name
        if agent not in self._remote:
            assert self.fallback is not None
            return await self.fallback.run(call)
        try:
            # The call's canonical JSON (each upstream artifact's computed once per
            # model) goes into the request as it is, not dumped again per call.
            payload = orjson.Fragment(call.canonical())
            result = await self.client.send(agent, data=payload, timeout=self.timeout)
        except RpcError as exc:
            raise AgentError(agent, f"the agent server rejected the call: {exc}") from exc
        except ClientError as exc:
            raise BackendError(agent, str(exc)) from exc
        return _artifact(call, result)

    async def aclose(self) -> None:
        if self._own_client:
            await self.client.aclose()
        if self.fallback is not None:
            await self.fallback.aclose()


def _artifact(call: AgentCall, result: Task | Message) -> Model:
    agent = call.spec.name
    if isinstance(result, Message):
        raise BackendError(agent, f"the server replied with a message: {' '.join(result.texts())}")
    if result.state is not TaskState.COMPLETED:
        status = result.status.message
        why = " ".join(status.texts()) if status else ""
        raise AgentError(agent, f"remote task {result.state.value}: {why or 'no reason given'}")
    data: Any = None
    for artifact in result.artifacts:
        for part in artifact.parts:
            if part.text is None:
                data = part.data
                break
        if data is not None:
            break
    if data is None:
        raise BackendError(agent, "the remote task completed without a data artifact")
    try:
        return call.spec.output.model_validate(data)
    except ValidationError as exc:
        raise BackendError(agent, f"the remote artifact is not a valid "
                           f"{call.spec.output.__name__}: {exc}") from None  # fmt: skip
