"""An agent server end to end: cards, send in both dialects, tasks, SSE, health, auth."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import orjson
import pytest

from vgkit import Orchestrator, VideoPlan
from vgkit.a2a.protocol import (
    TASK_NOT_CANCELABLE,
    TASK_NOT_FOUND,
    StatusUpdate,
    Task,
    TaskState,
)
from vgkit.a2a.signing import auth_headers
from vgkit.agents import SPECS, CostModel, TemplateBackend
from vgkit.client import A2AClient, Dialect
from vgkit.errors import ClientError, RpcError
from vgkit.events import parse_event
from vgkit.metrics import MetricsRegistry
from vgkit.serve import AgentServer, AuthConfig, OrchestratorAgent, PipelineAgent, ServeConfig
from vgkit.serve.launcher import Cluster

from .conftest import recorded_calls


async def test_every_card_advertises_its_real_url_and_skills(cluster: Cluster) -> None:
    async with aiohttp.ClientSession() as http:
        for name, server in cluster.servers.items():
            async with http.get(server.url + ".well-known/agent-card.json") as resp:
                card = await resp.json()
            async with http.get(server.url + ".well-known/agent.json") as resp:
                legacy = await resp.json()
            assert card["name"] == legacy["name"] == name
            assert {i["protocolVersion"] for i in card["supportedInterfaces"]} == {"1.0", "0.3"}
            assert all(i["url"] == server.url for i in card["supportedInterfaces"])
            assert legacy["url"] == server.url and legacy["protocolVersion"] == "0.3.0"
            assert "supportedInterfaces" not in legacy
            assert card["skills"] and all(s["id"] and s["tags"] for s in card["skills"])
            if name in SPECS:
                assert {s["id"] for s in card["skills"]} == set(SPECS[name].skills)


@pytest.mark.parametrize("dialect", list(Dialect))
async def test_send_returns_the_artifact_of_the_template_agent(
    cluster: Cluster, dialect: Dialect
) -> None:
    calls = await recorded_calls()
    async with A2AClient(cluster.endpoints(), dialect=dialect) as client:
        for name, call in calls.items():
            task = await client.send(name, data=call.payload())
            assert isinstance(task, Task) and task.state is TaskState.COMPLETED
            data = task.artifacts[0].parts[0].data
            expected = await TemplateBackend().run(call)
            assert call.spec.output.model_validate(data).to_json() == expected.to_json()
            fetched = await client.get_task(name, task.id)
            assert fetched.artifacts[0].parts[0].data == data


async def test_orchestrator_agent_takes_a_typed_topic(cluster: Cluster) -> None:
    async with A2AClient(cluster.endpoints()) as client:
        task = await client.send(
            "orchestrator",
            text="Sourdough for beginners",
            data={"platforms": ["tiktok"], "seed": 4},
        )
    assert isinstance(task, Task) and task.state is TaskState.COMPLETED
    (artifact,) = task.artifacts
    assert artifact.name == "plan-tiktok"
    plan = VideoPlan.model_validate(artifact.parts[0].data)
    local = await Orchestrator().run(topic="Sourdough for beginners", platforms=["tiktok"], seed=4)
    assert plan.to_json() == local.plan("tiktok").to_json()
    assert artifact.parts[1].text == plan.to_markdown()


@pytest.mark.parametrize("dialect", list(Dialect))
async def test_streaming_sends_progress_then_plans(cluster: Cluster, dialect: Dialect) -> None:
    events: list[Any] = []
    async with A2AClient(cluster.endpoints(), dialect=dialect) as client:
        async for event in client.stream(
            "orchestrator", text="Composting", data={"platforms": ["youtube", "tiktok"]}
        ):
            events.append(event)
    assert isinstance(events[0], Task)
    progress = [
        parse_event(e.status.message.data()[0])
        for e in events
        if isinstance(e, StatusUpdate) and e.status.message is not None
    ]
    kinds = [p.type for p in progress]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    assert kinds.count("node_finished") == 19
    plans = [e.artifact.name for e in events if hasattr(e, "artifact")]
    assert sorted(plans) == ["plan-tiktok", "plan-youtube"]
    assert isinstance(events[-1], StatusUpdate) and events[-1].final
    assert events[-1].status.state is TaskState.COMPLETED


async def test_cancel_a_running_task_and_not_a_finished_one() -> None:
    slow = Orchestrator(backend=CostModel(TemplateBackend(), "seed", time_scale=0.2))
    async with (
        AgentServer(
            OrchestratorAgent(slow), config=ServeConfig(metrics=MetricsRegistry())
        ) as server,
        A2AClient({"orchestrator": server.url}) as client,
    ):
        task = await client.send("orchestrator", text="Slow topic", blocking=False)
        assert isinstance(task, Task) and not task.state.terminal
        canceled = await client.cancel_task("orchestrator", task.id)
        assert canceled.state is TaskState.CANCELED
        assert (await client.get_task("orchestrator", task.id)).state is TaskState.CANCELED
        with pytest.raises(RpcError) as info:
            await client.cancel_task("orchestrator", task.id)
        assert info.value.code == TASK_NOT_CANCELABLE
        with pytest.raises(RpcError) as info:
            await client.get_task("orchestrator", "no-such-task")
        assert info.value.code == TASK_NOT_FOUND


async def test_cancel_a_blocking_send_answers_it_with_the_canceled_task() -> None:
    slow = Orchestrator(backend=CostModel(TemplateBackend(), "seed", time_scale=0.2))
    config = ServeConfig(metrics=MetricsRegistry())
    async with (
        AgentServer(OrchestratorAgent(slow), config=config) as server,
        A2AClient({"orchestrator": server.url}) as client,
    ):
        waiting = asyncio.create_task(client.send("orchestrator", text="Slow topic"))
        while not server.tasks.running_ids():
            await asyncio.sleep(0.01)
        (task_id,) = server.tasks.running_ids()
        canceled = await client.cancel_task("orchestrator", task_id)
        answer = await asyncio.wait_for(waiting, 5)
        assert canceled.state is TaskState.CANCELED
        assert isinstance(answer, Task) and answer.id == task_id
        assert answer.state is TaskState.CANCELED
        again = await client.send("orchestrator", text="Next", data={"platforms": ["tiktok"]},
                                  blocking=False)  # fmt: skip
        assert isinstance(again, Task)


async def test_healthz_and_metrics(topic_server: AgentServer) -> None:
    calls = await recorded_calls()
    client_metrics = MetricsRegistry()
    async with A2AClient({"topic_analysis": topic_server.url}, metrics=client_metrics) as client:
        for _ in range(3):
            await client.send("topic_analysis", data=calls["topic_analysis"].payload())
        sent = client_metrics.exposition().decode()
    labels = f'agent="topic_analysis",client="{client.pool.name}",method="SendMessage"'
    assert f'vgkit_a2a_messages_total{{{labels},outcome="ok"}} 3.0' in sent
    assert f"vgkit_a2a_latency_seconds_count{{{labels}}} 3.0" in sent
    async with aiohttp.ClientSession() as http:
        async with http.get(topic_server.url + "healthz") as resp:
            health = await resp.json()
        async with http.get(topic_server.url + "metrics") as resp:
            text = await resp.text()
    assert resp.status == 200 and health["status"] == "ok" and health["tasks_stored"] == 3
    assert (
        'vgkit_serve_requests_total{agent="topic_analysis",method="SendMessage",outcome="ok"} 3.0'
        in text
    )


@pytest.mark.parametrize("mode", ["token", "hmac"])
async def test_auth_rejects_unsigned_requests(mode: str) -> None:
    auth = AuthConfig(
        token="s3cret" if mode == "token" else None, hmac_secret="k3y" if mode == "hmac" else None
    )
    config = ServeConfig(auth=auth, metrics=MetricsRegistry())
    calls = await recorded_calls()
    payload = calls["topic_analysis"].payload()
    async with AgentServer(
        PipelineAgent(SPECS["topic_analysis"], TemplateBackend()), config=config
    ) as server:
        async with A2AClient({"topic_analysis": server.url}) as anonymous:
            with pytest.raises(ClientError, match="401") as info:
                await anonymous.send("topic_analysis", data=payload)
            assert info.value.status == 401
            card = await anonymous.card("topic_analysis")  # cards stay public
            assert card["name"] == "topic_analysis"
        async with A2AClient(
            {"topic_analysis": server.url},
            auth_token="wrong" if mode == "token" else None,
            hmac_secret="wrong" if mode == "hmac" else None,
        ) as forger:
            with pytest.raises(ClientError, match="401"):
                await forger.send("topic_analysis", data=payload)
        async with A2AClient(
            {"topic_analysis": server.url}, auth_token=auth.token, hmac_secret=auth.hmac_secret
        ) as client:
            task = await client.send("topic_analysis", data=payload)
            assert isinstance(task, Task) and task.state is TaskState.COMPLETED
        if mode == "hmac":  # a valid signature does not cover a different body
            body = orjson.dumps(
                {"jsonrpc": "2.0", "id": 1, "method": "GetTask", "params": {"id": "x"}}
            )
            headers = auth_headers(b"something else", hmac_secret="k3y")
            async with (
                aiohttp.ClientSession() as http,
                http.post(server.url, data=body, headers=headers) as resp,
            ):
                assert resp.status == 401


async def test_graceful_shutdown_finishes_requests_in_flight() -> None:
    slow = CostModel(TemplateBackend(), "seed", time_scale=0.02)  # topic analysis ~ 60 ms
    server = AgentServer(
        PipelineAgent(SPECS["topic_analysis"], slow), config=ServeConfig(metrics=MetricsRegistry())
    )
    await server.start()
    calls = await recorded_calls()
    async with A2AClient({"topic_analysis": server.url}) as client:
        pending = [
            asyncio.create_task(
                client.send("topic_analysis", data=calls["topic_analysis"].payload())
            )
            for _ in range(5)
        ]
        # All five reached the server (not a fixed sleep: a busy machine may not
        # have sent them yet), then stop it under their feet.
        async with asyncio.timeout(10):
            while len(server.tasks) < 5:  # running or already done
                await asyncio.sleep(0.002)
        await server.aclose()
        results = await asyncio.gather(*pending)
        assert all(isinstance(r, Task) and r.state is TaskState.COMPLETED for r in results)
        with pytest.raises(ClientError):
            await client.send("topic_analysis", data=calls["topic_analysis"].payload())


def test_the_task_store_is_bounded_by_count_and_bytes() -> None:
    from vgkit.a2a.protocol import TaskStatus
    from vgkit.serve.tasks import TaskStore

    store = TaskStore(max_tasks=3, max_bytes=1000)
    for i in range(5):
        store.add(Task(id=f"t{i}", context_id="c", status=TaskStatus(TaskState.COMPLETED)), 100)
    assert [store.get(f"t{i}") is not None for i in range(5)] == [False, False, True, True, True]
    store.add(Task(id="big", context_id="c", status=TaskStatus(TaskState.COMPLETED)), 950)
    assert store.get("big") is not None and len(store) == 1 and store.bytes == 950
