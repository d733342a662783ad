"""The catalogue of agents: every agent module, its spec, in pipeline order."""

from __future__ import annotations

from types import MappingProxyType, ModuleType

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
from vgkit.agents.base import AgentSpec

#: Agent modules in pipeline order; each has ``SPEC`` and a template ``run``.
MODULES: tuple[ModuleType, ...] = (
    topic, hooks, script, timing, scenes, shots, transitions, cta, assembler, quality,
)  # fmt: skip

#: Every agent, by name, in pipeline order.
SPECS: MappingProxyType[str, AgentSpec] = MappingProxyType({m.SPEC.name: m.SPEC for m in MODULES})
#: The same agents keyed by the graph step they fill.
STEPS: MappingProxyType[str, AgentSpec] = MappingProxyType({m.SPEC.step: m.SPEC for m in MODULES})
