"""vgkit: multi-agent video-plan generation and the performance machinery around it.

Quick start::

    import vgkit
    result = vgkit.generate("How solar panels work", platforms=["tiktok", "youtube"])
    plan = result.plan("tiktok")
    print(plan.to_markdown())
"""

import typing as _typing

from vgkit.agents import SPECS, AgentCall, AgentSpec, Backend, TemplateBackend
from vgkit.agents.cost import COST_PROFILES, CostModel, CostProfile
from vgkit.api import agenerate, generate
from vgkit.dag import DAG
from vgkit.errors import (
    AgentError,
    BackendError,
    CacheError,
    CircuitOpenError,
    ClientError,
    ConfigError,
    CycleError,
    EndpointUnavailableError,
    ExecutorError,
    GenerationError,
    GraphError,
    InvalidRequestError,
    JobNotFoundError,
    JobStateError,
    LoadTestError,
    QueueError,
    QueueFullError,
    QueueUnavailableError,
    ReportError,
    RequestTimeoutError,
    RpcError,
    ServeError,
    TargetError,
    TuningError,
    VgkitError,
)
from vgkit.events import Event, parse_event
from vgkit.executors import EXECUTORS
from vgkit.generation import GenerationResult
from vgkit.models import (
    QualityReport,
    Script,
    Storyboard,
    Style,
    TopicAnalysis,
    VideoPlan,
    VideoRequest,
)
from vgkit.orchestrator import AgentCache, CachedRun, CacheOutcome, Orchestrator
from vgkit.platforms import Platform, PlatformPreset, preset
from vgkit.scheduler import ScheduleResult, run_graph
from vgkit.sessions import current_session_id

if _typing.TYPE_CHECKING:
    from vgkit.agents.llm import LLMBackend, LLMConfig
    from vgkit.agents.remote import A2ABackend
    from vgkit.cache import (
        CacheIntegration,
        CachePolicy,
        LayeredCache,
        TemplateCache,
        TopicLog,
        open_cache,
    )
    from vgkit.cache.trace import Trace, TraceRecorder, load_trace, record_trace
    from vgkit.client import A2AClient, PoolConfig, PooledClient
    from vgkit.dashboard import Dashboard
    from vgkit.experiments import Grid, GridResult, run_grid
    from vgkit.loadtest import (
        AgentTarget,
        CacheTarget,
        HttpTarget,
        LoadTest,
        LoadTestResult,
        OrchestratorTarget,
        RemoteOrchestratorTarget,
        ServeTarget,
        Target,
        Workload,
        run_load_test,
    )
    from vgkit.plots import storyboard_timeline
    from vgkit.queue import (
        Job,
        JobEvent,
        JobQueue,
        JobResult,
        JobStatus,
        LocalJobQueue,
        Priority,
        QueueConfig,
        RedisJobQueue,
        Worker,
        WorkerConfig,
    )
    from vgkit.reports import Report, run_report, save_result
    from vgkit.serve import AgentServer, ServeConfig, ServeProcess, start_cluster
    from vgkit.tuning import (
        Candidate,
        Recommendation,
        SimulationResult,
        generate_trace,
        recommend,
        replay,
        simulate,
    )

__version__ = "0.1.0"

# The network and storage layers (aiohttp, redis) and the measurement tools (pandas,
# numpy, papermill) load on first use, so `import vgkit` for the embedded pipeline stays
# quick.
_LAZY = {
    "A2ABackend": "vgkit.agents.remote",
    "LLMBackend": "vgkit.agents.llm",
    "LLMConfig": "vgkit.agents.llm",
    **dict.fromkeys(
        (
            "CacheIntegration",
            "CachePolicy",
            "LayeredCache",
            "TemplateCache",
            "TopicLog",
            "open_cache",
        ),
        "vgkit.cache",
    ),
    **dict.fromkeys(("Trace", "TraceRecorder", "load_trace", "record_trace"), "vgkit.cache.trace"),
    **dict.fromkeys(("A2AClient", "PoolConfig", "PooledClient"), "vgkit.client"),
    **dict.fromkeys(
        (
            "Job",
            "JobEvent",
            "JobQueue",
            "JobResult",
            "JobStatus",
            "LocalJobQueue",
            "Priority",
            "QueueConfig",
            "RedisJobQueue",
            "Worker",
            "WorkerConfig",
        ),
        "vgkit.queue",
    ),
    **dict.fromkeys(("AgentServer", "ServeConfig", "ServeProcess", "start_cluster"), "vgkit.serve"),
    "Dashboard": "vgkit.dashboard",
    "Grid": "vgkit.experiments",
    "GridResult": "vgkit.experiments",
    "run_grid": "vgkit.experiments",
    "AgentTarget": "vgkit.loadtest",
    "CacheTarget": "vgkit.loadtest",
    "HttpTarget": "vgkit.loadtest",
    "LoadTest": "vgkit.loadtest",
    "LoadTestResult": "vgkit.loadtest",
    "OrchestratorTarget": "vgkit.loadtest",
    "RemoteOrchestratorTarget": "vgkit.loadtest",
    "ServeTarget": "vgkit.loadtest",
    "Target": "vgkit.loadtest",
    "Workload": "vgkit.loadtest",
    "run_load_test": "vgkit.loadtest",
    "storyboard_timeline": "vgkit.plots",
    "Report": "vgkit.reports",
    "run_report": "vgkit.reports",
    "save_result": "vgkit.reports",
    "Candidate": "vgkit.tuning",
    "Recommendation": "vgkit.tuning",
    "SimulationResult": "vgkit.tuning",
    "generate_trace": "vgkit.tuning",
    "recommend": "vgkit.tuning",
    "replay": "vgkit.tuning",
    "simulate": "vgkit.tuning",
}


def __getattr__(name: str) -> _typing.Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'vgkit' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "COST_PROFILES",
    "DAG",
    "EXECUTORS",
    "SPECS",
    "A2ABackend",
    "A2AClient",
    "AgentCache",
    "AgentCall",
    "AgentError",
    "AgentServer",
    "AgentSpec",
    "AgentTarget",
    "Backend",
    "BackendError",
    "CacheError",
    "CacheIntegration",
    "CacheOutcome",
    "CachePolicy",
    "CacheTarget",
    "CachedRun",
    "Candidate",
    "CircuitOpenError",
    "ClientError",
    "ConfigError",
    "CostModel",
    "CostProfile",
    "CycleError",
    "Dashboard",
    "EndpointUnavailableError",
    "Event",
    "ExecutorError",
    "GenerationError",
    "GenerationResult",
    "GraphError",
    "Grid",
    "GridResult",
    "HttpTarget",
    "InvalidRequestError",
    "Job",
    "JobEvent",
    "JobNotFoundError",
    "JobQueue",
    "JobResult",
    "JobStateError",
    "JobStatus",
    "LLMBackend",
    "LLMConfig",
    "LayeredCache",
    "LoadTest",
    "LoadTestError",
    "LoadTestResult",
    "LocalJobQueue",
    "Orchestrator",
    "OrchestratorTarget",
    "Platform",
    "PlatformPreset",
    "PoolConfig",
    "PooledClient",
    "Priority",
    "QualityReport",
    "QueueConfig",
    "QueueError",
    "QueueFullError",
    "QueueUnavailableError",
    "Recommendation",
    "RedisJobQueue",
    "RemoteOrchestratorTarget",
    "Report",
    "ReportError",
    "RequestTimeoutError",
    "RpcError",
    "ScheduleResult",
    "Script",
    "ServeConfig",
    "ServeError",
    "ServeProcess",
    "ServeTarget",
    "SimulationResult",
    "Storyboard",
    "Style",
    "Target",
    "TargetError",
    "TemplateBackend",
    "TemplateCache",
    "TopicAnalysis",
    "TopicLog",
    "Trace",
    "TraceRecorder",
    "TuningError",
    "VgkitError",
    "VideoPlan",
    "VideoRequest",
    "Worker",
    "WorkerConfig",
    "Workload",
    "__version__",
    "agenerate",
    "current_session_id",
    "generate",
    "generate_trace",
    "load_trace",
    "open_cache",
    "parse_event",
    "preset",
    "recommend",
    "record_trace",
    "replay",
    "run_graph",
    "run_grid",
    "run_load_test",
    "run_report",
    "save_result",
    "simulate",
    "start_cluster",
    "storyboard_timeline",
]
