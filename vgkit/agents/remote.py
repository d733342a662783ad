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
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import orjson
from pydantic import ValidationError

from vgkit.a2a.protocol import Dialect, Message, Task, TaskState
from vgkit.a2a.refs import ARTIFACT_REF_NOT_FOUND, KEEP_KEY, REF_KEY, ref_json, store_of
from vgkit.agents.base import AgentCall, Backend
from vgkit.client.a2a import A2AClient
from vgkit.client.config import PoolConfig
from vgkit.endpoints import parse_agents
from vgkit.errors import AgentError, BackendError, ClientError, ConfigError, RpcError
from vgkit.metrics import MetricsRegistry, Sample, register_source
from vgkit.models import ByIdentity, Model

__all__ = ["STORE_WINDOW", "A2ABackend", "ArtifactRefs"]


class A2ABackend:
    """Produces artifacts by calling A2A agent servers (see the module docstring).

    ``endpoints``: agent name -> base URL(s), a file, ``name=url`` pairs or
    ``local`` (see ``vgkit.endpoints``); or pass a ready ``client``.
    ``timeout`` bounds each call, retries included. ``metrics``: the registry the
    client it makes records into (its calls, its pool, its spans; default: the
    process's). ``by_reference``: send an upstream artifact as the reference its
    server handed out, when the agent called is served by the same process
    (trusted hops only; see :class:`ArtifactRefs` and :mod:`vgkit.a2a.refs`);
    False: every artifact in full.
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
        by_reference: bool = True,
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
        self.by_reference = by_reference
        self.refs = ArtifactRefs(metrics)
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
        refs = self.refs.for_call(call) if self.by_reference else {}
        try:
            try:
                result = await self._send(call, refs)
            except RpcError as exc:
                if exc.code != ARTIFACT_REF_NOT_FOUND or not refs:
                    raise
                # The server no longer holds an artifact it made (evicted, restarted,
                # or another replica answered): the same call, every artifact in full.
                self.refs.missed(agent)
                result = await self._send(call, {})
        except RpcError as exc:
            raise AgentError(agent, f"the agent server rejected the call: {exc}") from exc
        except ClientError as exc:
            raise BackendError(agent, str(exc)) from exc
        artifact, ref = _artifact(call, result)
        if self.by_reference:
            self.refs.remember(agent, artifact, ref)
        return artifact

    async def _send(self, call: AgentCall, refs: Mapping[str, bytes]) -> Task | Message:
        # The call's canonical JSON (each upstream artifact's computed once per model)
        # goes into the request as it is, not dumped again per call; an artifact the
        # agent's server holds goes as its reference.
        payload = orjson.Fragment(call.canonical(refs))
        self.refs.sent += len(refs)
        # Asked to keep the answer: a later call may send it back as a reference.
        metadata = {KEEP_KEY: True} if self.by_reference else None
        return await self.client.send(
            call.spec.name, data=payload, metadata=metadata, timeout=self.timeout
        )

    async def aclose(self) -> None:
        if self._own_client:
            await self.client.aclose()
        if self.fallback is not None:
            await self.fallback.aclose()


#: Responses of an agent whose stores decide whether references go to it: all from
#: one store (one process behind the agent's URLs), or no reference is sent.
STORE_WINDOW = 8


class ArtifactRefs:
    """The client's side of artifact references (:mod:`vgkit.a2a.refs`).

    Remembers the reference each artifact's server keeps it under, and which
    store answered each agent's last :data:`STORE_WINDOW` calls. An input goes
    to an agent as its reference only when all of those came from one store and
    the artifact is in it: one server process behind the agent (replicas or
    ``--workers N`` behind it mean several stores, so references would miss;
    a restarted server makes a new store, trusted again after a window of
    answers). ``sent`` counts references sent, ``missed_calls`` calls sent again in
    full after a miss; ``vgkit_a2a_artifact_refs_total{outcome}`` has both.
    """

    def __init__(self, metrics: MetricsRegistry | None = None) -> None:
        self.sent = 0
        self.missed_calls = 0
        self._of: ByIdentity[str] = ByIdentity()
        self._stores: dict[str, deque[str]] = {}
        register_source(self, metrics)

    def remember(self, agent: str, artifact: Model, ref: str | None) -> None:
        """``agent`` answered ``artifact``, kept under ``ref`` (None: not kept)."""
        seen = self._stores.get(agent)
        if seen is None:
            seen = self._stores[agent] = deque(maxlen=STORE_WINDOW)
        seen.append(store_of(ref) if ref else "")
        if ref:
            self._of.keep(artifact, ref)

    def missed(self, agent: str) -> None:
        """``agent``'s server did not hold a reference sent to it: none for a window."""
        self.missed_calls += 1
        seen = self._stores.get(agent)
        if seen is not None:
            seen.append("")

    def for_call(self, call: AgentCall) -> dict[str, bytes]:
        """step -> reference JSON, for the inputs of ``call`` its agent's store holds."""
        seen = self._stores.get(call.spec.name)
        if not seen:
            return {}
        store = seen[0]
        if not store or seen.count(store) != len(seen):
            return {}
        out: dict[str, bytes] = {}
        for step, model in call.inputs.items():
            ref = self._of.lookup(model)
            if ref is not None and store_of(ref) == store:
                out[step] = ref_json(ref)
        return out

    def metric_samples(self) -> Iterator[Sample]:
        for outcome, count in (("sent", self.sent), ("missed", self.missed_calls)):
            yield Sample("vgkit_a2a_artifact_refs", "counter",
                         "Artifact references sent, and calls sent again in full after a miss",
                         {"outcome": outcome}, count)  # fmt: skip


def _artifact(call: AgentCall, result: Task | Message) -> tuple[Model, str | None]:
    """The artifact of a completed task, and the reference its server keeps it under."""
    agent = call.spec.name
    if isinstance(result, Message):
        raise BackendError(agent, f"the server replied with a message: {' '.join(result.texts())}")
    if result.state is not TaskState.COMPLETED:
        status = result.status.message
        why = " ".join(status.texts()) if status else ""
        raise AgentError(agent, f"remote task {result.state.value}: {why or 'no reason given'}")
    data: Any = None
    ref: Any = None
    for artifact in result.artifacts:
        for part in artifact.parts:
            if part.text is None:
                data = part.data
                ref = (artifact.metadata or {}).get(REF_KEY)
                break
        if data is not None:
            break
    if data is None:
        raise BackendError(agent, "the remote task completed without a data artifact")
    try:
        return call.spec.output.model_validate(data), ref if isinstance(ref, str) else None
    except ValidationError as exc:
        raise BackendError(agent, f"the remote artifact is not a valid "
                           f"{call.spec.output.__name__}: {exc}") from None  # fmt: skip
