"""The pipeline graph of DESIGN.md: which agent runs for which platform, after which.

For platforms P the graph is::

    topic_analysis                      shared by every platform
      hooks[p]       <- topic_analysis
      script[p]      <- topic_analysis, hooks[p]
      timing[p]      <- script[p]
      scenes[p]      <- script[p]                (and the topic's keywords)
      shots[p]       <- scenes[p], timing[p]
      transitions[p] <- scenes[p], timing[p]
      cta[p]         <- script[p]                (and the topic's keywords)
      assemble[p]    <- everything above for p
      quality[p]     <- assemble[p]

Each registered agent (:mod:`vgkit.agents.catalog`) is a node, after the
steps it needs. Each node is an agent call; :func:`narrow` gives each agent only the slice of the
request it may use, so equal work hashes equally whatever else was asked.
"""

from __future__ import annotations

from typing import Any

from vgkit.agents import SPECS, STEPS, AgentSpec
from vgkit.agents.cost import SEED_PROFILE, CostProfile
from vgkit.dag import DAG
from vgkit.models import VideoRequest
from vgkit.platforms import Platform

__all__ = ["build_graph", "make_request", "narrow"]


def make_request(request: VideoRequest | None = None, /, **fields: Any) -> VideoRequest:
    """A VideoRequest from an existing one, or from keyword fields (validated)."""
    if request is not None:
        if fields:
            return VideoRequest.model_validate({**request.model_dump(), **fields})
        return request
    return VideoRequest(**fields)


def build_graph(
    request: VideoRequest, *, costs: CostProfile = SEED_PROFILE
) -> tuple[DAG, dict[str, tuple[AgentSpec, Platform | None]]]:
    """The pipeline DAG for ``request`` and, per node, its agent and platform.

    Node costs are the cost profile's mean latencies, so the eager scheduler
    starts the node with the longest remaining path first and the critical
    path reads in seconds.
    """
    dag = DAG()
    nodes: dict[str, tuple[AgentSpec, Platform | None]] = {}
    # Every registered agent, in registration order (each after the steps it needs).
    shared = [s for s in SPECS.values() if not s.per_platform]
    per_platform = [s for s in SPECS.values() if s.per_platform]
    for spec in shared:
        node = spec.node_id(None)
        dag.add(node, cost=costs.mean(spec.name), label=spec.name, group="shared")
        nodes[node] = (spec, None)
    shared_steps = {s.step for s in shared}
    for platform in request.platforms:
        for spec in per_platform:
            deps = [
                dep if dep in shared_steps else STEPS[dep].node_id(platform) for dep in spec.needs
            ]
            node = spec.node_id(platform)
            dag.add(node, deps, cost=costs.mean(spec.name), label=spec.name, group=platform.value)
            nodes[node] = (spec, platform)
    return dag, nodes


def narrow(request: VideoRequest, spec: AgentSpec, platform: Platform | None) -> VideoRequest:
    """The slice of the request an agent may see (so equal work hashes equally)."""
    if platform is None:
        return request.model_copy(update={"platforms": tuple(Platform), "duration": None})
    return request.model_copy(update={"platforms": (platform,)})
