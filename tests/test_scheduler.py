"""The scheduler: what each executor runs when, failures, cancellation, hooks and reports."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Mapping
from typing import Any

import pandas as pd
import pytest
from matplotlib.figure import Figure

from vgkit.dag import DAG, IndexedDAG
from vgkit.errors import CycleError, ExecutorError
from vgkit.executors import EXECUTORS, Limits
from vgkit.orchestrator import Orchestrator
from vgkit.scheduler import NodeRecord, run_graph


def sleeper(seconds: Mapping[str, float], fail: Mapping[str, float] = {}):
    """A node function sleeping ``seconds[node]`` (default 0), raising for ``fail`` nodes."""

    async def fn(node: str, parents: Mapping[str, Any]) -> str:
        await asyncio.sleep(seconds.get(node, 0.0))
        if node in fail:
            await asyncio.sleep(fail[node])
            raise ValueError(f"{node} broke")
        return node

    return fn


class Gauge:
    """Counts node functions running at once, and the order they start in."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.now = 0
        self.peak = 0
        self.started: list[str] = []

    async def __call__(self, node: str, parents: Mapping[str, Any]) -> None:
        self.started.append(node)
        self.now += 1
        self.peak = max(self.peak, self.now)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.now -= 1


def only_this_task_left() -> bool:
    return asyncio.all_tasks() == {asyncio.current_task()}


# -- results -------------------------------------------------------------------------


@pytest.mark.parametrize("executor", EXECUTORS)
async def test_every_node_gets_its_parents_results(executor):
    dag = DAG.from_mapping({"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"]})

    async def fn(node, parents):
        return node + "(" + ",".join(f"{k}={v}" for k, v in parents.items()) + ")"

    result = await run_graph(dag, fn, executor=executor)
    assert result.ok and result.executor == executor
    assert result.results["d"] == "d(b=b(a=a()),c=c(a=a()))"
    assert list(result.records) == ["a", "b", "c", "d"]
    assert [r.level for r in result.records.values()] == [0, 1, 1, 2]
    assert result.failed == {} and result.skipped == {} and result.errors == {}
    assert only_this_task_left()


async def test_empty_graph_is_an_ok_empty_result():
    result = await run_graph(DAG(), sleeper({}))
    assert result.ok and result.records == {} and result.results == {}


# -- eager versus levels ---------------------------------------------------------------


async def test_eager_does_not_wait_for_the_slow_sibling_of_a_level():
    # Levels: [slow, fast], [after_fast]. after_fast only needs fast.
    dag = DAG.from_mapping({"slow": [], "fast": [], "after_fast": ["fast"]})
    fn = sleeper({"slow": 0.1, "fast": 0.02, "after_fast": 0.02})
    eager = await run_graph(dag, fn, executor="eager")
    levels = await run_graph(dag, fn, executor="levels")
    e, lv = eager.records, levels.records
    assert e["after_fast"].start is not None and e["slow"].end is not None
    assert e["after_fast"].start < e["slow"].end - 0.04
    assert lv["after_fast"].start is not None and lv["slow"].end is not None
    assert lv["after_fast"].start >= lv["slow"].end


async def test_eager_makespan_beats_levels_on_crossed_chains():
    # Levels pays max(60, 20) + max(20, 60) = 120 ms; eager pays max(60 + 20, 20 + 60) = 80 ms.
    dag = DAG.from_mapping({"a1": [], "b1": [], "a2": ["a1"], "b2": ["b1"]})
    fn = sleeper({"a1": 0.06, "a2": 0.02, "b1": 0.02, "b2": 0.06})
    eager = await run_graph(dag, fn)
    levels = await run_graph(dag, fn, executor="levels")
    assert eager.makespan >= 0.08
    assert levels.makespan >= 0.12
    assert eager.makespan < levels.makespan - 0.02


# -- concurrency and order -----------------------------------------------------------


@pytest.mark.parametrize("executor", ["eager", "levels"])
async def test_concurrency_limit_is_never_exceeded(executor):
    dag = DAG()
    for i in range(30):
        dag.add(f"n{i}")
    dag.add("sink", [f"n{i}" for i in range(30)])
    gauge = Gauge(delay=0.003)
    result = await run_graph(dag, gauge, executor=executor, concurrency=3)
    assert result.ok
    assert gauge.peak == 3
    unlimited = Gauge(delay=0.003)
    await run_graph(dag, unlimited, executor=executor)
    assert unlimited.peak == 30


async def test_eager_starts_the_longest_remaining_path_first():
    # Remaining paths: y 1, z 2, z1 1, x 4, x1 3, x2 2, x3 1. One node at a time:
    # x; then x1 (3) over z (2) and y (1); then z (2) before x2 (2), added earlier; ...
    dag = DAG.from_mapping(
        {"y": [], "z": [], "z1": ["z"], "x": [], "x1": ["x"], "x2": ["x1"], "x3": ["x2"]}
    )
    gauge = Gauge()
    await run_graph(dag, gauge, concurrency=1)
    assert gauge.started == ["x", "x1", "z", "x2", "y", "z1", "x3"]
    # Costs override the estimates: make y the longest.
    gauge = Gauge()
    await run_graph(dag, gauge, concurrency=1, costs={"y": 10})
    assert gauge.started[0] == "y"


async def test_serial_runs_one_node_at_a_time_in_topological_order():
    dag = DAG.from_mapping({"d": ["b", "c"], "b": ["a"], "c": ["a"], "x": [], "a": []})
    gauge = Gauge(delay=0.001)
    result = await run_graph(dag, gauge, executor="serial")
    assert gauge.peak == 1
    assert gauge.started == dag.topological_order() == ["x", "a", "b", "c", "d"]
    by_start = sorted(result.records.values(), key=lambda r: r.start or 0.0)
    assert [r.node for r in by_start] == gauge.started


async def test_levels_runs_small_levels_sequentially():
    # Level 0 has 2 nodes (< threshold 3): one at a time. Level 1 has 3: together.
    dag = DAG.from_mapping({"a": [], "b": [], "c": ["a"], "d": ["a"], "e": ["b"]})
    peaks: dict[int, int] = {}
    running: dict[int, int] = {0: 0, 1: 0}
    level = dag.level_of()

    async def fn(node, parents):
        running[level[node]] += 1
        peaks[level[node]] = max(peaks.get(level[node], 0), running[level[node]])
        await asyncio.sleep(0.005)
        running[level[node]] -= 1

    await run_graph(dag, fn, executor="levels", parallel_threshold=3)
    assert peaks == {0: 1, 1: 3}


@pytest.mark.parametrize("executor", EXECUTORS)
async def test_nodes_that_never_suspend_do_not_starve_the_loop(executor):
    n = 2_000
    dag = DAG()
    dag.add("n0")
    for i in range(1, n):
        dag.add(f"n{i}", [f"n{i - 1}"])
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    async def fn(node, parents):
        return None

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    ticks = 0
    await run_graph(dag, fn, executor=executor)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert ticks >= n  # the ticker got a turn for every node


# -- failures --------------------------------------------------------------------------


@pytest.mark.parametrize("executor", EXECUTORS)
async def test_a_failure_skips_only_its_descendants(executor):
    dag = DAG.from_mapping(
        {
            "a": [],
            "b": ["a"],  # fails
            "c": ["b"],
            "d": ["c"],
            "e": ["a"],  # independent branch
            "f": ["b", "e"],
            "g": ["e"],
        }
    )
    finished: list[NodeRecord] = []
    result = await run_graph(
        dag, sleeper({"e": 0.01}, fail={"b": 0}), executor=executor, on_finish=finished.append
    )
    assert not result.ok
    assert result.failed == {"b": "ValueError: b broke"}
    assert isinstance(result.errors["b"], ValueError)
    assert result.skipped == {
        "c": "upstream 'b' failed",
        "d": "upstream 'b' failed",
        "f": "upstream 'b' failed",
    }
    assert set(result.results) == {"a", "e", "g"}
    assert {r.node: r.status for r in finished} == {
        "a": "ok",
        "b": "failed",
        "c": "skipped",
        "d": "skipped",
        "e": "ok",
        "f": "skipped",
        "g": "ok",
    }
    assert len(finished) == len(dag)  # exactly one report per node
    skipped = result.records["d"]
    assert (skipped.start, skipped.end, skipped.duration) == (None, None, None)


async def test_skipped_nodes_name_the_nearest_failed_ancestor():
    # x fails first but is three edges from r; y fails later, one edge from r.
    dag = DAG.from_mapping({"x": [], "p": ["x"], "q": ["p"], "y": [], "r": ["q", "y"]})
    result = await run_graph(dag, sleeper({}, fail={"x": 0, "y": 0.03}))
    assert result.skipped == {
        "p": "upstream 'x' failed",
        "q": "upstream 'x' failed",
        "r": "upstream 'y' failed",
    }


async def test_a_node_cancelling_itself_is_cancelled_and_skips_its_descendants():
    dag = DAG.from_mapping({"a": [], "b": ["a"], "c": []})

    async def fn(node, parents):
        if node == "a":
            raise asyncio.CancelledError
        return node

    result = await run_graph(dag, fn)
    assert result.records["a"].status == "cancelled"
    assert result.skipped == {"b": "upstream 'a' cancelled"}
    assert result.results == {"c": "c"}


# -- cancellation ----------------------------------------------------------------------


async def test_cancelling_the_run_cancels_and_awaits_every_node():
    dag = DAG.from_mapping({"slow": [], "stubborn": [], "later": ["slow"], "quick": []})
    started = asyncio.Event()
    cleaned_up: list[str] = []
    finished: list[NodeRecord] = []

    async def fn(node, parents):
        if node == "quick":
            return node
        if node == "stubborn":
            started.set()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            await asyncio.sleep(0.02)  # cleanup that takes a while: must be awaited
            cleaned_up.append(node)
            raise

    run = asyncio.create_task(run_graph(dag, fn, on_finish=finished.append))
    await started.wait()
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert sorted(cleaned_up) == ["slow", "stubborn"]
    assert only_this_task_left()
    status = {r.node: r.status for r in finished}
    assert status == {
        "quick": "ok",
        "slow": "cancelled",
        "stubborn": "cancelled",
        "later": "cancelled",
    }
    assert next(r for r in finished if r.node == "later").start is None


async def test_a_timeout_around_the_run_still_raises_timeout_error():
    dag = DAG.from_mapping({"a": [], "b": ["a"]})
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.03):
            await run_graph(dag, sleeper({"a": 10}))
    assert only_this_task_left()


# -- hooks -----------------------------------------------------------------------------


async def test_hooks_see_every_start_and_finish_in_order():
    dag = DAG.from_mapping({"a": [], "b": ["a"]})
    events: list[tuple[str, str]] = []
    await run_graph(
        dag,
        sleeper({}),
        on_start=lambda node: events.append(("start", node)),
        on_finish=lambda record: events.append((record.status, record.node)),
    )
    assert events == [("start", "a"), ("ok", "a"), ("start", "b"), ("ok", "b")]


async def test_a_raising_finish_hook_stops_the_run_then_propagates():
    dag = DAG.from_mapping({"a": [], "slow": [], "b": ["a"]})
    cancelled: list[str] = []

    async def fn(node, parents):
        try:
            await asyncio.sleep(10 if node == "slow" else 0)
        except asyncio.CancelledError:
            cancelled.append(node)
            raise

    def on_finish(record):
        raise RuntimeError(f"progress sink down at {record.node}")

    started: list[str] = []
    with pytest.raises(RuntimeError, match="progress sink down at a"):
        await run_graph(dag, fn, on_start=started.append, on_finish=on_finish)
    assert cancelled == ["slow"]
    assert started == ["a", "slow"]  # a outranks slow (it has a child); b never started
    assert only_this_task_left()


async def test_a_raising_start_hook_stops_the_run_before_that_node():
    dag = DAG.from_mapping({"a": [], "b": ["a"], "c": []})
    ran: list[str] = []

    async def fn(node, parents):
        ran.append(node)

    def on_start(node):
        if node == "b":
            raise KeyError(node)

    with pytest.raises(KeyError):
        await run_graph(dag, fn, on_start=on_start)
    assert "b" not in ran
    assert only_this_task_left()


# -- a new executor ---------------------------------------------------------------------


class NewestFirst:
    """An executor written here: the most recently readied node starts first (depth first)."""

    def __init__(self) -> None:
        self.dispatches: list[Stack] = []

    def dispatch(self, graph: IndexedDAG, limits: Limits) -> Stack:
        stack = Stack(graph)
        self.dispatches.append(stack)
        return stack


class Stack:
    def __init__(self, graph: IndexedDAG) -> None:
        self.graph = graph
        self.readied: list[str] = []
        self.nodes: list[int] = []

    def ready(self, node: int) -> None:
        self.readied.append(self.graph.ids[node])
        self.nodes.append(node)

    def next(self, running: int) -> int | None:
        return self.nodes.pop() if self.nodes else None


async def test_a_registered_executor_runs_graphs_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    newest = NewestFirst()
    monkeypatch.setitem(EXECUTORS, "newest", newest)
    dag = DAG.from_mapping({"a": [], "b": ["a"], "c": ["a"], "d": ["a"], "e": ["b"]})
    gauge = Gauge(0.001)
    result = await run_graph(dag, gauge, executor="newest", concurrency=1)
    assert result.ok and result.executor == "newest"
    assert gauge.started == ["a", "d", "c", "b", "e"]  # eager would run a, b, c, d, e
    assert gauge.peak == 1  # the engine holds the cap, whatever the executor offers

    # A failure still skips only its descendants: the executor never sees them.
    failed = await run_graph(dag, sleeper({}, fail={"b": 0}), executor="newest")
    assert failed.failed == {"b": "ValueError: b broke"}
    assert failed.skipped == {"e": "upstream 'b' failed"}
    assert "e" not in newest.dispatches[-1].readied

    # The orchestrator takes it by name like the built-in ones.
    run = await Orchestrator(executor="newest").run(topic="How tides work", platforms=["tiktok"])
    assert run.ok and run.executor == "newest" and run.schedule.executor == "newest"
    assert len(newest.dispatches) == 3


# -- options -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"executor": "parallel"},
            "unknown executor 'parallel'; choose one of: eager, levels, serial",
        ),
        ({"concurrency": 0}, "concurrency must be a positive integer or None, got 0"),
        ({"concurrency": True}, "concurrency must be a positive integer or None, got True"),
        ({"parallel_threshold": 0}, "parallel_threshold must be a positive integer, got 0"),
    ],
)
async def test_bad_options_raise_executor_error(options, message):
    called: list[str] = []

    async def fn(node, parents):
        called.append(node)

    with pytest.raises(ExecutorError) as info:
        await run_graph(DAG.from_mapping({"a": []}), fn, **options)
    assert str(info.value).startswith(message)
    assert "eager, levels, serial" in str(info.value)
    assert called == []


async def test_a_cyclic_graph_runs_nothing():
    called: list[str] = []

    async def fn(node, parents):
        called.append(node)

    dag = DAG.from_mapping({"ok": [], "a": ["b"], "b": ["a"]})
    with pytest.raises(CycleError, match="a -> b -> a"):
        await run_graph(dag, fn)
    assert called == []


# -- reports -----------------------------------------------------------------------------


async def test_measured_critical_path_and_timings_frame():
    dag = DAG.from_mapping({"a": [], "long": ["a"], "short": ["a"], "bad": ["a"], "after": ["bad"]})
    result = await run_graph(dag, sleeper({"long": 0.05, "short": 0.005}, fail={"bad": 0}))
    path, length = result.critical_path
    assert path == ["a", "long"]
    assert 0.05 <= length < 0.1

    frame = result.timings_frame()
    assert list(frame.columns) == ["node", "status", "level", "start", "end", "duration", "error"]
    assert frame["level"].dtype == "int64"
    assert all(frame[c].dtype == "float64" for c in ("start", "end", "duration"))
    assert pd.api.types.is_string_dtype(frame["node"])
    assert frame["start"].iloc[:-1].is_monotonic_increasing
    last = frame.iloc[-1]  # never started: sorted last
    assert (last["node"], last["status"], last["error"]) == (
        "after",
        "skipped",
        "upstream 'bad' failed",
    )
    assert pd.isna(last["start"])
    assert frame.loc[frame["node"] == "long", "duration"].item() >= 0.05


async def test_gantt_draws_one_bar_per_node_that_ran():
    dag = DAG.from_mapping({"a": [], "b": ["a"], "c": ["a"], "d": ["c"]})
    result = await run_graph(dag, sleeper({"b": 0.005}, fail={"c": 0}))
    fig = result.gantt(title="run")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    bars = {c.get_label(): len(c) for c in ax.containers}
    assert bars == {"ok (2)": 2, "failed (1)": 1}  # d was skipped: no bar
    # By start time: c outranks b (it has a child), so it starts first.
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "c", "b"]
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    assert buffer.getvalue().startswith(b"\x89PNG")
