"""A2A agent servers: every pipeline agent and the orchestrator over HTTP.

``AgentServer`` serves one agent (cards, JSON-RPC in both A2A dialects, SSE,
``/healthz``, ``/metrics``); ``start_cluster`` starts them all in this process
on the original port map; ``vgkit serve`` is the command line.
"""

from __future__ import annotations

from vgkit.serve.agents import PipelineAgent, ServedAgent
from vgkit.serve.app import DEFAULT_MAX_BODY, AgentServer, ServeConfig
from vgkit.serve.auth import AuthConfig
from vgkit.serve.cards import AgentInfo, Skill
from vgkit.serve.launcher import ALL_AGENTS, Cluster, start_cluster
from vgkit.serve.orchestrator_agent import OrchestratorAgent

__all__ = [
    "ALL_AGENTS",
    "DEFAULT_MAX_BODY",
    "AgentInfo",
    "AgentServer",
    "AuthConfig",
    "Cluster",
    "OrchestratorAgent",
    "PipelineAgent",
    "ServeConfig",
    "ServedAgent",
    "Skill",
    "start_cluster",
]
