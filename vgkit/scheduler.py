"""Run a DAG's node functions on the event loop and record what happened.

The executors (``eager``, the default; ``levels``, the original system's
level-by-level barriers; ``serial``) are strategy objects registered in
:data:`vgkit.executors.EXECUTORS`: each only chooses which node starts next,
and this engine does the rest. See :mod:`vgkit.executors` to add one.

Every node runs as its own task and the engine advances from task done-callbacks
(no polling, no ``asyncio.wait`` over growing sets), so other tasks on the loop
get turns between nodes even when node functions never suspend.

A node that raises fails only its descendants: they are recorded ``skipped`` with
the nearest failed ancestor as the reason, and the rest of the graph keeps
running. :func:`run_graph` reports failures in its result instead of raising.

Progress hooks (``on_start``, ``on_finish``) are synchronous. If one raises, the
run stops: running nodes are cancelled and awaited, the nodes left are recorded
``cancelled``, and then the hook's exception propagates from :func:`run_graph`.
A broken progress hook is a bug in the caller, and reporting progress that is
silently wrong would be worse than stopping.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from time import perf_counter
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from vgkit.errors import ExecutorError
from vgkit.executors import EXECUTORS, Dispatch, Limits
from vgkit.executors import executor as executor_named

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from vgkit.dag import DAG, IndexedDAG

__all__ = [
    "NodeFn",
    "NodeRecord",
    "NodeStatus",
    "ScheduleResult",
    "run_graph",
]

logger = logging.getLogger(__name__)

NodeStatus = Literal["ok", "failed", "skipped", "cancelled"]
NodeFn = Callable[[str, Mapping[str, Any]], Awaitable[Any]]
"""``fn(node_id, parent_results)``: the work of one node."""

_RUN_CANCELLED = "cancelled: the run was stopped"


class NodeRecord(NamedTuple):
    """What happened to one node. Times are seconds since the run started.

    A named tuple rather than a frozen dataclass: one is made per node on the
    scheduler's hot path, and a frozen dataclass costs about three times more
    to construct.
    """

    node: str
    status: NodeStatus
    level: int
    start: float | None
    end: float | None
    duration: float | None
    error: str | None
    """``"ValueError: boom"`` when failed, ``"upstream 'x' failed"`` when skipped."""


@dataclass(frozen=True)
class ScheduleResult:
    """The outcome of :func:`run_graph`."""

    executor: str
    results: dict[str, Any]
    """Return value of every node that finished ok."""
    records: dict[str, NodeRecord]
    """Every node, in the graph's insertion order."""
    errors: dict[str, BaseException]
    """The exception of every failed node."""
    makespan: float
    """Wall seconds from the first node's start to the end of the run."""
    dag: DAG = field(repr=False, compare=False)

    @property
    def ok(self) -> bool:
        """Whether every node finished ok."""
        return all(r.status == "ok" for r in self.records.values())

    @property
    def failed(self) -> dict[str, str]:
        """Failed nodes and their errors."""
        return self._reasons("failed")

    @property
    def skipped(self) -> dict[str, str]:
        """Skipped nodes and why (the nearest failed ancestor)."""
        return self._reasons("skipped")

    def _reasons(self, status: NodeStatus) -> dict[str, str]:
        return {n: r.error or "" for n, r in self.records.items() if r.status == status}

    @cached_property
    def critical_path(self) -> tuple[list[str], float]:
        """The longest path through the graph by measured durations, among nodes that ran."""
        path, length = self.dag.critical_path(
            {n: r.duration or 0.0 for n, r in self.records.items()}
        )
        # Nodes that did not run (all downstream of one that did) cost 0 and end the path.
        while path and self.records[path[-1]].start is None:
            path.pop()
        return path, length

    def timings_frame(self) -> pd.DataFrame:
        """One row per node (node, status, level, start, end, duration, error), by start."""
        import pandas as pd

        frame = pd.DataFrame(
            [
                (r.node, r.status, r.level, r.start, r.end, r.duration, r.error)
                for r in self.records.values()
            ],
            columns=["node", "status", "level", "start", "end", "duration", "error"],
        )
        frame = frame.astype(
            {"level": "int64", "start": "float64", "end": "float64", "duration": "float64"}
        )
        return frame.sort_values("start", kind="stable", na_position="last").reset_index(drop=True)

    def gantt(self, ax: Axes | None = None, title: str | None = None) -> Figure:
        """A bar per node that ran, from its start to its end, coloured by status."""
        from vgkit._drawing import axes_and_figure, draw_gantt

        ran = sorted(
            (r for r in self.records.values() if r.start is not None and r.end is not None),
            key=lambda r: r.start or 0.0,
        )
        bars = [(r.node, r.status, r.start or 0.0, r.end or 0.0) for r in ran]
        ax, fig = axes_and_figure(ax, width=9.0, height=min(14.0, max(3.0, 0.25 * len(bars))))
        draw_gantt(ax, bars, len(self.records) - len(bars), title)
        return fig


async def run_graph(
    dag: DAG,
    fn: NodeFn,
    *,
    executor: str = "eager",
    concurrency: int | None = None,
    parallel_threshold: int = 2,
    costs: Mapping[str, float] | None = None,
    on_start: Callable[[str], object] | None = None,
    on_finish: Callable[[NodeRecord], object] | None = None,
) -> ScheduleResult:
    """Run ``fn(node_id, parent_results)`` for every node of ``dag``.

    ``executor`` names the order (:data:`vgkit.executors.EXECUTORS`).
    ``concurrency`` caps how many node functions run at once (None: no cap).
    ``parallel_threshold`` applies to the ``levels`` executor only. ``costs``
    overrides :attr:`Node.cost` for the eager executor's priorities.
    ``on_start(node_id)`` and ``on_finish(record)`` are called as nodes start
    and end; ``on_finish`` is called exactly once for every node.

    Raises CycleError or GraphError for a malformed graph and ExecutorError for
    bad options. Node failures do not raise; see :attr:`ScheduleResult.failed`.
    If the awaiting task is cancelled, running nodes are cancelled and awaited
    before CancelledError propagates.
    """
    strategy = executor_named(executor)
    for name, value, allow_none in (
        ("concurrency", concurrency, True),
        ("parallel_threshold", parallel_threshold, False),
    ):
        valid = (value is None and allow_none) or (
            isinstance(value, int) and not isinstance(value, bool) and value >= 1
        )
        if not valid:
            raise ExecutorError(
                f"{name} must be a positive integer{' or None' if allow_none else ''}, "
                f"got {value!r} (executors: {', '.join(EXECUTORS)})"
            )
    graph = dag.indexed(costs)
    limits = Limits(concurrency or sys.maxsize, parallel_threshold)
    run = _Run(graph, fn, strategy.dispatch(graph, limits), limits.concurrency, on_start, on_finish)
    await run.wait()
    ids, status, records = graph.ids, run.status, run.records
    return ScheduleResult(
        executor=executor,
        results={ids[i]: v for i, v in enumerate(run.results) if status[i] == "ok"},
        records={ids[i]: r for i, r in enumerate(records) if r is not None},
        errors={ids[i]: exc for i, exc in run.errors.items()},
        makespan=run.makespan,
        dag=dag,
    )


class _Run:
    """The state of one run; advanced by task done-callbacks, awaited by run_graph."""

    def __init__(
        self,
        g: IndexedDAG,
        fn: NodeFn,
        dispatch: Dispatch,
        limit: int,
        on_start: Callable[[str], object] | None,
        on_finish: Callable[[NodeRecord], object] | None,
    ) -> None:
        n = len(g.ids)
        self.n = n
        self.ids = g.ids
        self.parents = g.parents
        self.children = g.children
        self.level = g.level
        self.fn = fn
        self.on_start = on_start
        self.on_finish = on_finish
        # Bound once: both are called for every node.
        self.ready = dispatch.ready
        self.take = dispatch.next
        self.limit = limit
        self.loop = asyncio.get_running_loop()

        self.pending = [len(ps) for ps in g.parents]  # parents not yet settled
        self.blocked = [False] * n  # some parent settled without "ok"
        self.status: list[NodeStatus | None] = [None] * n
        self.cause = [-1] * n  # skipped: the nearest failed (or cancelled) ancestor
        self.hops = [0] * n  # skipped: edges to that ancestor
        self.results: list[Any] = [None] * n
        self.starts = [-1.0] * n  # perf_counter when fn began; -1: never began
        self.ends = [0.0] * n
        self.records: list[NodeRecord | None] = [None] * n
        self.errors: dict[int, BaseException] = {}
        self.tasks: dict[asyncio.Task[Any], int] = {}
        self.running = 0
        self.settled = 0
        self.aborting = False
        self.hook_error: Exception | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.makespan = 0.0

        for i in range(n):
            if not g.parents[i]:
                self.ready(i)
        self.t0 = perf_counter()

    # -- the driver (runs in the awaiting task) --------------------------------

    async def wait(self) -> None:
        cancelled: asyncio.CancelledError | None = None
        self._fill()
        while not self._finished():
            self.waiter = self.loop.create_future()
            try:
                await self.waiter
            except asyncio.CancelledError as exc:
                # Cancel the nodes and keep waiting until every one has ended,
                # even if cancelled again meanwhile: no task may outlive the run.
                cancelled = cancelled or exc
                self._abort()
        self.makespan = perf_counter() - self.t0
        if self.aborting:
            for i in range(self.n):
                if self.status[i] is None:
                    self._record(i, "cancelled", None, None, _RUN_CANCELLED)
        if cancelled is not None:
            raise cancelled
        if self.hook_error is not None:
            raise self.hook_error

    def _finished(self) -> bool:
        return self.settled == self.n or (self.aborting and not self.running)

    def _abort(self) -> None:
        self.aborting = True
        for task in self.tasks:
            task.cancel()

    # -- starting nodes -------------------------------------------------------

    def _fill(self) -> None:
        """Start nodes while the executor offers one and the cap allows it."""
        take, status, start = self.take, self.status, self._start
        while self.running < self.limit and not self.aborting:
            i = take(self.running)
            if i is None:
                return
            if status[i] is None:  # else skipped when its parents settled
                start(i)

    def _start(self, i: int) -> None:
        if self.on_start is not None and not self._hook(self.on_start, self.ids[i]):
            return
        task = self.loop.create_task(self._call(i))
        self.tasks[task] = i
        self.running += 1
        task.add_done_callback(self._done)

    async def _call(self, i: int) -> Any:
        ids, results = self.ids, self.results
        self.starts[i] = perf_counter()
        try:
            return await self.fn(ids[i], {ids[p]: results[p] for p in self.parents[i]})
        finally:
            self.ends[i] = perf_counter()

    # -- nodes ending ---------------------------------------------------------

    def _done(self, task: asyncio.Task[Any]) -> None:
        i = self.tasks.pop(task)
        self.running -= 1
        began = self.starts[i]
        start = end = None
        if began >= 0:
            start = began - self.t0
            end = self.ends[i] - self.t0
        if task.cancelled():
            error = _RUN_CANCELLED if self.aborting else "cancelled inside the node"
            self._record(i, "cancelled", start, end, error)
            if not self.aborting:
                self._block_from(i)
        elif (exc := task.exception()) is not None:
            self.errors[i] = exc
            self._record(i, "failed", start, end, _describe(exc))
            if not self.aborting:
                self._block_from(i)
        else:
            self.results[i] = task.result()
            self._record(i, "ok", start, end, None)
            pending, blocked = self.pending, self.blocked
            for c in self.children[i]:
                left = pending[c] - 1
                pending[c] = left
                if not left:
                    if blocked[c]:
                        self._skip(c)
                        self._block_from(c)
                    else:
                        self.ready(c)
        self._fill()
        if self.waiter is not None and self._finished() and not self.waiter.done():
            self.waiter.set_result(None)

    def _block_from(self, root: int) -> None:
        """``root`` settled without "ok": skip every descendant once its parents settle."""
        stack = [root]
        pending, blocked, children = self.pending, self.blocked, self.children
        while stack:
            for c in children[stack.pop()]:
                blocked[c] = True
                pending[c] -= 1
                if not pending[c]:
                    self._skip(c)
                    stack.append(c)

    def _skip(self, i: int) -> None:
        # Every parent has settled, so the nearest failed ancestor is known now.
        best_hops, cause = 0, -1
        for p in self.parents[i]:
            st = self.status[p]
            if st == "ok":
                continue
            hops, origin = (self.hops[p] + 1, self.cause[p]) if st == "skipped" else (1, p)
            if cause < 0 or hops < best_hops:
                best_hops, cause = hops, origin
        self.hops[i], self.cause[i] = best_hops, cause
        self._record(i, "skipped", None, None, f"upstream {self.ids[cause]!r} {self.status[cause]}")

    def _record(
        self, i: int, status: NodeStatus, start: float | None, end: float | None, error: str | None
    ) -> None:
        duration = None if start is None or end is None else end - start
        record = NodeRecord(self.ids[i], status, self.level[i], start, end, duration, error)
        self.status[i] = status
        self.records[i] = record
        self.settled += 1
        if self.on_finish is not None:
            self._hook(self.on_finish, record)

    def _hook(self, hook: Callable[[Any], object], arg: object) -> bool:
        try:
            hook(arg)
        except Exception as exc:
            if self.hook_error is None and not self.aborting:
                # A broken progress hook stops the run; it is not called again.
                self.hook_error = exc
                self.on_start = self.on_finish = None
                self._abort()
            else:
                logger.exception("progress hook %r raised while the run was stopping", hook)
            return False
        return True


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
