"""Executors: the order in which :func:`vgkit.scheduler.run_graph` starts a graph's nodes.

An executor is a strategy object: ``dispatch(graph, limits)`` returns the
per-run state (a :class:`Dispatch`) that the scheduler's engine asks which node
to start next. The engine does everything else (a task per node, parent
results, failures and skips, records, progress hooks, cancellation), so an
executor is only the choice of order. Nodes are integers: positions in
:attr:`IndexedDAG.ids <vgkit.dag.IndexedDAG.ids>`.

The engine drives a dispatch with two calls:

``ready(node)``
    Every parent of ``node`` finished ok (for roots: at the start). Called
    once for each node that may run, never for a node whose upstream failed.
``next(running)``
    The node to start now, with ``running`` nodes in flight, or None to wait
    until one of them ends. A node whose upstream failed meanwhile is recorded
    ``skipped`` before it could be returned; the engine passes over it. The
    engine also holds the run's ``concurrency`` cap, so an executor need not.

The registered executors (:data:`EXECUTORS`):

``eager`` (default)
    A node starts as soon as all its parents finished ok. Ready nodes start in
    order of longest remaining cost path (:meth:`IndexedDAG.remaining_path`),
    ties by insertion order, so the critical path never queues behind short
    branches.
``levels``
    The original system: :meth:`DAG.levels <vgkit.dag.DAG.levels>` one level at
    a time, with a barrier after each. A level smaller than
    ``limits.parallel_threshold`` runs sequentially.
``serial``
    :meth:`IndexedDAG.topological`, one node at a time.

Adding an executor takes a class with ``dispatch`` and one line in
:data:`EXECUTORS`. For example, newest-ready-first (depth first)::

    class NewestFirst:
        def dispatch(self, graph: IndexedDAG, limits: Limits) -> Dispatch:
            return _Stack()

    class _Stack:
        def __init__(self) -> None:
            self.ready_nodes: list[int] = []

        def ready(self, node: int) -> None:
            self.ready_nodes.append(node)

        def next(self, running: int) -> int | None:
            return self.ready_nodes.pop() if self.ready_nodes else None

    EXECUTORS["newest"] = NewestFirst()

It is then a choice everywhere an executor is: ``run_graph(dag, fn,
executor="newest")``, ``Orchestrator(executor="newest")``, ``vgkit generate
--executor newest`` (when the module that registers it is imported).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from heapq import heappop, heappush
from typing import TYPE_CHECKING, Protocol

from vgkit.errors import ExecutorError

if TYPE_CHECKING:
    from vgkit.dag import IndexedDAG

__all__ = [
    "EXECUTORS",
    "Dispatch",
    "Eager",
    "Executor",
    "Levels",
    "Limits",
    "Serial",
    "executor",
]


@dataclass(frozen=True, slots=True)
class Limits:
    """The run's options an executor may use."""

    concurrency: int
    """Node functions allowed in flight at once (``sys.maxsize``: no cap)."""
    parallel_threshold: int
    """``levels``: a level with fewer nodes than this runs one node at a time."""


class Dispatch(Protocol):
    """One run's choice of what to start next (see the module docstring)."""

    def ready(self, node: int) -> None:
        """Every parent of ``node`` finished ok: it may start."""
        ...

    def next(self, running: int) -> int | None:
        """The node to start now, or None to wait until a running node ends."""
        ...


class Executor(Protocol):
    """A strategy for the order of a run: makes one :class:`Dispatch` per run."""

    def dispatch(self, graph: IndexedDAG, limits: Limits) -> Dispatch: ...


# -- eager --------------------------------------------------------------------


class Eager:
    """Start every ready node at once, longest remaining path first."""

    def dispatch(self, graph: IndexedDAG, limits: Limits) -> Dispatch:
        return _LongestPathFirst(graph)


class _LongestPathFirst:
    __slots__ = ("by_rank", "heap", "rank")

    def __init__(self, graph: IndexedDAG) -> None:
        # A stable sort on the negated path length keeps insertion order for ties.
        longest_first = [-length for length in graph.remaining_path()]
        self.by_rank = sorted(range(len(graph.ids)), key=longest_first.__getitem__)
        self.rank = [0] * len(graph.ids)
        for r, i in enumerate(self.by_rank):
            self.rank[i] = r
        self.heap: list[int] = []  # ranks of ready nodes

    def ready(self, node: int) -> None:
        heappush(self.heap, self.rank[node])

    def next(self, running: int) -> int | None:
        heap = self.heap
        return self.by_rank[heappop(heap)] if heap else None


# -- batches with barriers: levels and serial ---------------------------------


class Levels:
    """One level at a time, a barrier after each (the original system)."""

    def dispatch(self, graph: IndexedDAG, limits: Limits) -> Dispatch:
        by_level: list[list[int]] = [[] for _ in range(max(graph.level, default=-1) + 1)]
        for i in graph.order:
            by_level[graph.level[i]].append(i)
        small = limits.parallel_threshold
        return _Batches((b, limits.concurrency if len(b) >= small else 1) for b in by_level)


class Serial:
    """One node at a time, in topological order."""

    def dispatch(self, graph: IndexedDAG, limits: Limits) -> Dispatch:
        return _Batches(iter([(graph.topological(), 1)]))


class _Batches:
    """Runs each batch of nodes, at most ``cap`` at once, after the previous has settled."""

    __slots__ = ("batches", "cap", "queue")

    def __init__(self, batches: Iterator[tuple[list[int], int]]) -> None:
        self.batches = batches
        self.queue: deque[int] = deque()
        self.cap = 1

    def ready(self, node: int) -> None:
        pass  # the batches fix the order; the engine passes over skipped nodes

    def next(self, running: int) -> int | None:
        while not self.queue:
            if running:
                return None  # the barrier: wait until everything before has settled
            batch = next(self.batches, None)
            if batch is None:
                return None
            self.queue = deque(batch[0])
            self.cap = batch[1]
        return self.queue.popleft() if running < self.cap else None


#: Executors by name, for ``run_graph(executor=...)``, the orchestrator and the CLI's
#: ``--executor``; add yours here (see the module docstring).
EXECUTORS: dict[str, Executor] = {"eager": Eager(), "levels": Levels(), "serial": Serial()}


def executor(name: str) -> Executor:
    """The executor registered as ``name``; ExecutorError names the choices."""
    try:
        return EXECUTORS[name]
    except (KeyError, TypeError):
        choices = ", ".join(EXECUTORS)
        raise ExecutorError(f"unknown executor {name!r}; choose one of: {choices}") from None
