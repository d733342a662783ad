"""A2A agent servers: every pipeline agent and the orchestrator over HTTP.

``AgentServer`` serves one agent (cards, JSON-RPC in both A2A dialects, SSE,
``/healthz``, ``/metrics``); ``start_cluster`` starts them all in this process
on the original port map; ``vgkit serve`` is the command line (its worker
processes supervised by ``vgkit.serve.supervisor``), and ``ServeProcess``
runs it in a child process for load tests and benchmarks. ``ConnectionGuard``
cuts slow clients (408) and caps open connections per process (503).
"""

from __future__ import annotations

from vgkit.a2a.cards import AgentInfo, Skill
from vgkit.serve.agents import PipelineAgent, ServedAgent
from vgkit.serve.app import DEFAULT_MAX_BODY, AgentServer, ServeConfig
from vgkit.serve.auth import AuthConfig
from vgkit.serve.guard import ConnectionGuard
from vgkit.serve.launcher import Cluster, all_agents, start_cluster
from vgkit.serve.orchestrator_agent import OrchestratorAgent
from vgkit.serve.process import ServeProcess
from vgkit.serve.supervisor import RestartPolicy

__all__ = [
    "DEFAULT_MAX_BODY",
    "AgentInfo",
    "AgentServer",
    "AuthConfig",
    "Cluster",
    "ConnectionGuard",
    "OrchestratorAgent",
    "PipelineAgent",
    "RestartPolicy",
    "ServeConfig",
    "ServeProcess",
    "ServedAgent",
    "Skill",
    "all_agents",
    "start_cluster",
]
