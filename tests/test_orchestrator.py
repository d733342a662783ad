"""The orchestrator: the graph of DESIGN.md, failure isolation, streaming, sessions."""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict

import pytest

from vgkit import ExecutorError, GenerationError, Orchestrator, Platform, VideoRequest
from vgkit.agents import AgentCall, TemplateBackend
from vgkit.agents.cost import CostModel
from vgkit.events import NodeFinished, NodeStarted, PlanReady, Progress, RunFinished, RunStarted
from vgkit.models import Model
from vgkit.pipeline import build_graph
from vgkit.sessions import current_session_id

TOPIC = "How solar panels turn sunlight into electricity"


class FlakyBackend(TemplateBackend):
    """Fault injection: one agent fails for one platform; records who ran in which session."""

    def __init__(self, fail: set[tuple[str, str | None]] | None = None) -> None:
        super().__init__()
        self.fail = fail or set()
        self.sessions: dict[str, set[str]] = defaultdict(set)

    async def run(self, call: AgentCall) -> Model:
        sid = current_session_id()
        assert sid is not None
        self.sessions[sid].add(call.request.topic)
        await asyncio.sleep(0)
        key = (call.spec.name, call.platform.value if call.platform else None)
        if key in self.fail:
            raise RuntimeError(f"{call.spec.name} exploded")
        return await super().run(call)


def test_graph_matches_the_design() -> None:
    request = VideoRequest(topic=TOPIC)
    dag, nodes = build_graph(request)
    assert len(dag) == 1 + 9 * 3
    assert set(dag.parents("hooks:tiktok")) == {"topic_analysis"}
    levels = dag.levels()
    assert levels[0] == ["topic_analysis"]
    assert len(levels) == 7
    assert nodes["script:youtube"][0].name == "script_writer"


async def test_run_produces_a_plan_per_platform_with_timings() -> None:
    async with Orchestrator() as orchestrator:
        result = await orchestrator.run(topic=TOPIC)
    assert result.ok and set(result.plans) == set(Platform)
    assert all(plan.quality is not None for plan in result.plans.values())
    frame = result.timings_frame()
    assert len(frame) == 28 and set(frame["status"]) == {"ok"}
    path, length = result.critical_path
    assert path[0] == "topic_analysis" and path[-1].startswith("quality:")
    assert 0 < length <= result.makespan + 1e-9
    assert "makespan" in result.summary() and "quality" in result.summary()


async def test_one_failing_agent_fails_only_its_descendants() -> None:
    backend = FlakyBackend(fail={("scene_designer", "tiktok")})
    result = await Orchestrator(backend=backend).run(topic=TOPIC)
    assert not result.ok
    assert set(result.plans) == {Platform.YOUTUBE, Platform.INSTAGRAM_REELS}
    failures = result.failures
    assert failures["scenes:tiktok"] == "RuntimeError: scene_designer exploded"
    for node in ("shots:tiktok", "transitions:tiktok", "assemble:tiktok", "quality:tiktok"):
        assert "upstream" in failures[node] and "scenes:tiktok" in failures[node]
    # Siblings that did not depend on the failure ran fine.
    assert result.schedule.records["cta:tiktok"].status == "ok"
    assert result.schedule.records["timing:tiktok"].status == "ok"
    with pytest.raises(GenerationError, match="no plan for tiktok") as info:
        result.plan("tiktok")
    assert "scenes:tiktok" in info.value.failures


async def test_stream_yields_progress_in_order_and_ends_with_the_result() -> None:
    events = [event async for event in Orchestrator().stream(topic=TOPIC, platforms=["tiktok"])]
    assert isinstance(events[0], RunStarted) and events[0].nodes == 10
    assert isinstance(events[-1], RunFinished) and events[-1].ok
    started = [e.node for e in events if isinstance(e, NodeStarted)]
    finished = [e.node for e in events if isinstance(e, NodeFinished)]
    assert sorted(started) == sorted(finished) and len(finished) == 10
    for node in finished:
        assert started.index(node) <= finished.index(node)
    percents = [e.percent for e in events if isinstance(e, Progress)]
    assert percents == sorted(percents) and percents[-1] == 100.0
    plans = [e for e in events if isinstance(e, PlanReady)]
    assert len(plans) == 1 and plans[0].plan.quality is not None
    assert len({e.session_id for e in events}) == 1


async def test_leaving_the_stream_early_cancels_the_run() -> None:
    orchestrator = Orchestrator(cost="flat", time_scale=0.05)
    before = asyncio.all_tasks()
    async for event in orchestrator.stream(topic=TOPIC):
        if isinstance(event, NodeFinished):
            break
    await asyncio.sleep(0.01)
    assert asyncio.all_tasks() - before == set()


async def test_fifty_concurrent_runs_never_mix_state() -> None:
    backend = FlakyBackend()
    orchestrator = Orchestrator(backend=backend)
    topics = [f"Topic number {i} about gardening tomatoes" for i in range(50)]
    results = await asyncio.gather(
        *(orchestrator.run(topic=t, platforms=["tiktok"]) for t in topics)
    )
    assert len({r.session_id for r in results}) == 50
    for topic, result in zip(topics, results, strict=True):
        plan = result.plan("tiktok")
        assert plan.topic.topic == topic
        assert backend.sessions[result.session_id] == {topic}


async def test_cancelling_a_run_leaves_no_tasks() -> None:
    before = asyncio.all_tasks()
    task = asyncio.create_task(Orchestrator(cost="flat", time_scale=0.05).run(topic=TOPIC))
    await asyncio.sleep(0.08)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert asyncio.all_tasks() - before == set()


async def test_levels_waits_at_barriers_and_eager_does_not() -> None:
    # Same seeded latencies for both executors; only the scheduling differs.
    for executor in ("eager", "levels"):
        backend = CostModel(TemplateBackend(), "seed", time_scale=0.003, seed=1)
        orchestrator = Orchestrator(backend=backend, executor=executor)
        result = await orchestrator.run(topic=TOPIC)
        assert result.ok
        records = result.schedule.records
        levels = result.graph.levels()
        early = [
            node
            for before, after in itertools.pairwise(levels)
            for node in after
            if (records[node].start or 0) < max(records[n].end or 0 for n in before) - 1e-4
        ]
        if executor == "levels":
            assert early == []
        else:
            assert early, "eager should start some node before its level's barrier"


async def test_concurrency_limit_and_bad_options() -> None:
    result = await Orchestrator(concurrency=1).run(topic=TOPIC, platforms=["tiktok"])
    frame = result.timings_frame().sort_values("start")
    ends = frame["end"].tolist()
    starts = frame["start"].tolist()
    assert all(s >= e - 1e-9 for s, e in zip(starts[1:], ends[:-1], strict=False))
    with pytest.raises(ExecutorError, match="unknown executor 'fast'"):
        Orchestrator(executor="fast")
    with pytest.raises(ExecutorError, match="at least 1"):
        Orchestrator(concurrency=0)


async def test_same_plans_whatever_the_executor() -> None:
    jsons = set()
    for executor in ("eager", "levels", "serial"):
        result = await Orchestrator(executor=executor).run(topic=TOPIC, seed=5)
        jsons.add("".join(p.to_json() for p in result.plans.values()))
    assert len(jsons) == 1
