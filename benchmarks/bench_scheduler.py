"""Per-node overhead of the scheduler against a bare asyncio.TaskGroup.

Both sides run no-op coroutines, so everything measured is bookkeeping. The
scheduler side is one whole ``run_graph`` call: validation, priorities, a task
per node, parent-result dicts and a NodeRecord per node. The baseline is the
cheapest way asyncio offers to run the same number of coroutines as tasks.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any

from benchmarks._common import Row, atime, row
from vgkit.dag import DAG
from vgkit.scheduler import run_graph

TITLE = "Scheduler overhead"
SEED = 20240611


def random_dag(n: int, seed: int = SEED) -> DAG:
    """``n`` nodes; each has 0-3 parents drawn from the nodes before it."""
    rng = random.Random(seed)
    dag = DAG()
    for i in range(n):
        parents = rng.sample(range(i), min(i, rng.randint(0, 3)))
        dag.add(f"n{i}", [f"n{p}" for p in parents])
    return dag


async def noop_node(node: str, parents: Any) -> None:
    return None


async def noop() -> None:
    return None


async def task_group(n: int) -> None:
    async with asyncio.TaskGroup() as group:
        for _ in range(n):
            group.create_task(noop())


async def best_seconds(repeats: int, fn: Callable[[], Awaitable[Any]]) -> float:
    return min([await atime(fn) for _ in range(repeats)])


async def run(quick: bool) -> list[Row]:
    n = 2_000 if quick else 10_000
    repeats = 3 if quick else 7
    dag = random_dag(n)
    edges = sum(len(dag.parents(node)) for node in dag)

    async def scheduled(executor: str) -> None:
        result = await run_graph(dag, noop_node, executor=executor)
        # Guard against measuring a shortcut: every node ran and has a record.
        assert result.ok and len(result.records) == n, executor

    await scheduled("eager")  # warm-up: imports, allocator
    await task_group(n)
    # Alternate the two sides so background load hits both alike.
    eager = baseline = float("inf")
    for _ in range(repeats):
        eager = min(eager, await atime(lambda: scheduled("eager")))
        baseline = min(baseline, await atime(lambda: task_group(n)))
    levels = await best_seconds(repeats, lambda: scheduled("levels"))
    serial = await best_seconds(repeats, lambda: scheduled("serial"))

    def us(seconds: float) -> float:
        return seconds / n * 1e6

    shape = f"{n:,} nodes, {edges:,} edges, {len(dag.levels())} levels; best of {repeats}"
    name = f"run_graph vs TaskGroup, {n:,} no-op nodes"
    return [
        row(f"eager {name}", us(eager), us(baseline), "us/node", target=3, notes=shape),
        row(f"levels {name}", us(levels), us(baseline), "us/node"),
        row(f"serial {name}", us(serial), us(baseline), "us/node"),
    ]
