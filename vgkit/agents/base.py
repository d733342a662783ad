"""What an agent is, how it is called, and what a backend must provide.

An agent is a pure async function of an :class:`AgentCall` (the request slice it
needs, the platform, and the artifacts of the agents it depends on) returning one
validated artifact. :class:`AgentSpec` describes it: name, version, the graph step
it fills, the steps it reads, the artifact type, the cache content kind, its
server's port, its cost in the seed profile and its llm prompt.

A :class:`Backend` produces artifacts for calls. The template backend is the
embedded default; the LLM backend asks a chat-completions model; a cost model
can wrap either to add realistic latency. Everything a call carries is JSON, so
a call can be hashed for the cache or sent to a remote agent over A2A and come
back byte-identical.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

import orjson
from pydantic import ValidationError

from vgkit.errors import AgentError, InvalidRequestError
from vgkit.models import Model, VideoRequest, model_canonical
from vgkit.platforms import Platform

__all__ = [
    "AgentCall",
    "AgentFn",
    "AgentSpec",
    "Backend",
    "call_rng",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentSpec:
    """Everything about one agent that the rest of vgkit reads.

    The graph (:mod:`vgkit.pipeline`) reads ``step`` and ``needs``; the servers and
    the agents file (:mod:`vgkit.endpoints`) ``name`` and ``port``; the seed cost
    profile (:mod:`vgkit.agents.cost`) ``seconds``; the llm backend ``prompt``
    and ``output``; the cache ``kind``, ``name`` and ``version``. The agent's
    inputs are the request and the ``output`` models of the steps it ``needs``.
    Register a spec with :func:`vgkit.agents.catalog.register` (beside its
    template implementation) and every one of those picks it up.
    """

    name: str
    """Agent name, as used for servers, ports, metrics and cache keys."""
    step: str
    """Graph step this agent fills (``script`` in ``script:youtube``)."""
    version: str
    """Bump when the agent's output changes for the same inputs (it is in the cache key)."""
    output: type[Model]
    """The artifact's model: what the agent returns and what a remote answer validates into."""
    needs: tuple[str, ...] = ()
    """Steps whose artifacts this agent reads."""
    kind: str = ""
    """Cache content kind (script, storyboard, timing, ...); defaults to ``step``."""
    per_platform: bool = True
    port: int
    """Port of the agent's server at the default port base 10000 (``--port-base`` moves it)."""
    seconds: float = 1.0
    """Mean latency in the ``seed`` cost profile, in seconds of model time (before
    ``time_scale``): the figures of the reference analysis."""
    prompt: str = ""
    """The llm backend's instruction for this agent; empty for agents computed the
    same way by every backend (timing, assembler, quality)."""
    description: str = ""
    skills: tuple[str, ...] = ()

    @property
    def generative(self) -> bool:
        """Whether a model-backed backend generates it (it has a prompt)."""
        return bool(self.prompt)

    @property
    def content_kind(self) -> str:
        return self.kind or self.step

    def node_id(self, platform: Platform | None) -> str:
        """The graph node id of this agent for ``platform``."""
        if not self.per_platform or platform is None:
            return self.step
        return f"{self.step}:{platform.value}"


@dataclass(frozen=True, slots=True)
class AgentCall:
    """One invocation of an agent: everything the output may depend on.

    ``request`` is already narrowed to what the agent may use (per-platform agents
    see a request for their platform only; topic analysis sees no platform or
    duration), so equal work hashes equally whatever else the user asked for.
    """

    spec: AgentSpec
    request: VideoRequest
    platform: Platform | None = None
    inputs: Mapping[str, Model] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        missing = [step for step in self.spec.needs if step not in self.inputs]
        if missing:
            raise AgentError(self.spec.name, f"missing inputs: {', '.join(missing)}")
        if self.spec.per_platform and self.platform is None:
            raise AgentError(self.spec.name, "a per-platform agent needs a platform")

    @property
    def agent(self) -> str:
        return self.spec.name

    def input(self, step: str, kind: type[Any]) -> Any:
        """The upstream artifact of ``step``, checked to be of type ``kind``."""
        value = self.inputs[step]
        if not isinstance(value, kind):
            raise AgentError(self.spec.name, f"input {step!r} is {type(value).__name__}")
        return value

    def payload(self) -> dict[str, Any]:
        """The call as JSON-able data (what the cache hashes and A2A sends)."""
        return {
            "agent": self.spec.name,
            "version": self.spec.version,
            "platform": self.platform.value if self.platform else None,
            "request": self.request.model_dump(mode="json"),
            "inputs": {
                step: self.inputs[step].model_dump(mode="json") for step in sorted(self.inputs)
            },
        }

    def canonical(self, replace: Mapping[str, bytes] | None = None) -> bytes:
        """Canonical JSON of the payload: equal calls give equal bytes.

        The same bytes as ``canonical_json(self.payload())``, assembled from
        each model's own canonical JSON (computed once per model), so hashing
        a call does not dump its upstream artifacts again. ``replace``: step ->
        JSON sent in place of that input (the artifact references of
        :class:`~vgkit.agents.A2ABackend`); the bytes are then what goes on the
        wire, no longer the call's canonical form.
        """
        dumps = orjson.dumps
        parts = [b'{"agent":', dumps(self.spec.name), b',"inputs":{']
        for i, step in enumerate(sorted(self.inputs)):
            value = replace.get(step) if replace else None
            if value is None:
                value = model_canonical(self.inputs[step])
            parts += [b"," if i else b"", dumps(step), b":", value]
        platform = self.platform.value if self.platform is not None else None
        parts += [b'},"platform":', dumps(platform), b',"request":', model_canonical(self.request)]
        parts += [b',"version":', dumps(self.spec.version), b"}"]
        return b"".join(parts)

    def digest(self, backend_fingerprint: str = "") -> str:
        """Hash of agent name, version, backend fingerprint and canonical inputs."""
        h = hashlib.sha256(backend_fingerprint.encode())
        h.update(b"\0")
        h.update(self.canonical())
        return h.hexdigest()

    @classmethod
    def from_payload(
        cls, data: Mapping[str, Any], specs: Mapping[str, AgentSpec], *, trusted: bool = False
    ) -> AgentCall:
        """Rebuild a call sent as JSON; raises InvalidRequestError with what is wrong.

        ``trusted``: the payload comes from a vgkit peer that validated the
        request (a trusted hop): the request is rebuilt without its validators
        (``VideoRequest.from_peer``). The upstream artifacts are validated either
        way: pydantic-core checks them faster than any Python-level rebuild.
        """
        try:
            name = data["agent"]
            spec = specs[name]
        except (KeyError, TypeError):
            raise InvalidRequestError(f"unknown agent {data.get('agent')!r}") from None
        raw_inputs = data.get("inputs") or {}
        if not isinstance(raw_inputs, Mapping):
            raise InvalidRequestError("inputs must be an object of step -> artifact")
        inputs: dict[str, Model] = {}
        by_step = {s.step: s for s in specs.values()} if raw_inputs else {}
        for step, raw in raw_inputs.items():
            if step not in by_step:
                raise InvalidRequestError(f"unknown input step {step!r}")
            try:
                inputs[step] = by_step[step].output.model_validate(raw)
            except ValidationError as exc:
                raise InvalidRequestError(f"input {step!r} is invalid: {exc}") from None
        platform_raw = data.get("platform")
        try:
            platform = Platform(platform_raw) if platform_raw is not None else None
        except ValueError:
            raise InvalidRequestError(f"unknown platform {platform_raw!r}") from None
        raw_request = data.get("request")
        if trusted:
            request = VideoRequest.from_peer(raw_request)
        else:
            request = VideoRequest.model_validate(raw_request)
        try:
            return cls(spec=spec, request=request, platform=platform, inputs=inputs)
        except AgentError as exc:
            raise InvalidRequestError(str(exc)) from None


def call_rng(call: AgentCall, salt: str = "") -> random.Random:
    """A RNG seeded from the request seed, agent, platform and topic.

    Same call, same numbers, in any process (no use of ``hash()``).
    """
    key = orjson.dumps([call.request.seed, call.spec.name, call.platform, call.request.topic, salt])
    return random.Random(int.from_bytes(hashlib.sha256(key).digest()[:8], "big"))


#: The signature of an agent implementation inside a backend.
AgentFn = Callable[[AgentCall], Any]


@runtime_checkable
class Backend(Protocol):
    """Produces artifacts for agent calls."""

    @property
    def name(self) -> str:
        """Short backend name (template, llm, a2a)."""
        ...

    def fingerprint(self) -> str:
        """Changes whenever the backend could answer the same call differently."""
        ...

    async def run(self, call: AgentCall) -> Model:
        """The artifact for ``call`` (raises AgentError or BackendError)."""
        ...

    async def aclose(self) -> None:
        """Release connections or other resources."""
        ...
