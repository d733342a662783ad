"""Every error vgkit raises on purpose.

The tree::

    VgkitError
    ├── ConfigError            a setting or environment variable is invalid
    ├── InvalidRequestError    a VideoRequest (or other user input) failed validation
    ├── GraphError             a DAG is malformed
    │   └── CycleError         the graph has a cycle (the message names it)
    ├── ExecutorError          unknown executor name or bad scheduler options
    ├── AgentError             an agent could not produce its artifact
    │   └── BackendError       a backend (for example the LLM endpoint) misbehaved
    ├── GenerationError        a run finished without a plan for a platform
    ├── LoadTestError          a load test, its workload or its target is misconfigured
    ├── TargetError            a load-test target answered badly (counted, never raised out)
    └── ReportError            a report could not run: unknown notebook or parameter, failed cell

Errors from third-party libraries are wrapped with ``raise ... from exc`` so the
caller always sees a ``VgkitError`` whose message says what was wrong and what to
do about it. Modules that own a layer (cache, client, queue) add their own
subclasses here so the whole tree stays in one place.
"""

from __future__ import annotations

__all__ = [
    "AgentError",
    "BackendError",
    "ConfigError",
    "CycleError",
    "ExecutorError",
    "GenerationError",
    "GraphError",
    "InvalidRequestError",
    "LoadTestError",
    "ReportError",
    "TargetError",
    "VgkitError",
]


class VgkitError(Exception):
    """Base class of every error vgkit raises on purpose."""


class ConfigError(VgkitError, ValueError):
    """A setting (argument, environment variable or file) is invalid."""


class InvalidRequestError(VgkitError, ValueError):
    """User input failed validation; the message lists every problem."""


class GraphError(VgkitError):
    """A graph is malformed: unknown dependency, duplicate node, and so on."""


class CycleError(GraphError):
    """The graph has a cycle.

    ``cycle`` holds the node ids along the cycle, first node repeated at the end.
    """

    def __init__(self, cycle: list[str]) -> None:
        self.cycle = cycle
        super().__init__("graph has a cycle: " + " -> ".join(cycle))


class ExecutorError(VgkitError, ValueError):
    """An executor name or scheduler option is invalid."""


class AgentError(VgkitError):
    """An agent failed to produce its artifact."""

    def __init__(self, agent: str, message: str) -> None:
        self.agent = agent
        super().__init__(f"agent {agent!r} failed: {message}")


class BackendError(AgentError):
    """A backend misbehaved (unreachable endpoint, invalid output after retries)."""


class GenerationError(VgkitError):
    """A run ended without a usable plan; ``failures`` maps node id to reason."""

    def __init__(self, message: str, failures: dict[str, str] | None = None) -> None:
        self.failures = dict(failures or {})
        super().__init__(message)


class LoadTestError(VgkitError, ValueError):
    """A load test, its workload or its target is misconfigured."""


class TargetError(VgkitError):
    """A load-test target answered badly (for example HTTP 503).

    ``kind`` is the short label the load test counts errors under.
    """

    def __init__(self, kind: str, message: str) -> None:
        self.kind = kind
        super().__init__(f"{kind}: {message}")


class ReportError(VgkitError):
    """A report could not be produced; the message says why and what to do."""
