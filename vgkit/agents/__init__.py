"""The agents of the pipeline and the backends that run them.

``SPECS`` lists every agent in pipeline order. A backend (``TemplateBackend``,
the embedded default; ``LLMBackend``; anything implementing ``Backend``) turns an
``AgentCall`` into an artifact; ``CostModel`` wraps any backend with seeded,
realistic latency for experiments.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from vgkit.agents.base import AgentCall, AgentSpec, Backend, call_rng
from vgkit.agents.catalog import SPECS, STEPS
from vgkit.agents.cost import COST_PROFILES, CostModel, CostProfile
from vgkit.agents.template import TemplateBackend

if TYPE_CHECKING:
    from vgkit.agents.llm import LLMBackend, LLMConfig
    from vgkit.agents.remote import A2ABackend

#: The backends that talk HTTP load aiohttp: import them on first use, so the
#: embedded pipeline starts without the network stack.
_LAZY = {
    "A2ABackend": "vgkit.agents.remote",
    "LLMBackend": "vgkit.agents.llm",
    "LLMConfig": "vgkit.agents.llm",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'vgkit.agents' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "COST_PROFILES",
    "SPECS",
    "STEPS",
    "A2ABackend",
    "AgentCall",
    "AgentSpec",
    "Backend",
    "CostModel",
    "CostProfile",
    "LLMBackend",
    "LLMConfig",
    "TemplateBackend",
    "call_rng",
]
