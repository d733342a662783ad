"""vgkit: multi-agent video-plan generation and the performance machinery around it.

Quick start::

    import vgkit
    result = vgkit.generate("How solar panels work", platforms=["tiktok", "youtube"])
    plan = result.plan("tiktok")
    print(plan.to_markdown())
"""

from vgkit.agents import SPECS, AgentCall, AgentSpec, Backend, TemplateBackend
from vgkit.agents.cost import COST_PROFILES, CostModel, CostProfile
from vgkit.api import agenerate, generate
from vgkit.cache import (
    CacheIntegration,
    CachePolicy,
    LayeredCache,
    TemplateCache,
    TopicLog,
    open_cache,
)
from vgkit.dag import DAG
from vgkit.errors import (
    AgentError,
    BackendError,
    CacheError,
    ConfigError,
    CycleError,
    ExecutorError,
    GenerationError,
    GraphError,
    InvalidRequestError,
    JobNotFoundError,
    JobStateError,
    QueueError,
    QueueFullError,
    QueueUnavailableError,
    VgkitError,
)
from vgkit.events import Event, parse_event
from vgkit.models import (
    QualityReport,
    Script,
    Storyboard,
    Style,
    TopicAnalysis,
    VideoPlan,
    VideoRequest,
)
from vgkit.orchestrator import AgentCache, CachedRun, CacheOutcome, GenerationResult, Orchestrator
from vgkit.platforms import Platform, PlatformPreset, preset
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
from vgkit.scheduler import EXECUTORS, ScheduleResult, run_graph
from vgkit.sessions import current_session_id

__version__ = "0.1.0"

__all__ = [
    "COST_PROFILES",
    "DAG",
    "EXECUTORS",
    "SPECS",
    "AgentCache",
    "AgentCall",
    "AgentError",
    "AgentSpec",
    "Backend",
    "BackendError",
    "CacheError",
    "CacheIntegration",
    "CacheOutcome",
    "CachePolicy",
    "CachedRun",
    "ConfigError",
    "CostModel",
    "CostProfile",
    "CycleError",
    "Event",
    "ExecutorError",
    "GenerationError",
    "GenerationResult",
    "GraphError",
    "InvalidRequestError",
    "Job",
    "JobEvent",
    "JobNotFoundError",
    "JobQueue",
    "JobResult",
    "JobStateError",
    "JobStatus",
    "LayeredCache",
    "LocalJobQueue",
    "Orchestrator",
    "Platform",
    "PlatformPreset",
    "Priority",
    "QualityReport",
    "QueueConfig",
    "QueueError",
    "QueueFullError",
    "QueueUnavailableError",
    "RedisJobQueue",
    "ScheduleResult",
    "Script",
    "Storyboard",
    "Style",
    "TemplateBackend",
    "TemplateCache",
    "TopicAnalysis",
    "TopicLog",
    "VgkitError",
    "VideoPlan",
    "VideoRequest",
    "Worker",
    "WorkerConfig",
    "__version__",
    "agenerate",
    "current_session_id",
    "generate",
    "open_cache",
    "parse_event",
    "preset",
    "run_graph",
]
