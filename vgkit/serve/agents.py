"""What an agent server serves: the ``ServedAgent`` protocol and the pipeline agents.

A served agent has an ``info`` (for its card) and turns an incoming message
into a job in two steps: ``prepare`` validates the message synchronously and
raises ``RpcError`` (invalid params) with what is wrong, so bad input is
answered with a JSON-RPC error before any task exists; the returned job then
runs against a ``TaskContext``, reporting status and adding artifacts.

``PipelineAgent`` serves one agent of the pipeline: the message carries the
``AgentCall`` payload as a data part (``AgentCall.payload()``: agent, version,
platform, request, inputs); the artifact comes back as a data part holding the
model's JSON, so the caller validates it into the same model, byte for byte.
A traced call (``vgkit.tracing.current()`` set by the server from the
``traceparent`` header) records the agent's span, and :func:`traced` hands the
spans recorded for the call back in the task's metadata.
Over a trusted hop the request in the payload is rebuilt without its validators
(the peer that sent it validated it where it came in), an artifact the peer asks
to keep is kept in the process's artifact store and named in its metadata, and an
input may be such a reference instead of the artifact
(:mod:`vgkit.serve.artifact_store`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import orjson
from pydantic import ValidationError

from vgkit import tracing
from vgkit.a2a.cards import AgentInfo, Skill
from vgkit.a2a.protocol import INVALID_PARAMS, Artifact, Message, Part, new_id
from vgkit.a2a.refs import KEEP_KEY, REF_KEY, reference
from vgkit.agents import SPECS, AgentCall, AgentSpec, Backend
from vgkit.errors import InvalidRequestError, RpcError
from vgkit.metrics import default_registry
from vgkit.serve.artifact_store import ArtifactStore
from vgkit.serve.tasks import TaskContext

__all__ = ["Job", "PipelineAgent", "ServedAgent", "artifact_of", "skill_name", "traced"]

Job = Callable[[TaskContext], Awaitable[None]]


class ServedAgent(Protocol):
    """An agent an ``AgentServer`` can serve."""

    @property
    def info(self) -> AgentInfo: ...

    def prepare(self, message: Message, *, trusted: bool = False) -> Job:
        """Validate ``message`` (raise RpcError) and return the job that answers it.

        ``trusted``: the message comes over a trusted hop (``ServeConfig.trust_peers``
        or an HMAC-signed request), from a vgkit peer that validated what it sends;
        an agent may then skip the checks that peer already made.
        """
        ...

    async def aclose(self) -> None: ...


def skill_name(skill_id: str) -> str:
    return skill_id.replace("-", " ").capitalize()


def artifact_of(
    step: str, value: Any, *, type_name: str, text: str | None = None, ref: str | None = None
) -> Artifact:
    """An artifact named after ``step``: the JSON as a data part, then optional text;
    ``ref``: the reference it is kept under for the peer (:mod:`vgkit.a2a.refs`)."""
    parts = [Part(data=value)]
    if text is not None:
        parts.append(Part(text=text))
    metadata: dict[str, Any] = {"type": type_name}
    if ref is not None:
        metadata[REF_KEY] = ref
    return Artifact(artifact_id=new_id(), name=step, parts=parts, metadata=metadata)


class traced:
    """The agent's span for a traced call (None when the call carries no trace).

    The span (and every span recorded inside, a nested orchestrator run's say)
    goes into the span log of the server's registry (``ctx.registry``; the
    process's default registry when the context has none) and, when the block
    ends, into the task's metadata under ``vgkit.spans``, for the caller's trace
    (as the spans themselves: orjson writes them as JSON objects).
    """

    __slots__ = ("attrs", "ctx", "hop", "name")

    def __init__(self, ctx: TaskContext, name: str, **attrs: Any) -> None:
        self.ctx, self.name, self.attrs = ctx, name, attrs
        self.hop: tracing.hop | None = None

    def __enter__(self) -> tracing.Span | None:
        if tracing.current() is None:
            return None
        registry = self.ctx.registry if self.ctx.registry is not None else default_registry()
        self.hop = tracing.hop(
            self.name, kind="agent", registry=registry,
            session_id=self.ctx.task.context_id, **self.attrs,
        )  # fmt: skip
        return self.hop.__enter__()

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        if self.hop is None:
            return
        self.hop.__exit__(kind, *exc)
        task = self.ctx.task
        meta = task.metadata if task.metadata is not None else {}
        meta[tracing.SPANS_KEY] = self.hop.spans
        task.metadata = meta


def first_object(message: Message) -> dict[str, Any] | None:
    """The first data part that is an object, or a text part that parses as one."""
    for part in message.parts:
        if part.text is None and isinstance(part.data, dict):
            return part.data
    for text in message.texts():
        stripped = text.strip()
        if stripped.startswith("{"):
            try:
                value = orjson.loads(stripped)
            except orjson.JSONDecodeError:
                continue
            if isinstance(value, dict):
                return value
    return None


class PipelineAgent:
    """Serves one pipeline agent over a backend (template by default).

    ``store``: where artifacts answered to trusted peers are kept, so that they can
    send references back (:mod:`vgkit.serve.artifact_store`; the agents of a
    ``vgkit serve`` process share one). None: keep nothing; a reference is then
    answered as not held.
    """

    def __init__(
        self, spec: AgentSpec, backend: Backend, store: ArtifactStore | None = None
    ) -> None:
        self.spec = spec
        self.backend = backend
        self.store = store if store is not None else ArtifactStore(0)
        self.info = AgentInfo(
            name=spec.name,
            description=spec.description,
            version=spec.version,
            skills=tuple(
                Skill(
                    id=skill,
                    name=skill_name(skill),
                    description=f"{spec.description} ({skill})",
                    tags=(skill, spec.step, spec.content_kind),
                )
                for skill in (spec.skills or (spec.step,))
            ),
            backend={"name": backend.name, "fingerprint": backend.fingerprint()},
        )

    def prepare(self, message: Message, *, trusted: bool = False) -> Job:
        payload = first_object(message)
        if payload is None:
            raise RpcError(
                INVALID_PARAMS,
                f"{self.spec.name} expects a data part holding an agent call "
                "{agent, version, platform, request, inputs} (see AgentCall.payload())",
            )
        agent = payload.get("agent", self.spec.name)
        if agent != self.spec.name:
            raise RpcError(INVALID_PARAMS, f"this server hosts {self.spec.name!r}, not {agent!r}")
        version = payload.get("version", self.spec.version)
        if version != self.spec.version:
            raise RpcError(
                INVALID_PARAMS,
                f"{self.spec.name} is version {self.spec.version}, the call asks for {version!r}",
            )
        inputs = payload.get("inputs")
        if isinstance(inputs, dict) and any(reference(v) is not None for v in inputs.values()):
            payload = {**payload, "inputs": self.store.resolve(inputs, trusted=trusted)}
        try:
            call = AgentCall.from_payload(
                {**payload, "agent": self.spec.name}, SPECS, trusted=trusted
            )
        except InvalidRequestError as exc:
            raise RpcError(INVALID_PARAMS, str(exc)) from None
        except ValidationError as exc:
            detail = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'request'}: {e['msg']}" for e in exc.errors()
            )
            raise RpcError(INVALID_PARAMS, f"invalid request: {detail}") from None
        except (TypeError, ValueError) as exc:
            raise RpcError(INVALID_PARAMS, f"invalid agent call: {exc}") from None

        node = self.spec.node_id(call.platform)
        # Kept only when a trusted peer asks (it will send references to it later).
        keep = trusted and self.store.enabled and bool((message.metadata or {}).get(KEEP_KEY))
        store = self.store if keep else None

        async def job(ctx: TaskContext) -> None:
            with traced(ctx, node, agent=self.spec.name, node=node, cache="off"):
                artifact = await self.backend.run(call)
            # The model's JSON straight from pydantic-core, spliced into the response
            # by orjson as it is (no dict of dicts built and walked again).
            text = artifact.model_dump_json()
            ref = store.put(artifact, len(text)) if store is not None else None
            ctx.artifact(
                artifact_of(
                    self.spec.step, orjson.Fragment(text), type_name=type(artifact).__name__,
                    ref=ref,
                )
            )  # fmt: skip

        return job

    async def aclose(self) -> None:
        await self.backend.aclose()
