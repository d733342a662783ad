"""The llm backend: generative agents answered by an OpenAI-compatible chat endpoint.

Any server that speaks ``POST {base_url}/chat/completions`` works (vLLM,
Ollama, llama.cpp's server, hosted APIs). Calls go through the pooled client;
each generative agent (``AgentSpec.generative``) gets its own prompt
(``vgkit.agents.prompts``), the answer is requested as a JSON object
(``response_format``) and validated against the agent's output model. An
invalid answer is sent back with what was wrong and asked again, up to
``attempts`` times, then reported as a ``BackendError``. Non-generative agents
(timing, assembler, quality) are computed exactly as the template backend does.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import ValidationError

from vgkit.agents.base import AgentCall
from vgkit.agents.prompts import PROMPTS_VERSION, messages, repair
from vgkit.agents.template import TemplateBackend
from vgkit.client.config import PoolConfig
from vgkit.client.pool import PooledClient
from vgkit.config import Settings, settings
from vgkit.errors import BackendError, ClientError, ConfigError
from vgkit.models import Model

__all__ = ["DEFAULT_LLM_ATTEMPTS", "LLMBackend", "LLMConfig"]

DEFAULT_LLM_ATTEMPTS = 3
DEFAULT_LLM_TIMEOUT = 120.0
DEFAULT_TEMPERATURE = 0.2


@dataclass(frozen=True, kw_only=True, slots=True)
class LLMConfig:
    """Where the model is and how to ask it."""

    base_url: str
    """The API root, such as ``http://127.0.0.1:8000/v1`` (``/chat/completions`` is added)."""
    model: str
    api_key: str | None = None
    temperature: float = DEFAULT_TEMPERATURE
    attempts: int = DEFAULT_LLM_ATTEMPTS
    """Answers asked for per call before giving up (the first included)."""
    timeout: float = DEFAULT_LLM_TIMEOUT
    max_tokens: int | None = None

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ConfigError(f"llm base URL {self.base_url!r} must start with http:// or https://")
        if not self.model:
            raise ConfigError("the llm backend needs a model name (VGKIT_LLM_MODEL)")
        if self.attempts < 1:
            raise ConfigError(f"attempts must be at least 1, not {self.attempts}")

    @classmethod
    def from_settings(cls, s: Settings | None = None, **overrides: Any) -> LLMConfig:
        s = s or settings()
        if not s.llm_base_url or not s.llm_model:
            raise ConfigError(
                "the llm backend needs VGKIT_LLM_BASE_URL and VGKIT_LLM_MODEL "
                "(for example http://127.0.0.1:11434/v1 and llama3.1)"
            )
        fields = {"base_url": s.llm_base_url, "model": s.llm_model, "api_key": s.llm_api_key}
        return cls(**{**fields, **overrides})


class LLMBackend:
    """Asks a chat-completions model for each generative agent's artifact."""

    name = "llm"

    def __init__(self, config: LLMConfig, *, pool: PooledClient | None = None) -> None:
        self.config = config
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
            )
        )
        self.url = config.base_url.rstrip("/")
        self._computed = TemplateBackend()
        self.calls = 0
        self.invalid_answers = 0

    @classmethod
    def from_settings(cls, s: Settings | None = None, **overrides: Any) -> LLMBackend:
        return cls(LLMConfig.from_settings(s, **overrides))

    def fingerprint(self) -> str:
        c = self.config
        where = hashlib.sha256(self.url.encode()).hexdigest()[:8]
        computed = self._computed.fingerprint()
        return f"llm/{PROMPTS_VERSION}/{c.model}/{c.temperature}/{where}+{computed}"

    async def run(self, call: AgentCall) -> Model:
        if not call.spec.generative:
            return await self._computed.run(call)
        chat = messages(call)
        output = call.spec.output
        problem = ""
        for _ in range(self.config.attempts):
            content = await self._complete(call, chat)
            try:
                return output.model_validate(orjson.loads(content))
            except orjson.JSONDecodeError as exc:
                problem = f"it is not JSON ({exc})"
            except ValidationError as exc:
                errors = exc.errors(include_url=False)[:5]
                problem = "; ".join(
                    f"{'.'.join(map(str, e['loc'])) or output.__name__}: {e['msg']}" for e in errors
                )
            self.invalid_answers += 1
            chat = [*chat, {"role": "assistant", "content": content},
                    {"role": "user", "content": repair(problem)}]  # fmt: skip
        raise BackendError(
            call.spec.name,
            f"the model {self.config.model!r} returned no valid {output.__name__} in "
            f"{self.config.attempts} attempts; last problem: {problem}",
        )

    async def _complete(self, call: AgentCall, chat: list[dict[str, Any]]) -> str:
        c = self.config
        body: dict[str, Any] = {
            "model": c.model,
            "messages": chat,
            "temperature": c.temperature,
            "seed": call.request.seed,
            "response_format": {"type": "json_object"},
        }
        if c.max_tokens:
            body["max_tokens"] = c.max_tokens
        headers = {"Authorization": f"Bearer {c.api_key}"} if c.api_key else {}
        self.calls += 1
        try:
            resp = await self.pool.post(
                self.url, "/chat/completions", json=body, headers=headers, idempotent=True
            )
        except ClientError as exc:
            raise BackendError(call.spec.name, f"the llm endpoint failed: {exc}") from exc
        if resp.status != 200:
            raise BackendError(
                call.spec.name,
                f"the llm endpoint {self.url} answered HTTP {resp.status}: {resp.text()[:300]}",
            )
        try:
            content = resp.json()["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise BackendError(
                call.spec.name, f"the llm endpoint sent no chat completion ({exc!r})"
            ) from None
        if not isinstance(content, str):
            raise BackendError(call.spec.name, "the chat completion has no text content")
        return content

    async def aclose(self) -> None:
        if self._own_pool:
            await self.pool.aclose()
