"""Tasks of an agent server: the bounded store, per-task context, and cancellation.

Every message an agent accepts becomes a task. While it runs, its
``TaskContext`` records status changes and artifacts on the task and forwards
them to the streams that follow it (SSE subscribers). Finished tasks stay in a
store bounded by count and by the bytes of their messages (oldest out first)
so ``GetTask`` can fetch them; a running task can be cancelled, which cancels
its coroutine and marks it ``canceled``.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from vgkit.a2a.protocol import (
    Artifact,
    ArtifactUpdate,
    Message,
    Part,
    StatusUpdate,
    StreamEvent,
    Task,
    TaskState,
    TaskStatus,
)

if TYPE_CHECKING:
    from vgkit.metrics import MetricsRegistry

__all__ = ["DEFAULT_MAX_TASKS", "DEFAULT_MAX_TASK_BYTES", "TaskContext", "TaskStore"]

DEFAULT_MAX_TASKS = 1000
DEFAULT_MAX_TASK_BYTES = 64 * 1024 * 1024


class TaskContext:
    """What a running job may do to its task: report status, add artifacts.

    ``registry``: the metrics registry of the server running the task (where its
    agent records spans); None outside a server (the process's default registry).
    """

    __slots__ = ("cancel_requested", "listeners", "registry", "task")

    def __init__(self, task: Task, registry: MetricsRegistry | None = None) -> None:
        self.task = task
        self.registry = registry
        self.listeners: list[Callable[[StreamEvent], None]] = []
        self.cancel_requested = False

    def _emit(self, event: StreamEvent) -> None:
        for listener in self.listeners:
            listener(event)

    def status(
        self,
        state: TaskState,
        text: str | None = None,
        *,
        data: Any = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Move the task to ``state``, with an optional agent message (text and/or data).

        ``metadata`` goes on the status update streamed to followers; a terminal
        update without it carries the task's own metadata.
        """
        parts = []
        if text is not None:
            parts.append(Part(text=text))
        if data is not None:
            parts.append(Part(data=data))
        message = (
            Message(
                role="agent", parts=parts, context_id=self.task.context_id, task_id=self.task.id
            )
            if parts
            else None
        )
        self.task.status = TaskStatus(state=state, message=message)
        if self.listeners:
            if metadata is None and state.terminal:
                # A stream's last event carries the task's metadata (the spans for
                # the caller's trace): a streaming client never gets the task itself.
                metadata = self.task.metadata
            self._emit(
                StatusUpdate(
                    task_id=self.task.id,
                    context_id=self.task.context_id,
                    status=self.task.status,
                    final=state.terminal,
                    metadata=metadata,
                )
            )

    def artifact(self, artifact: Artifact) -> None:
        self.task.artifacts.append(artifact)
        if self.listeners:
            self._emit(ArtifactUpdate(self.task.id, self.task.context_id, artifact))


class TaskStore:
    """Tasks by id: running ones with their coroutine, finished ones LRU-bounded."""

    def __init__(
        self, max_tasks: int = DEFAULT_MAX_TASKS, max_bytes: int = DEFAULT_MAX_TASK_BYTES
    ) -> None:
        self.max_tasks = max_tasks
        self.max_bytes = max_bytes
        self.bytes = 0
        self._tasks: OrderedDict[str, Task] = OrderedDict()
        self._weights: dict[str, int] = {}
        self._running: dict[str, tuple[asyncio.Task[Any], TaskContext]] = {}

    def __len__(self) -> int:
        return len(self._tasks)

    @property
    def running(self) -> int:
        return len(self._running)

    def running_ids(self) -> list[str]:
        return list(self._running)

    def add(self, task: Task, weight: int = 0) -> None:
        """Keep ``task``; ``weight`` estimates its bytes (the request body, say).

        The least recently added finished tasks go first once there are more
        than ``max_tasks`` or they weigh more than ``max_bytes``.
        """
        self._tasks[task.id] = task
        self._weights[task.id] = weight
        self.bytes += weight
        while len(self._tasks) > self.max_tasks or (
            self.bytes > self.max_bytes and len(self._tasks) > 1
        ):
            oldest = next(iter(self._tasks))
            if oldest in self._running:  # never drop a running task
                self._tasks.move_to_end(oldest)
                if all(t in self._running for t in self._tasks):
                    break
                continue
            del self._tasks[oldest]
            self.bytes -= self._weights.pop(oldest, 0)

    def get(self, task_id: str) -> Task | None:
        return self._tasks.get(task_id)

    def context(self, task_id: str) -> TaskContext | None:
        entry = self._running.get(task_id)
        return entry[1] if entry else None

    def track(
        self, task_id: str, job: asyncio.Task[Any], ctx: TaskContext, *, inline: bool = False
    ) -> None:
        """Remember a running job so it can be cancelled.

        A background job is forgotten when it ends; an ``inline`` one (running
        in the request's own task) must be forgotten with ``forget``.
        """
        self._running[task_id] = (job, ctx)
        if not inline:
            job.add_done_callback(lambda _: self._running.pop(task_id, None))

    def forget(self, task_id: str) -> None:
        self._running.pop(task_id, None)

    async def cancel(self, task_id: str) -> Task | None:
        """Cancel a running task; None if it is not running (finished or unknown)."""
        entry = self._running.get(task_id)
        if entry is None:
            return None
        job, ctx = entry
        ctx.cancel_requested = True
        job.cancel()
        await asyncio.gather(job, return_exceptions=True)
        if not ctx.task.status.state.terminal:
            ctx.status(TaskState.CANCELED, "canceled at the client's request")
        return ctx.task

    async def cancel_all(self) -> int:
        ids = list(self._running)
        for task_id in ids:
            await self.cancel(task_id)
        return len(ids)
