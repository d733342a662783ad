"""The agents of the pipeline and the backends that run them.

``SPECS`` lists every agent in pipeline order. A backend (``TemplateBackend``,
the embedded default; ``LLMBackend``; anything implementing ``Backend``) turns an
``AgentCall`` into an artifact; ``CostModel`` wraps any backend with seeded,
realistic latency for experiments.
"""

from __future__ import annotations

from vgkit.agents.base import AgentCall, AgentSpec, Backend, call_rng
from vgkit.agents.catalog import SPECS, STEPS
from vgkit.agents.cost import COST_PROFILES, CostModel, CostProfile
from vgkit.agents.llm import LLMBackend, LLMConfig
from vgkit.agents.remote import A2ABackend
from vgkit.agents.template import TemplateBackend

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
