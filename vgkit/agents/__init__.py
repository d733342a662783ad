"""The agents of the pipeline and the backends that run them.

``SPECS`` lists every agent in pipeline order. A backend (``TemplateBackend``,
the embedded default; ``LLMBackend``; anything implementing ``Backend``) turns an
``AgentCall`` into an artifact; ``CostModel`` wraps any backend with seeded,
realistic latency for experiments.
"""

from __future__ import annotations

from types import MappingProxyType

from vgkit.agents import (
    assembler,
    cta,
    hooks,
    quality,
    scenes,
    script,
    shots,
    timing,
    topic,
    transitions,
)
from vgkit.agents.base import AgentCall, AgentSpec, Backend, call_rng
from vgkit.agents.cost import COST_PROFILES, CostModel, CostProfile
from vgkit.agents.llm import LLMBackend, LLMConfig
from vgkit.agents.remote import A2ABackend
from vgkit.agents.template import TemplateBackend

_MODULES = (topic, hooks, script, timing, scenes, shots, transitions, cta, assembler, quality)

#: Every agent, by name, in pipeline order.
SPECS: MappingProxyType[str, AgentSpec] = MappingProxyType({m.SPEC.name: m.SPEC for m in _MODULES})
#: The same agents keyed by the graph step they fill.
STEPS: MappingProxyType[str, AgentSpec] = MappingProxyType({m.SPEC.step: m.SPEC for m in _MODULES})

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
