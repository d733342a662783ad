"""The dependency graph of a run: nodes, levels, critical path, and how to show them.

A :class:`DAG` holds :class:`Node` s in insertion order; a node names the nodes it
depends on. Nothing is checked while nodes are added (a dependency may be added
after its dependent); :meth:`DAG.validate` reports unknown dependencies and
cycles, and every query that needs a sound graph validates it first.

Edges point the way data flows: ``a -> b`` means ``b`` depends on ``a``. Cycle
messages, :meth:`DAG.to_text` and :meth:`DAG.draw` all read that way.

Every walk is iterative, so graphs of tens of thousands of nodes are fine.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

from vgkit.errors import CycleError, GraphError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["DAG", "IndexedDAG", "Node"]


@dataclass(frozen=True, slots=True)
class Node:
    """One step of a graph."""

    id: str
    deps: tuple[str, ...]
    cost: float = 1.0
    """Estimated duration, used for scheduling priority and the critical path."""
    label: str = ""
    """Text drawn instead of the id (optional)."""
    group: str = ""
    """Colour group when drawn, for example a platform name."""


@dataclass(frozen=True, slots=True)
class IndexedDAG:
    """A validated snapshot of a DAG with nodes numbered by insertion order.

    Executors work on integer indices and plain lists because that is several
    times cheaper per node than dict lookups keyed by strings.
    """

    ids: list[str]
    parents: list[list[int]]
    """Parent indices of each node, in the order its deps were given."""
    children: list[list[int]]
    """Child indices of each node, ascending."""
    level: list[int]
    """Kahn round of each node: 0 for sources, else 1 + the deepest parent's level."""
    order: list[int]
    """Nodes level by level, each level ascending: a topological order."""
    costs: list[float]

    def topological(self) -> list[int]:
        """Kahn's order, always taking the earliest-added ready node."""
        children = self.children
        waiting = [len(ps) for ps in self.parents]
        ready = [i for i in range(len(self.ids)) if not waiting[i]]
        out: list[int] = []
        while ready:
            i = heapq.heappop(ready)
            out.append(i)
            for c in children[i]:
                waiting[c] -= 1
                if not waiting[c]:
                    heapq.heappush(ready, c)
        return out

    def remaining_path(self) -> list[float]:
        """For each node, the longest cost path from it to a sink, itself included."""
        children, costs = self.children, self.costs
        out = [0.0] * len(self.ids)
        for i in reversed(self.order):
            tail = 0.0
            for c in children[i]:
                if out[c] > tail:
                    tail = out[c]
            out[i] = costs[i] + tail
        return out


def _check_cost(node_id: str, cost: float) -> float:
    cost = float(cost)
    if not math.isfinite(cost) or cost < 0:
        raise GraphError(f"node {node_id!r}: cost must be a finite number >= 0, got {cost!r}")
    return cost


class DAG:
    """A directed acyclic graph of named steps, kept in insertion order."""

    __slots__ = ("_children", "_nodes")

    def __init__(self) -> None:
        self._nodes: dict[str, Node] = {}
        # Keyed by dependency id, which may not be a node (yet): validate() reports it.
        self._children: dict[str, list[str]] = {}

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Iterable[str]]) -> DAG:
        """Build a graph from ``{node: deps}``, in the mapping's order."""
        dag = cls()
        for node_id, deps in mapping.items():
            dag.add(node_id, deps)
        return dag

    def add(
        self,
        node_id: str,
        deps: Iterable[str] = (),
        *,
        cost: float = 1.0,
        label: str = "",
        group: str = "",
    ) -> Node:
        """Add a node depending on ``deps`` (repeats are dropped) and return it."""
        if not node_id:
            raise GraphError("node id must be a non-empty string")
        if node_id in self._nodes:
            raise GraphError(f"node {node_id!r} is already in the graph; ids must be unique")
        if isinstance(deps, str):
            raise GraphError(f"node {node_id!r}: deps must be a collection of ids, not a string")
        node = Node(node_id, tuple(dict.fromkeys(deps)), _check_cost(node_id, cost), label, group)
        self._nodes[node_id] = node
        for dep in node.deps:
            self._children.setdefault(dep, []).append(node_id)
        return node

    @property
    def nodes(self) -> Mapping[str, Node]:
        """Read-only view of the nodes, in insertion order."""
        return MappingProxyType(self._nodes)

    def __len__(self) -> int:
        return len(self._nodes)

    def __contains__(self, node_id: object) -> bool:
        return node_id in self._nodes

    def __iter__(self) -> Iterator[str]:
        return iter(self._nodes)

    def __repr__(self) -> str:
        edges = sum(len(n.deps) for n in self._nodes.values())
        return f"<DAG {len(self._nodes)} nodes, {edges} edges>"

    def _node(self, node_id: str) -> Node:
        try:
            return self._nodes[node_id]
        except KeyError:
            raise GraphError(f"no node {node_id!r} in the graph") from None

    def parents(self, node_id: str) -> tuple[str, ...]:
        """The nodes ``node_id`` depends on."""
        return self._node(node_id).deps

    def children(self, node_id: str) -> tuple[str, ...]:
        """The nodes that depend on ``node_id``, in insertion order."""
        self._node(node_id)
        return tuple(self._children.get(node_id, ()))

    def descendants(self, node_id: str) -> set[str]:
        """Every node reachable from ``node_id`` (not itself, unless on a cycle)."""
        self._node(node_id)
        seen: set[str] = set()
        stack = [node_id]
        while stack:
            for child in self._children.get(stack.pop(), ()):
                if child not in seen:
                    seen.add(child)
                    stack.append(child)
        return seen

    # -- validation -------------------------------------------------------------

    def validate(self) -> None:
        """Raise GraphError for unknown dependencies, CycleError for a cycle."""
        missing = [
            f"{node.id!r} depends on unknown node {dep!r}"
            for node in self._nodes.values()
            for dep in node.deps
            if dep not in self._nodes
        ]
        if missing:
            raise GraphError(
                "graph has unknown dependencies: "
                + "; ".join(missing)
                + " (add those nodes or fix the ids)"
            )
        cycle = self._find_cycle()
        if cycle is not None:
            raise CycleError(cycle)

    def _find_cycle(self) -> list[str] | None:
        """One cycle along data-flow edges, starting at its earliest-added node."""
        order = {node_id: i for i, node_id in enumerate(self._nodes)}
        state: dict[str, int] = {}  # absent: unseen, 1: on the DFS path, 2: finished
        for root in self._nodes:
            if root in state:
                continue
            state[root] = 1
            path = [root]
            stack = [iter(self._children.get(root, ()))]
            while stack:
                child = next(stack[-1], None)
                if child is None:
                    state[path.pop()] = 2
                    stack.pop()
                elif child not in state:
                    state[child] = 1
                    path.append(child)
                    stack.append(iter(self._children.get(child, ())))
                elif state[child] == 1:
                    cycle = path[path.index(child) :]
                    first = min(range(len(cycle)), key=lambda k: order[cycle[k]])
                    cycle = cycle[first:] + cycle[:first]
                    return [*cycle, cycle[0]]
        return None

    def indexed(self, costs: Mapping[str, float] | None = None) -> IndexedDAG:
        """Validate and number the graph (see :class:`IndexedDAG`).

        ``costs`` overrides :attr:`Node.cost` for the nodes it names.
        """
        ids = list(self._nodes)
        index = {node_id: i for i, node_id in enumerate(ids)}
        n = len(ids)
        try:
            parents = [[index[d] for d in node.deps] for node in self._nodes.values()]
        except KeyError:
            self.validate()
            raise  # pragma: no cover - validate() always raises here
        children: list[list[int]] = [[] for _ in range(n)]
        for i, ps in enumerate(parents):
            for p in ps:
                children[p].append(i)
        # Kahn rounds: a level is every node whose last parent was in the previous one.
        waiting = [len(ps) for ps in parents]
        level = [0] * n
        order: list[int] = []
        current = [i for i in range(n) if not waiting[i]]
        depth = 0
        while current:
            order.extend(current)
            following = []
            for i in current:
                level[i] = depth
                for c in children[i]:
                    waiting[c] -= 1
                    if not waiting[c]:
                        following.append(c)
            following.sort()
            current = following
            depth += 1
        if len(order) < n:
            self.validate()
            raise AssertionError("unreachable: Kahn stalled on a valid graph")  # pragma: no cover
        if costs is None:
            cost_list = [node.cost for node in self._nodes.values()]
        else:
            cost_list = [
                _check_cost(node_id, costs[node_id]) if node_id in costs else node.cost
                for node_id, node in self._nodes.items()
            ]
        return IndexedDAG(ids, parents, children, level, order, cost_list)

    # -- orders and levels ------------------------------------------------------

    def topological_order(self) -> list[str]:
        """Every node after its dependencies; among ready nodes, insertion order first."""
        g = self.indexed()
        return [g.ids[i] for i in g.topological()]

    def levels(self) -> list[list[str]]:
        """Execution levels: level 0 has no deps, level N depends only on levels < N."""
        g = self.indexed()
        out: list[list[str]] = [[] for _ in range(max(g.level, default=-1) + 1)]
        for i in g.order:
            out[g.level[i]].append(g.ids[i])
        return out

    def level_of(self) -> dict[str, int]:
        """The level of every node, in insertion order."""
        g = self.indexed()
        return dict(zip(g.ids, g.level, strict=True))

    # -- paths -----------------------------------------------------------------

    def remaining_path(self, costs: Mapping[str, float] | None = None) -> dict[str, float]:
        """For each node, the longest cost path from it to any sink, itself included."""
        g = self.indexed(costs)
        return dict(zip(g.ids, g.remaining_path(), strict=True))

    def critical_path(self, costs: Mapping[str, float] | None = None) -> tuple[list[str], float]:
        """The longest cost path through the graph and its length.

        Ties go to the earliest-added node at each step, so the answer is stable.
        """
        g = self.indexed(costs)
        return _critical_path(g, g.remaining_path())

    # -- presentation -----------------------------------------------------------

    def to_text(self, costs: Mapping[str, float] | None = None) -> str:
        """A readable plan: one block per level, then the critical path."""
        g = self.indexed(costs)
        levels = self.levels()
        lines = [f"{_count(len(g.ids), 'node')} in {_count(len(levels), 'level')}"]
        index = {node_id: i for i, node_id in enumerate(g.ids)}
        for depth, members in enumerate(levels):
            lines.append(f"level {depth} ({_count(len(members), 'node')}):")
            width = max(len(m) for m in members)
            for node_id in members:
                node = self._nodes[node_id]
                text = f"  {node_id:<{width}}  cost {g.costs[index[node_id]]:g}"
                if node.label:
                    text += f"  {node.label!r}"
                if node.deps:
                    text += "  <- " + ", ".join(node.deps)
                lines.append(text)
        path, length = _critical_path(g, g.remaining_path())
        lines.append(f"critical path ({length:g}): " + (" -> ".join(path) or "(empty graph)"))
        return "\n".join(lines)

    def draw(
        self,
        ax: Axes | None = None,
        costs: Mapping[str, float] | None = None,
        title: str | None = None,
    ) -> Figure:
        """Draw the graph in layers (x = level), coloured by group, critical path in red.

        Draws into ``ax`` when given, else into a new figure that does not touch
        pyplot's global state (safe in servers and notebooks alike).
        """
        from vgkit._drawing import axes_and_figure, draw_dag

        g = self.indexed(costs)
        depth = max(g.level, default=0) + 1
        widest = max(Counter(g.level).values(), default=1)
        ax, fig = axes_and_figure(
            ax, width=min(20.0, max(6.0, 1.6 * depth)), height=min(14.0, max(3.0, 0.6 * widest))
        )
        path, length = _critical_path(g, g.remaining_path())
        nodes = [self._nodes[node_id] for node_id in g.ids]
        draw_dag(ax, g, nodes, path, length, title)
        return fig


def _critical_path(g: IndexedDAG, remaining: list[float]) -> tuple[list[str], float]:
    sources = [i for i in range(len(g.ids)) if not g.parents[i]]
    if not sources:
        return [], 0.0
    # max() keeps the first of equal keys, and both lists are in insertion order.
    i = max(sources, key=remaining.__getitem__)
    length = remaining[i]
    path = [g.ids[i]]
    while g.children[i]:
        i = max(g.children[i], key=remaining.__getitem__)
        path.append(g.ids[i])
    return path, length


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
