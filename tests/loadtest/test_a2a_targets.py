"""The targets served by vgkit serve, against real agent servers on 127.0.0.1."""

from __future__ import annotations

from typing import Any

import pytest

from vgkit import Orchestrator
from vgkit.agents import SPECS, AgentCall, TemplateBackend
from vgkit.errors import LoadTestError
from vgkit.loadtest import (
    AgentTarget,
    LoadTest,
    RemoteOrchestratorTarget,
    ServeTarget,
    WorkItem,
    Workload,
    compare_results,
    make_target,
    run_over_a2a,
)
from vgkit.metrics import MetricsRegistry
from vgkit.serve.launcher import Cluster

PIPELINE = list(SPECS)


def served(cluster: Cluster, agent: str, method: str = "SendMessage") -> int:
    """SendMessage requests an agent server answered."""
    return cluster.servers[agent].stats.requests.get(method, 0)


def items(count: int, seed: int = 3) -> list[WorkItem]:
    return list(Workload.from_csv(zipf=0.8, seed=seed).sample(count))


async def test_serve_target_sends_the_pipeline_through_the_orchestrator_agent(
    cluster: Cluster, registry: MetricsRegistry
) -> None:
    url = cluster.servers["orchestrator"].url
    sample = items(12)
    async with ServeTarget(url, connections=4, metrics=registry) as target:
        result = await LoadTest(mode="closed", users=3, max_requests=12, duration=30).run(
            target, sample, metrics=registry
        )
        # The target's own A2A client reports to the registry it was given.
        frame = registry.to_frame()
    sent = frame[(frame["sample"] == "vgkit_a2a_messages_total") & (frame["outcome"] == "ok")]
    assert sent["value"].sum() == 12
    assert result.ok == 12 and result.errors == 0
    assert served(cluster, "orchestrator") == 12
    # Each run called every pipeline agent over A2A: one topic analysis, one of each per platform.
    assert served(cluster, "topic_analysis") == 12
    assert served(cluster, "script_writer") == 12


async def test_serve_target_counts_a_broken_pipeline_as_failed(cluster: Cluster) -> None:
    await cluster.servers.pop("script_writer").aclose()  # the orchestrator's calls to it now fail
    async with ServeTarget(cluster.servers["orchestrator"].url) as target:
        result = await LoadTest(mode="closed", users=2, max_requests=4, duration=30).run(
            target, items(4), metrics=MetricsRegistry()
        )
    assert result.ok == 0
    # The orchestrator's task failed; the cause its status names is counted with it.
    kinds = result.summary()["error_kinds"]
    assert sum(kinds.values()) == 4 and all(k.startswith("failed (") for k in kinds), kinds
    assert any("connection refused" in k or "circuit open" in k for k in kinds), kinds


async def test_remote_target_runs_the_graph_here_and_every_agent_call_over_a2a(
    cluster: Cluster,
) -> None:
    agents = {name: cluster.servers[name].url for name in PIPELINE}
    async with RemoteOrchestratorTarget(agents, metrics=MetricsRegistry()) as target:
        result = await LoadTest(mode="closed", users=2, max_requests=6, duration=30).run(
            target, items(6), metrics=MetricsRegistry()
        )
    assert result.ok == 6
    assert served(cluster, "orchestrator") == 0  # the graph ran in this process
    assert all(served(cluster, name) == 6 for name in PIPELINE), {
        name: served(cluster, name) for name in PIPELINE
    }


async def test_remote_target_needs_every_agent(cluster: Cluster) -> None:
    target = RemoteOrchestratorTarget({"topic_analysis": cluster.servers["topic_analysis"].url})
    with pytest.raises(LoadTestError, match="no endpoint for assembler"):
        await target.start()
    await target.aclose()


async def test_agent_target_sends_one_agents_calls_with_inputs_prepared_here(
    cluster: Cluster,
) -> None:
    sample = items(8)
    async with AgentTarget(
        cluster.servers["script_writer"].url, agent="script_writer", metrics=MetricsRegistry()
    ) as target:
        await target.prepare(sample)
        result = await LoadTest(mode="closed", users=2, max_requests=8, duration=30).run(
            target, sample, metrics=MetricsRegistry()
        )
        first = await target.call_for(sample[0])
    assert result.ok == 8
    assert served(cluster, "script_writer") == 8
    assert served(cluster, "topic_analysis") == 0  # its inputs were computed in-process
    # The call sent is the one the orchestrator makes for that request.
    seen: list[AgentCall] = []

    class Recorder(TemplateBackend):
        async def run(self, call: AgentCall) -> Any:
            if call.spec.name == "script_writer":
                seen.append(call)
            return await super().run(call)

    await Orchestrator(backend=Recorder(), metrics=MetricsRegistry()).run(sample[0].request())
    assert first.canonical() == seen[0].canonical()


async def test_agent_target_counts_rpc_errors_by_kind(cluster: Cluster) -> None:
    # The topic server is asked for another agent's work: every call is rejected (-32602).
    target = AgentTarget(cluster.servers["hook_creator"].url, agent="topic_analysis")
    async with target:
        result = await LoadTest(mode="closed", users=1, max_requests=3, duration=30).run(
            target, items(3), metrics=MetricsRegistry()
        )
    assert result.ok == 0
    assert result.summary()["error_kinds"] == {"AgentError": 3}


async def test_agent_target_starts_and_stops_its_own_vgkit_serve() -> None:
    target = AgentTarget(serve={"loop": "asyncio"}, metrics=MetricsRegistry())
    async with target:
        assert target.process is not None and target.process.running
        url = target.process.url("topic_analysis")
        assert url.startswith("http://127.0.0.1:")
        result = await LoadTest(rate=200, max_requests=40, duration=10).run(
            target, items(40), metrics=MetricsRegistry()
        )
        process = target.process
    assert result.ok == 40
    assert not process.running
    assert target.process is None  # aclose dropped it


def test_a2a_targets_only_load_this_machine() -> None:
    with pytest.raises(LoadTestError, match="only target this machine"):
        ServeTarget("http://10.0.0.1:10106")
    with pytest.raises(LoadTestError, match="only target this machine"):
        RemoteOrchestratorTarget({"topic_analysis": "http://10.0.0.1:10304"})
    with pytest.raises(LoadTestError, match="unknown agent 'poet'"):
        AgentTarget(agent="poet")
    with pytest.raises(LoadTestError, match="has no option colour"):
        make_target("serve", {"colour": "blue"})
    with pytest.raises(LoadTestError, match="workers must be a number"):
        make_target("agent", {"workers": "many"})


async def test_one_load_test_over_every_a2a_target_on_one_vgkit_serve() -> None:
    test = LoadTest(mode="closed", users=2, max_requests=6, duration=30)
    results = await run_over_a2a(test, Workload.from_csv(seed=1), serve={"loop": "asyncio"})
    assert list(results) == ["serve", "remote", "agent"]
    frame = compare_results(results)
    assert frame["ok"].tolist() == [6, 6, 6] and frame["errors"].tolist() == [0, 0, 0]
    assert frame["target"].tolist() == ["serve", "remote", "agent topic_analysis"]
