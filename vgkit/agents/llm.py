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
import json
import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import orjson
from pydantic import ValidationError

from vgkit.agents.base import AgentCall
from vgkit.agents.budget import (
    CONTEXT_MARGIN,
    MIN_ANSWER_TOKENS,
    Part,
    PromptMeter,
    context_error,
    join_parts,
    split_draft,
)
from vgkit.agents.catalog import SPECS
from vgkit.agents.cost import CostProfile, measured_profile
from vgkit.agents.drafts import (
    DRAFTS,
    DraftSpec,
    apply_draft,
    check_draft,
    draft_schema,
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
    context: int | None = None
    """The model's context window in tokens, prompt and answer together (``vgkit llm
    serve --ctx``; ``ModelServer`` fills it in). Every request's ``max_tokens`` is
    sized to what the prompt leaves of it, and an answer that cannot fit is asked
    for in parts. None: unknown until the endpoint answers a request with "context
    exceeded" (llama.cpp's servers say how large it is; the request is then sized
    and sent again)."""
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
        if self.max_tokens is not None and self.max_tokens < MIN_ANSWER_TOKENS:
            raise ConfigError(
                f"max_tokens must be at least {MIN_ANSWER_TOKENS}, not {self.max_tokens}"
            )
        if self.context is not None and self.context < 256:
            raise ConfigError(
                f"the model's context must be at least 256 tokens, not {self.context}"
            )
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
    parts: int = 0
    """Requests the answers were split into (one per call unless an answer had to be
    written in parts to fit the model's context)."""
    invalid_answers: int = 0
    repairs: int = 0
    fallbacks: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    model_seconds: float = 0.0
    """Wall seconds waiting for completions."""


def _json(text: str) -> Any:
    """The answer's JSON. Small models put raw line breaks and tabs inside strings
    (grammars allow them, strict JSON does not); they are read as spaces would be,
    since every text is whitespace-normalised when laid over the skeleton."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text, strict=False)


class _Refit(Exception):
    """The endpoint refused a request as too long for its context (now known)."""


@dataclass(slots=True)
class _Answer:
    content: str
    max_tokens: int
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
        self.context: int | None = config.context
        """The model's context window (the config's, or what the endpoint said)."""
        self.meter = PromptMeter()
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
        skeleton = await self._computed.run(call)
        base = skeleton.model_dump(mode="json")
        spec = DRAFTS.get(agent) if agent in CONTEXTS else None
        for refit in (False, True):
            try:
                if spec is None:  # a registered agent without a draft spec: written whole
                    return await self._write_whole(call, skeleton, stats)
                return await self._write_draft(call, spec, skeleton, base, stats)
            except _Refit as exc:
                # The endpoint refused a request as too long for its context (and said
                # how long that is): plan the answers again for that context, once.
                if refit:
                    raise BackendError(
                        agent,
                        f"the llm endpoint {self.url} refused the request as too long for its "
                        f"{self.context}-token context again: {exc}",
                    ) from None
        raise AssertionError("unreachable")

    async def _write_whole(self, call: AgentCall, skeleton: Model, stats: LLMStats) -> Model:
        cap = self.config.max_tokens
        schema = whole_schema(call)
        budget = min(WHOLE_ARTIFACT_TOKENS, cap or WHOLE_ARTIFACT_TOKENS)
        artifact, problem = await self._ask(call, messages(call), schema, budget, stats)
        stats.parts += 1
        if artifact is not None:
            return self._written(call.spec.name, artifact)
        return self._fall_back(call, stats, skeleton, problem)

    async def _write_draft(
        self,
        call: AgentCall,
        spec: DraftSpec,
        skeleton: Model,
        base: dict[str, Any],
        stats: LLMStats,
    ) -> Model:
        """The draft's answers, in as many parts as the model's context needs."""
        agent = call.spec.name
        output = call.spec.output
        cap = self.config.max_tokens
        # The room an answer has: the context left after the prompt (the whole draft's
        # prompt, an upper bound of any part's), and the user's cap.
        room = cap if cap is not None else math.inf
        if self.context is not None:
            full = messages(call, skeleton, draft_schema(spec, base))
            room = min(room, self.context - self.meter.estimate(full) - CONTEXT_MARGIN)
        parts = split_draft(spec, base, max(MIN_ANSWER_TOKENS, int(min(room, 1 << 30))))
        note = current_note()
        if note is not None:
            note.parts = len(parts)
        drafts: list[Any] = []
        for part in parts:
            part_skeleton = skeleton
            line = None
            if part.count > 1:
                assert spec.parts is not None
                items = tuple(getattr(skeleton, spec.parts))[part.start : part.stop]
                part_skeleton = skeleton.model_copy(update={spec.parts: items})
                line = (
                    f"This answer covers items {part.start + 1} to {part.stop} of "
                    f"{len(base[spec.parts])} only (part {part.index + 1} of {part.count}; "
                    "the others are written separately)."
                )
            chat = messages(call, part_skeleton, part.schema, part=line)
            budget = part.budget if cap is None else min(part.budget, cap)
            draft, problem = await self._ask(call, chat, part.schema, budget, stats, part)
            if draft is None:
                if part.count > 1:
                    problem = f"part {part.index + 1} of {part.count}: {problem}"
                stats.parts += len(parts)
                return self._fall_back(call, stats, skeleton, problem)
            drafts.append(draft)
        stats.parts += len(parts)
        if len(drafts) == 1 and isinstance(drafts[0], Model):
            return self._written(agent, drafts[0])
        artifact, problem = self._finish(spec, base, output, join_parts(spec, drafts))
        if artifact is None:
            return self._fall_back(call, stats, skeleton, f"the joined parts: {problem}")
        return self._written(agent, artifact)

    def _written(self, agent: str, artifact: Model) -> Model:
        self._m_requests.labels(agent, "valid").inc()
        note = current_note()
        if note is not None:
            note.source = "model"
        return artifact

    def _fall_back(self, call: AgentCall, stats: LLMStats, skeleton: Model, problem: str) -> Model:
        agent = call.spec.name
        if not self.config.fallback:
            raise BackendError(
                agent,
                f"the model {self.config.model!r} returned no valid {call.spec.output.__name__} "
                f"in {self.config.attempts} attempts; last problem: {problem}",
            )
        stats.fallbacks += 1
        self._m_fallbacks.labels(agent).inc()
        note = current_note()
        if note is not None:
            note.source = "fallback"
            note.fallback = problem
        return skeleton

    async def _ask(
        self,
        call: AgentCall,
        chat: list[dict[str, Any]],
        schema: Mapping[str, Any],
        budget: int,
        stats: LLMStats,
        part: Part | None = None,
    ) -> tuple[Any, str]:
        """Up to ``attempts`` answers for one request: the accepted artifact (or, for
        one part of several, its checked draft), or None and the last problem."""
        agent = call.spec.name
        note = current_note()
        first = chat
        problem = ""
        started = time.perf_counter()
        for attempt in range(self.config.attempts):
            if attempt:
                stats.repairs += 1
                self._m_repairs.labels(agent).inc()
                if note is not None:
                    note.repairs += 1
            tokens = self._room(chat, budget)
            if tokens < MIN_ANSWER_TOKENS and len(chat) > len(first):
                # The repair conversation outgrew the context: say only what was wrong.
                chat = [*first, {"role": "user", "content": repair(problem)}]
                tokens = self._room(chat, budget)
            answer = await self._complete(call, chat, schema, tokens)
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
            accepted, problem = self._accept(call, answer, part)
            if accepted is not None:
                self._m_seconds.labels(agent, "model").observe(time.perf_counter() - started)
                return accepted, ""
            self.invalid_answers += 1
            stats.invalid_answers += 1
            self._m_requests.labels(agent, "invalid").inc()
            chat = [*chat, {"role": "assistant", "content": answer.content},
                    {"role": "user", "content": repair(problem)}]  # fmt: skip
        self._m_seconds.labels(agent, "fallback").observe(time.perf_counter() - started)
        return None, problem

    def _room(self, chat: list[dict[str, Any]], budget: int) -> int:
        """Completion tokens to ask for: ``budget``, or what the context leaves."""
        if self.context is None:
            return budget
        return min(budget, self.context - self.meter.estimate(chat) - CONTEXT_MARGIN)

    def _accept(self, call: AgentCall, answer: _Answer, part: Part | None) -> tuple[Any, str]:
        """What an answer makes (the artifact; a part's checked draft when the answer
        is one part of several), or None and what is wrong with it."""
        if answer.finish_reason == "length":
            return None, (
                f"it was cut off at {answer.max_tokens} tokens; write shorter texts so the "
                "JSON closes"
            )
        try:
            draft = _json(answer.content)
        except ValueError as exc:
            return None, f"it is not JSON ({exc})"
        output = call.spec.output
        if part is None:  # the whole artifact
            return self._validate(output, draft)
        problems = check_draft(part.spec, part.base, draft)
        if problems:
            return None, "; ".join(problems[:5])
        if part.count > 1:
            return draft, ""
        return self._finish(part.spec, part.base, output, draft)

    def _finish(
        self, spec: DraftSpec, base: Mapping[str, Any], output: type[Model], draft: Any
    ) -> tuple[Model | None, str]:
        return self._validate(output, apply_draft(spec, base, draft))

    @staticmethod
    def _validate(output: type[Model], data: Any) -> tuple[Model | None, str]:
        try:
            return output.model_validate(data), ""
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
        if max_tokens < MIN_ANSWER_TOKENS:
            self._m_requests.labels(agent, "error").inc()
            raise BackendError(
                agent,
                f"the prompt (about {self.meter.estimate(chat)} tokens) leaves no room for an "
                f"answer in the model's {self.context}-token context: serve the model with a "
                "larger context (vgkit llm serve --ctx N)",
            )
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
        if resp.status == 400:
            # "Context exceeded": the endpoint says how large its context is (and often
            # the prompt's tokens); the call plans its answers again for that size.
            said = context_error(resp.text())
            if said is not None:
                self.context, prompt = said
                if prompt is not None:
                    self.meter.observe(chat, prompt)
                raise _Refit(resp.text()[:200])
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
        prompt_tokens = int(usage.get("prompt_tokens") or 0)
        if prompt_tokens:
            self.meter.observe(chat, prompt_tokens)
        return _Answer(
            content=content,
            max_tokens=int(body["max_tokens"]),
            finish_reason=choice.get("finish_reason"),
            prompt_tokens=prompt_tokens,
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

    def cost_profile(self, name: str = "measured") -> CostProfile:
        """A measured cost profile from ``latencies`` (every agent call so far, written
        or computed), with where it was measured (``CostProfile.save`` writes it)."""
        t = self.totals()
        c = self.config
        return measured_profile(
            self.latencies,
            name=name,
            description=(
                f"Wall seconds of real calls to {c.model!r} at {self.url}, per agent "
                "(computed agents too)."
            ),
            source={
                "model": c.model,
                "base_url": self.url,
                "context": self.context,
                "max_tokens": c.max_tokens,
                "model_agents": list(c.model_agents),
                "completions": t.model_calls,
                "completion_tokens": t.completion_tokens,
                "tokens_per_second": round(self.tokens_per_second(), 2)
                if t.model_seconds
                else None,
            },
        )

    def reset_stats(self) -> None:
        self.stats.clear()
        self.latencies.clear()

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._own_pool:
            await self.pool.aclose()
