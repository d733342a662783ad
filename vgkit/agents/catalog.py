"""The catalogue of agents: every registered spec and its template implementation.

The pipeline's agents register here in pipeline order when ``vgkit.agents`` is
imported. Everything that needs "every agent" reads the live views below, so a
new agent is one module plus one :func:`register` call:

* the graph (:func:`vgkit.pipeline.build_graph`) adds a node for it after the
  steps it ``needs``, for each platform (or once, when not ``per_platform``);
* the template backend runs ``template`` for it;
* ``vgkit serve`` serves it on ``port`` (:mod:`vgkit.endpoints`), and agents
  files and ``A2ABackend`` accept its name;
* the ``seed`` cost profile charges it ``seconds``;
* the llm backend asks the model with its ``prompt`` for its ``output`` model.

A new agent, in its own module::

    from vgkit.agents.base import AgentCall, AgentSpec
    from vgkit.agents.catalog import register
    from vgkit.models import Model, Script
    from vgkit.templates import TemplateSource


    class Thumbnail(Model):
        title: str


    SPEC = AgentSpec(
        name="thumbnail_designer", step="thumbnail", version="1.0.0", output=Thumbnail,
        needs=("script",), port=10307, seconds=2.0,
        prompt="You design the thumbnail of a short video. ...",
    )


    async def run(call: AgentCall, templates: TemplateSource) -> Thumbnail:
        return Thumbnail(title=call.input("script", Script).title)


    register(SPEC, run)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import MappingProxyType, ModuleType
from typing import Any

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
from vgkit.agents.base import AgentCall, AgentSpec
from vgkit.errors import ConfigError
from vgkit.templates import TemplateSource

__all__ = [
    "ORCHESTRATOR",
    "ORCHESTRATOR_PORT",
    "SPECS",
    "STEPS",
    "TEMPLATES",
    "TemplateAgentFn",
    "register",
    "unregister",
]

#: An agent's implementation in the template backend.
TemplateAgentFn = Callable[[AgentCall, TemplateSource], Awaitable[Any]]

#: The served agent that is not a pipeline agent: the orchestrator (``vgkit serve``),
#: on the original system's port 10106. No agent may take its name or port.
ORCHESTRATOR = "orchestrator"
ORCHESTRATOR_PORT = 10106

_specs: dict[str, AgentSpec] = {}
_steps: dict[str, AgentSpec] = {}
_templates: dict[str, TemplateAgentFn] = {}

#: Every registered agent, by name, in pipeline order (a live, read-only view).
SPECS: MappingProxyType[str, AgentSpec] = MappingProxyType(_specs)
#: The same agents keyed by the graph step they fill.
STEPS: MappingProxyType[str, AgentSpec] = MappingProxyType(_steps)
#: Agent name -> its template-backend implementation.
TEMPLATES: MappingProxyType[str, TemplateAgentFn] = MappingProxyType(_templates)


def register(spec: AgentSpec, template: TemplateAgentFn) -> AgentSpec:
    """Add an agent to the pipeline; ConfigError says what clashes or is missing.

    ``template`` is the agent's implementation in the template backend (the
    embedded default), ``async def run(call, templates) -> spec.output``. The
    steps in ``spec.needs`` must be registered already.
    """
    name = spec.name
    if name in _specs or name == ORCHESTRATOR:
        raise ConfigError(f"an agent named {name!r} is registered already; choose another name")
    if spec.step in _steps:
        taken = _steps[spec.step].name
        raise ConfigError(f"agent {name!r}: step {spec.step!r} is filled by {taken!r} already")
    missing = [need for need in spec.needs if need not in _steps]
    if missing:
        raise ConfigError(
            f"agent {name!r} needs unregistered step(s) {', '.join(missing)}: "
            "register the agents that fill them first"
        )
    if spec.per_platform is False and any(_steps[n].per_platform for n in spec.needs):
        raise ConfigError(f"agent {name!r} runs once per request but needs per-platform steps")
    if not 1 <= spec.port <= 65535:
        raise ConfigError(f"agent {name!r}: port {spec.port} is outside 1-65535")
    owner = next((s.name for s in _specs.values() if s.port == spec.port), None)
    if owner is not None or spec.port == ORCHESTRATOR_PORT:
        raise ConfigError(
            f"agent {name!r}: port {spec.port} belongs to {owner or ORCHESTRATOR}; "
            "choose a free one"
        )
    if not spec.seconds >= 0:
        raise ConfigError(f"agent {name!r}: seconds must be >= 0, not {spec.seconds}")
    _specs[name] = spec
    _steps[spec.step] = spec
    _templates[name] = template
    return spec


def unregister(name: str) -> AgentSpec:
    """Remove an agent registered with :func:`register` (nothing may need its step)."""
    try:
        spec = _specs[name]
    except KeyError:
        raise ConfigError(f"no agent {name!r} is registered") from None
    users = [s.name for s in _specs.values() if spec.step in s.needs]
    if users:
        raise ConfigError(f"agent {name!r} is needed by {', '.join(users)}; remove those first")
    del _specs[name], _steps[spec.step], _templates[name]
    return spec


#: The pipeline's agent modules in pipeline order; each has ``SPEC`` and a template ``run``.
MODULES: tuple[ModuleType, ...] = (
    topic, hooks, script, timing, scenes, shots, transitions, cta, assembler, quality,
)  # fmt: skip

for _module in MODULES:
    register(_module.SPEC, _module.run)
