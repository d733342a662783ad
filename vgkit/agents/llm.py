"""The llm backend: generative agents written by an OpenAI-compatible chat model.

Any server that speaks ``POST {base_url}/chat/completions`` works (llama.cpp's
server from ``vgkit llm serve``, vLLM, Ollama, hosted APIs). Every request goes
through vgkit's pooled client (kept-alive connections, counted in its metrics).

For each generative agent (``AgentSpec.generative``, or the subset named in
``LLMConfig.agents``) the backend first computes the template agent's artifact
for the same call (the skeleton: timings, counts, ids), then asks the model
for the artifact's text (the draft, ``vgkit.agents.drafts``) with a prompt
made for small models (``vgkit.agents.prompts``) and the draft's JSON Schema
as ``response_format`` (schema-constrained decoding on servers that support
it). The answer is checked, laid over the skeleton and validated against the
agent's output model; an invalid answer is sent back with what was wrong, up to
``attempts`` answers in all. When none is valid the template artifact stands
in (``fallback=True``, the default) and that is counted: per call in the
orchestrator's result and events (``vgkit.agents.notes``), per agent in
``LLMBackend.stats`` and in the metrics (``vgkit_llm_*``). Endpoint failures
(refused, HTTP errors, timeouts) are not papered over: they raise
``BackendError`` and fail the node.

Non-generative agents (timing, assembler, quality) and generative agents left
out of ``agents`` are computed exactly as the template backend does.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import orjson
from pydantic import ValidationError

from vgkit.agents.base import AgentCall
from vgkit.agents.catalog import SPECS
from vgkit.agents.drafts import (
    DRAFTS,
    DraftSpec,
    apply_draft,
    check_draft,
    draft_schema,
    token_budget,
)
from vgkit.agents.notes import current_note
from vgkit.agents.prompts import CONTEXTS, PROMPTS_VERSION, messages, repair, whole_schema
from vgkit.agents.template import TemplateBackend
from vgkit.client.config import PoolConfig
from vgkit.client.pool import PooledClient
from vgkit.config import Settings, settings
from vgkit.errors import BackendError, ClientError, ConfigError
from vgkit.metrics import MetricsRegistry, default_registry
from vgkit.models import Model

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DEFAULT_LLM_ATTEMPTS",
    "GENERATIVE_AGENTS",
    "SCHEMA_STYLES",
    "LLMBackend",
    "LLMConfig",
    "LLMStats",
    "generative_agents",
]

DEFAULT_LLM_ATTEMPTS = 3
DEFAULT_LLM_TIMEOUT = 300.0
DEFAULT_TEMPERATURE = 0.2
#: Completion tokens an answer may take when the model writes a whole artifact.
WHOLE_ARTIFACT_TOKENS = 1024


def generative_agents() -> tuple[str, ...]:
    """Every registered agent a model can write (it has a prompt), in pipeline order."""
    return tuple(s.name for s in SPECS.values() if s.generative)


#: The pipeline's generative agents (``generative_agents()`` also has registered ones).
GENERATIVE_AGENTS: tuple[str, ...] = generative_agents()
#: How the draft's JSON Schema is sent: ``llama-cpp`` (``{"type": "json_object",
#: "schema": ...}``, llama-cpp-python's server), ``openai`` (``{"type":
#: "json_schema", "json_schema": {...}}``: OpenAI, vLLM, Ollama, llama.cpp's C++
#: server) or ``json`` (``{"type": "json_object"}`` only: the schema is in the prompt).
SCHEMA_STYLES = ("llama-cpp", "openai", "json")


@dataclass(frozen=True, kw_only=True, slots=True)
class LLMConfig:
    """Where the model is and how to ask it."""

    base_url: str
    """The API root, such as ``http://127.0.0.1:10400/v1`` (``/chat/completions`` is added)."""
    model: str
    api_key: str | None = None
    temperature: float = DEFAULT_TEMPERATURE
    attempts: int = DEFAULT_LLM_ATTEMPTS
    """Answers asked for per call before giving up (the first included)."""
    timeout: float = DEFAULT_LLM_TIMEOUT
    max_tokens: int | None = None
    """Cap on completion tokens per answer (None: what the draft's schema can need)."""
    agents: frozenset[str] | None = None
    """The generative agents the model writes (None: all of them); the others are
    computed by the template agents (cheaper runs: tests, notebooks, load tests)."""
    schema_style: str = "llama-cpp"
    fallback: bool = True
    """Use the template agent's artifact when no answer is valid (False: BackendError)."""

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ConfigError(f"llm base URL {self.base_url!r} must start with http:// or https://")
        if not self.model:
            raise ConfigError("the llm backend needs a model name (VGKIT_LLM_MODEL)")
        if self.attempts < 1:
            raise ConfigError(f"attempts must be at least 1, not {self.attempts}")
        if self.max_tokens is not None and self.max_tokens < 16:
            raise ConfigError(f"max_tokens must be at least 16, not {self.max_tokens}")
        if self.schema_style not in SCHEMA_STYLES:
            raise ConfigError(
                f"unknown schema style {self.schema_style!r}; "
                f"choose from {', '.join(SCHEMA_STYLES)}"
            )
        if self.agents is not None:
            agents = frozenset(self.agents)
            known = generative_agents()
            unknown = sorted(agents - set(known))
            if unknown:
                raise ConfigError(
                    f"the model cannot write {', '.join(unknown)}; generative agents: "
                    f"{', '.join(known)}"
                )
            object.__setattr__(self, "agents", agents)

    @property
    def model_agents(self) -> tuple[str, ...]:
        """The agents the model writes, in pipeline order."""
        chosen = self.agents
        return tuple(a for a in generative_agents() if chosen is None or a in chosen)

    @classmethod
    def from_settings(cls, s: Settings | None = None, **overrides: Any) -> LLMConfig:
        s = s or settings()
        fields = {"base_url": s.llm_base_url, "model": s.llm_model, "api_key": s.llm_api_key}
        fields = {k: v for k, v in fields.items() if v is not None}
        merged = {**fields, **overrides}
        if not merged.get("base_url") or not merged.get("model"):
            raise ConfigError(
                "the llm backend needs VGKIT_LLM_BASE_URL and VGKIT_LLM_MODEL (or --llm-url): "
                "start the local model with `vgkit llm serve`, for example "
                "http://127.0.0.1:10400/v1 and smollm2"
            )
        return cls(**merged)


@dataclass(slots=True)
class LLMStats:
    """What the model did for one agent, summed over calls."""

    calls: int = 0
    """Agent calls the model was asked to write."""
    model_calls: int = 0
    """Chat completions sent (first answers and repairs)."""
    invalid_answers: int = 0
    repairs: int = 0
    fallbacks: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    model_seconds: float = 0.0
    """Wall seconds waiting for completions."""


@dataclass(slots=True)
class _Answer:
    content: str
    finish_reason: str | None
    prompt_tokens: int
    completion_tokens: int
    seconds: float


class LLMBackend:
    """Asks a chat-completions model for each generative agent's text.

    ``pool``: share a ``PooledClient`` (default: one of its own, named ``llm``,
    closed with the backend). ``metrics``: where the ``vgkit_llm_*`` figures go
    (default: the process registry). ``latencies`` keeps the wall seconds of
    every agent call by agent (model or computed), the raw material of a
    measured cost profile (``vgkit.agents.cost.measured_profile``).
    """

    name = "llm"

    def __init__(
        self,
        config: LLMConfig,
        *,
        pool: PooledClient | None = None,
        metrics: MetricsRegistry | None = None,
    ) -> None:
        self.config = config
        self.metrics = metrics if metrics is not None else default_registry()
        self._own_pool = pool is None
        self.pool = (
            pool
            if pool is not None
            else PooledClient(
                PoolConfig(
                    request_timeout=config.timeout,
                    read_timeout=config.timeout,
                    health_check_interval=None,
                ),
                name="llm",
                metrics=self.metrics,
            )
        )
        self.url = config.base_url.rstrip("/")
        self._computed = TemplateBackend()
        self.calls = 0
        """Chat completions sent, every agent."""
        self.invalid_answers = 0
        self.stats: dict[str, LLMStats] = {}
        self.latencies: dict[str, list[float]] = {}
        self._closed = False
        m = self.metrics
        self._m_requests = m.llm_requests()
        self._m_repairs = m.llm_repairs()
        self._m_fallbacks = m.llm_fallbacks()
        self._m_tokens = m.llm_tokens()
        self._m_seconds = m.llm_call_seconds()

    @classmethod
    def from_settings(cls, s: Settings | None = None, **overrides: Any) -> LLMBackend:
        return cls(LLMConfig.from_settings(s, **overrides))

    def fingerprint(self) -> str:
        c = self.config
        where = hashlib.sha256(self.url.encode()).hexdigest()[:8]
        agents = ",".join(sorted(c.agents)) if c.agents is not None else "*"
        chosen = hashlib.sha256(agents.encode()).hexdigest()[:6]
        computed = self._computed.fingerprint()
        return (
            f"llm/{PROMPTS_VERSION}/{c.model}/{c.temperature}/{c.max_tokens}/{chosen}/{where}"
            f"+{computed}"
        )

    def writes(self, agent: str) -> bool:
        """Whether the model writes ``agent``'s text (else it is computed)."""
        spec = SPECS.get(agent)
        chosen = self.config.agents
        return spec is not None and spec.generative and (chosen is None or agent in chosen)

    async def run(self, call: AgentCall) -> Model:
        started = time.perf_counter()
        note = current_note()
        try:
            if not (call.spec.generative and self.writes(call.spec.name)):
                if note is not None:
                    note.source = "computed"
                return await self._computed.run(call)
            return await self._write(call)
        finally:
            self.latencies.setdefault(call.spec.name, []).append(time.perf_counter() - started)

    async def _write(self, call: AgentCall) -> Model:
        agent = call.spec.name
        stats = self.stats.setdefault(agent, LLMStats())
        stats.calls += 1
        note = current_note()
        skeleton = await self._computed.run(call)
        base = skeleton.model_dump(mode="json")
        spec = DRAFTS.get(agent) if agent in CONTEXTS else None
        if spec is not None:
            schema = draft_schema(spec, base)
            chat = messages(call, skeleton, schema)
        else:  # a registered agent without a draft spec: the model writes it whole
            schema = whole_schema(call)
            chat = messages(call)
        budget = token_budget(schema) if spec is not None else WHOLE_ARTIFACT_TOKENS
        if self.config.max_tokens is not None:
            budget = min(budget, self.config.max_tokens)
        output = call.spec.output
        problem = ""
        started = time.perf_counter()
        for attempt in range(self.config.attempts):
            if attempt:
                stats.repairs += 1
                self._m_repairs.labels(agent).inc()
                if note is not None:
                    note.repairs += 1
            answer = await self._complete(call, chat, schema, budget)
            stats.model_calls += 1
            stats.prompt_tokens += answer.prompt_tokens
            stats.completion_tokens += answer.completion_tokens
            stats.model_seconds += answer.seconds
            self._m_tokens.labels(agent, "prompt").inc(answer.prompt_tokens)
            self._m_tokens.labels(agent, "completion").inc(answer.completion_tokens)
            if note is not None:
                note.model_calls += 1
                note.prompt_tokens += answer.prompt_tokens
                note.completion_tokens += answer.completion_tokens
                note.model_seconds += answer.seconds
            artifact, problem = self._accept(spec, base, output, answer, budget)
            if artifact is not None:
                self._m_requests.labels(agent, "valid").inc()
                self._m_seconds.labels(agent, "model").observe(time.perf_counter() - started)
                if note is not None:
                    note.source = "model"
                return artifact
            self.invalid_answers += 1
            stats.invalid_answers += 1
            self._m_requests.labels(agent, "invalid").inc()
            chat = [*chat, {"role": "assistant", "content": answer.content},
                    {"role": "user", "content": repair(problem)}]  # fmt: skip
        if not self.config.fallback:
            raise BackendError(
                agent,
                f"the model {self.config.model!r} returned no valid {output.__name__} in "
                f"{self.config.attempts} attempts; last problem: {problem}",
            )
        stats.fallbacks += 1
        self._m_fallbacks.labels(agent).inc()
        self._m_seconds.labels(agent, "fallback").observe(time.perf_counter() - started)
        if note is not None:
            note.source = "fallback"
            note.fallback = problem
        return skeleton

    def _accept(
        self,
        spec: DraftSpec | None,
        base: Mapping[str, Any],
        output: type[Model],
        answer: _Answer,
        budget: int,
    ) -> tuple[Model | None, str]:
        """The artifact an answer makes, or None and what is wrong with it."""
        if answer.finish_reason == "length":
            return None, (
                f"it was cut off at {budget} tokens; write shorter texts so the JSON closes"
            )
        try:
            draft = orjson.loads(answer.content)
        except orjson.JSONDecodeError as exc:
            return None, f"it is not JSON ({exc})"
        if spec is not None:
            problems = check_draft(spec, base, draft)
            if problems:
                return None, "; ".join(problems[:5])
            draft = apply_draft(spec, base, draft)
        try:
            return output.model_validate(draft), ""
        except ValidationError as exc:
            errors = exc.errors(include_url=False)[:5]
            return None, "; ".join(
                f"{'.'.join(map(str, e['loc'])) or output.__name__}: {e['msg']}" for e in errors
            )

    def _response_format(self, agent: str, schema: Mapping[str, Any]) -> dict[str, Any]:
        style = self.config.schema_style
        if style == "llama-cpp":
            return {"type": "json_object", "schema": schema}
        if style == "openai":
            return {"type": "json_schema", "json_schema": {"name": agent, "schema": schema}}
        return {"type": "json_object"}

    async def _complete(
        self,
        call: AgentCall,
        chat: list[dict[str, Any]],
        schema: Mapping[str, Any],
        max_tokens: int,
    ) -> _Answer:
        c = self.config
        agent = call.spec.name
        body: dict[str, Any] = {
            "model": c.model,
            "messages": chat,
            "temperature": c.temperature,
            "seed": call.request.seed,
            "max_tokens": max_tokens,
            "response_format": self._response_format(agent, schema),
        }
        headers = {"Authorization": f"Bearer {c.api_key}"} if c.api_key else {}
        self.calls += 1
        started = time.perf_counter()
        try:
            resp = await self.pool.post(
                self.url, "/chat/completions", json=body, headers=headers, idempotent=True
            )
        except ClientError as exc:
            self._m_requests.labels(agent, "error").inc()
            raise BackendError(agent, f"the llm endpoint failed: {exc}") from exc
        seconds = time.perf_counter() - started
        if resp.status != 200:
            self._m_requests.labels(agent, "error").inc()
            raise BackendError(
                agent,
                f"the llm endpoint {self.url} answered HTTP {resp.status}: {resp.text()[:300]}",
            )
        try:
            data = resp.json()
            choice = data["choices"][0]
            content = choice["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            self._m_requests.labels(agent, "error").inc()
            raise BackendError(
                agent, f"the llm endpoint sent no chat completion ({exc!r})"
            ) from None
        if not isinstance(content, str):
            self._m_requests.labels(agent, "error").inc()
            raise BackendError(agent, "the chat completion has no text content")
        usage = data.get("usage") if isinstance(data, dict) else None
        usage = usage if isinstance(usage, dict) else {}
        return _Answer(
            content=content,
            finish_reason=choice.get("finish_reason"),
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            seconds=seconds,
        )

    # -- figures ---------------------------------------------------------------

    def totals(self) -> LLMStats:
        """``stats`` summed over agents."""
        out = LLMStats()
        for s in self.stats.values():
            for f in fields(LLMStats):
                setattr(out, f.name, getattr(out, f.name) + getattr(s, f.name))
        return out

    def tokens_per_second(self) -> float:
        """Completion tokens per second of waiting for the model, every agent."""
        t = self.totals()
        return t.completion_tokens / t.model_seconds if t.model_seconds > 0 else math.nan

    def stats_frame(self) -> pd.DataFrame:
        """One row per agent the model wrote: calls, repairs, fallbacks, tokens, seconds."""
        import pandas as pd

        names = [f.name for f in fields(LLMStats)]
        rows = [
            {"agent": agent, **{k: getattr(s, k) for k in names}}
            for agent, s in self._ordered(self.stats)
        ]
        frame = pd.DataFrame(rows, columns=["agent", *names])
        frame["tokens_per_second"] = frame["completion_tokens"] / frame["model_seconds"]
        return frame

    @staticmethod
    def _ordered(items: Mapping[str, LLMStats]) -> Iterable[tuple[str, LLMStats]]:
        order = {name: i for i, name in enumerate(SPECS)}
        return sorted(items.items(), key=lambda kv: order.get(kv[0], len(order)))

    def reset_stats(self) -> None:
        self.stats.clear()
        self.latencies.clear()

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._own_pool:
            await self.pool.aclose()
