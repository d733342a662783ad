"""vgkit: multi-agent video-plan generation and the performance machinery around it.

Quick start::

    import vgkit
    result = vgkit.generate("How solar panels work", platforms=["tiktok", "youtube"])
    plan = result.plan("tiktok")
    print(plan.to_markdown())
"""

from vgkit.agents import (
    SPECS,
    A2ABackend,
    AgentCall,
    AgentSpec,
    Backend,
    LLMBackend,
    LLMConfig,
    TemplateBackend,
)
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
from vgkit.client import A2AClient, PoolConfig, PooledClient
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
    QueueError,
    QueueFullError,
    QueueUnavailableError,
    RequestTimeoutError,
    RpcError,
    ServeError,
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
from vgkit.serve import AgentServer, ServeConfig, start_cluster
from vgkit.sessions import current_session_id

__version__ = "0.1.0"

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
    "Backend",
    "BackendError",
    "CacheError",
    "CacheIntegration",
    "CacheOutcome",
    "CachePolicy",
    "CachedRun",
    "CircuitOpenError",
    "ClientError",
    "ConfigError",
    "CostModel",
    "CostProfile",
    "CycleError",
    "EndpointUnavailableError",
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
    "LLMBackend",
    "LLMConfig",
    "LayeredCache",
    "LocalJobQueue",
    "Orchestrator",
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
    "RedisJobQueue",
    "RequestTimeoutError",
    "RpcError",
    "ScheduleResult",
    "Script",
    "ServeConfig",
    "ServeError",
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
    "start_cluster",
]
