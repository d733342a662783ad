"""The job queue: priorities, retries, dead letters, workers, followable events.

``LocalJobQueue`` keeps jobs in this process; ``RedisJobQueue`` keeps them in
Redis Streams so any number of worker processes on any number of machines share
them. Both have the same API (:class:`~vgkit.queue.base.JobQueue`), and a
:class:`~vgkit.queue.worker.Worker` consumes either. A job carries a request, or
a :class:`Task` that a worker runs with the handler registered for its kind (the
render tasks of :mod:`vgkit.video.distributed`)::

    queue = RedisJobQueue("redis://127.0.0.1:6379/0")
    job_id = await queue.submit(VideoRequest(topic="Sourdough"), priority="high")
    async for event in queue.follow(job_id):     # from any process
        print(event.type)
    result = await queue.result(job_id)
"""

from vgkit.queue.base import (
    Claim,
    JobQueue,
    Lease,
    QueueConfig,
    QueueStats,
)
from vgkit.queue.jobs import (
    Attempt,
    DeadLetter,
    Job,
    JobEvent,
    JobResult,
    JobStatus,
    Payload,
    Priority,
    QueueEvent,
    Task,
    parse_payload,
    parse_queue_event,
)
from vgkit.queue.local import LocalJobQueue
from vgkit.queue.redis import RedisJobQueue
from vgkit.queue.worker import (
    OrchestratorFactory,
    TaskHandler,
    TaskRun,
    Worker,
    WorkerConfig,
    WorkerStats,
)

__all__ = [
    "Attempt",
    "Claim",
    "DeadLetter",
    "Job",
    "JobEvent",
    "JobQueue",
    "JobResult",
    "JobStatus",
    "Lease",
    "LocalJobQueue",
    "OrchestratorFactory",
    "Payload",
    "Priority",
    "QueueConfig",
    "QueueEvent",
    "QueueStats",
    "RedisJobQueue",
    "Task",
    "TaskHandler",
    "TaskRun",
    "Worker",
    "WorkerConfig",
    "WorkerStats",
    "parse_payload",
    "parse_queue_event",
]
