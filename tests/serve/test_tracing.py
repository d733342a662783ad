"""One session across hops: traces through agent servers in this and other processes."""

from __future__ import annotations

import os
from pathlib import Path

import aiohttp
import orjson
import pandas as pd
import pytest
from prometheus_client.parser import text_string_to_metric_families

from vgkit import Orchestrator, tracing
from vgkit.a2a.protocol import Dialect, StatusUpdate, Task, TaskState
from vgkit.agents import SPECS, TemplateBackend
from vgkit.agents.remote import A2ABackend
from vgkit.client.a2a import A2AClient
from vgkit.metrics import MetricsRegistry, default_registry
from vgkit.serve import AgentServer, PipelineAgent, ServeConfig, ServeProcess
from vgkit.serve.launcher import Cluster

from .conftest import recorded_calls

VALID = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


async def _send(url: str, headers: dict[str, str], context_id: str | None = None) -> dict:  # type: ignore[type-arg]
    call = (await recorded_calls())["topic_analysis"]
    message = {"messageId": "m1", "role": "ROLE_USER", "parts": [{"data": call.payload()}]}
    if context_id:
        message["contextId"] = context_id
    body = {"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {"message": message}}
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=orjson.dumps(body), headers=headers) as resp,
    ):
        assert resp.status == 200
        reply: dict = orjson.loads(await resp.read())  # type: ignore[type-arg]
    task: dict = reply["result"]["task"]  # type: ignore[type-arg]
    assert task["status"]["state"] == "TASK_STATE_COMPLETED"
    return task


async def test_the_server_continues_the_callers_trace_and_hands_its_span_back(
    topic_server: AgentServer,
) -> None:
    task = await _send(topic_server.url, {"traceparent": VALID}, context_id="vg-caller")
    (span,) = task["metadata"][tracing.SPANS_KEY]
    assert span["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert span["parent_id"] == "00f067aa0ba902b7"
    assert span["kind"] == "agent" and span["node"] == "topic_analysis"
    assert span["session_id"] == "vg-caller" == task["contextId"]
    assert span["pid"] == os.getpid() and span["end"] >= span["start"]


async def test_a_malformed_traceparent_starts_a_new_trace_and_the_call_succeeds(
    topic_server: AgentServer,
) -> None:
    task = await _send(topic_server.url, {"traceparent": "00-not-a-trace-01"})
    (span,) = task["metadata"][tracing.SPANS_KEY]
    assert span["parent_id"] is None and len(span["trace_id"]) == 32
    assert span["trace_id"] != "4bf92f3577b34da6a3ce929d0e0e4736"
    # Without the header the call is not traced: no span comes back.
    plain = await _send(topic_server.url, {})
    assert tracing.SPANS_KEY not in (plain.get("metadata") or {})


async def test_a_client_without_tracing_sends_no_header(topic_server: AgentServer) -> None:
    call = (await recorded_calls())["topic_analysis"]
    async with A2AClient({"topic_analysis": topic_server.url}, trace=False) as client:
        with tracing.collect() as spans:
            task = await client.send("topic_analysis", data=call.payload())
    assert spans == [] and not task.metadata


async def _span_counts(url: str) -> dict[str, float]:
    """``vgkit_spans_recorded_total`` by kind, from the server's /metrics."""
    async with aiohttp.ClientSession() as session, session.get(url + "metrics") as resp:
        exposition = await resp.text()
    families = {f.name: f for f in text_string_to_metric_families(exposition)}
    spans = families.get("vgkit_spans_recorded")
    return {s.labels["kind"]: s.value for s in spans.samples} if spans else {}


async def test_each_server_records_its_agents_spans_in_its_own_registry() -> None:
    """Two servers in one process, each with its own registry: each keeps its own spans."""
    call = (await recorded_calls())["topic_analysis"]
    first, second = MetricsRegistry(), MetricsRegistry()
    known = {s.span_id for s in default_registry().spans}
    async with (
        AgentServer(PipelineAgent(SPECS["topic_analysis"], TemplateBackend()),
                    config=ServeConfig(metrics=first)) as a,
        AgentServer(PipelineAgent(SPECS["topic_analysis"], TemplateBackend()),
                    config=ServeConfig(metrics=second)) as b,
        A2AClient({"a": a.url, "b": b.url}, metrics=MetricsRegistry()) as client,
    ):  # fmt: skip
        with tracing.collect() as spans, tracing.span("caller"):
            await client.send("a", data=call.payload())
            for _ in range(2):
                await client.send("b", data=call.payload())
        counts_a, counts_b = await _span_counts(a.url), await _span_counts(b.url)
    clients: dict[str | None, str | None] = {s.span_id: s.peer for s in spans if s.kind == "client"}
    agents = [s for s in spans if s.kind == "agent"]
    assert len(agents) == 3
    on_a = [s.span_id for s in agents if clients[s.parent_id] == a.url]
    on_b = [s.span_id for s in agents if clients[s.parent_id] == b.url]
    assert [s.span_id for s in first.spans] == on_a and len(on_a) == 1
    assert [s.span_id for s in second.spans] == on_b and len(on_b) == 2
    assert counts_a == {"agent": 1} and counts_b == {"agent": 2}
    # ... and none went to the process's default registry.
    assert not {s.span_id for s in default_registry().spans} - known


async def test_a_clusters_spans_all_go_to_its_registry(cluster: Cluster) -> None:
    """The orchestrator agent, its run, its calls to its siblings and their agents' spans:
    all in the registry the cluster was started with, one trace."""
    registry = cluster.servers["orchestrator"].registry
    known = {s.span_id for s in default_registry().spans}
    async with A2AClient(cluster.endpoints(), metrics=MetricsRegistry()) as client:
        with tracing.span("caller") as caller:
            await client.send("orchestrator", text="Kites", data={"platforms": ["tiktok"]})
    kinds = {s.kind for s in registry.spans.trace(caller.trace_id)}
    assert kinds == {"agent", "run", "node", "client"}
    assert not {s.span_id for s in default_registry().spans} - known


@pytest.mark.parametrize("dialect", [Dialect.V1, Dialect.V03])
async def test_a_streamed_call_hands_its_spans_back_on_its_last_event(
    topic_server: AgentServer, dialect: Dialect
) -> None:
    call = (await recorded_calls())["topic_analysis"]
    async with A2AClient(
        {"topic_analysis": topic_server.url}, dialect=dialect, metrics=MetricsRegistry()
    ) as client:
        with (
            tracing.collect() as spans,
            tracing.span("caller", session_id="vg-streaming") as caller,
        ):
            events = [e async for e in client.stream("topic_analysis", data=call.payload())]
    last = events[-1]
    assert isinstance(last, StatusUpdate) and last.status.state is TaskState.COMPLETED
    assert tracing.SPANS_KEY not in (last.metadata or {})  # taken into the trace
    assert [s.kind for s in spans] == ["agent", "client", "internal"]
    agent, client_span, _ = spans
    assert agent.trace_id == client_span.trace_id == caller.trace_id
    assert agent.parent_id == client_span.span_id and client_span.parent_id == caller.span_id
    assert agent.node == "topic_analysis" and agent.pid == os.getpid()
    assert agent.session_id == "vg-streaming" == last.context_id
    assert client_span.start <= agent.start and agent.end <= client_span.end  # type: ignore[operator]
    # The stored task keeps the spans too (GetTask sees what a blocking send returns).
    stored = topic_server.tasks.get(last.task_id)
    assert stored is not None and stored.metadata is not None
    assert [s.span_id for s in stored.metadata[tracing.SPANS_KEY]] == [agent.span_id]


async def test_a_remote_generation_is_one_trace_across_processes(tmp_path: Path) -> None:
    """Agents served by ``vgkit serve`` in another process: one trace, one session."""
    async with ServeProcess(loop="asyncio") as serve:
        table = {k: v for k, v in serve.endpoints().items() if k != "orchestrator"}
        async with Orchestrator(backend=A2ABackend(table), metrics=MetricsRegistry()) as orch:
            result = await orch.run(topic="Beekeeping basics", platforms=["tiktok", "youtube"])
        async with (
            aiohttp.ClientSession() as session,
            session.get(serve.url("script_writer") + "/metrics") as resp,
        ):
            exposition = await resp.text()
        child = serve.pid
    assert result.ok
    frame = result.trace_frame()
    assert set(frame["trace_id"]) == {result.trace_id}
    assert set(frame["session_id"]) == {result.session_id}
    by_id = frame.set_index("span_id")
    nodes, clients, agents = (frame[frame["kind"] == k] for k in ("node", "client", "agent"))
    assert len(nodes) == len(clients) == len(agents) == len(result.graph)
    # node (here) -> client call (here) -> agent (in the vgkit serve process)
    assert set(clients["pid"]) == {os.getpid()} and set(agents["pid"]) == {child}
    for _, agent in agents.iterrows():
        client = by_id.loc[agent["parent_id"]]
        assert client["kind"] == "client" and client["agent"] == agent["agent"]
        node = by_id.loc[client["parent_id"]]
        assert node["kind"] == "node" and node["node"] == agent["node"]
        # on one machine both share a clock: the agent ran inside the call
        assert client["start"] <= agent["start"] and agent["end"] <= client["end"]
    assert set(clients["peer"].map(lambda url: url.split("/")[2].split(":")[0])) == {"127.0.0.1"}
    # The serve process kept its spans in its registry: its /metrics counts them.
    families = {f.name: f for f in text_string_to_metric_families(exposition)}
    counts = {s.labels["kind"]: s.value for s in families["vgkit_spans_recorded"].samples}
    assert counts["agent"] >= 1
    # The waterfall shows both processes.
    figure = result.waterfall()
    figure.savefig(tmp_path / "waterfall.png", dpi=80)
    assert "2 processes" in figure.axes[0].get_title()
    assert (tmp_path / "waterfall.png").stat().st_size > 10_000
    assert isinstance(frame, pd.DataFrame)


@pytest.mark.parametrize("streamed", [False, True], ids=["send", "stream"])
async def test_the_orchestrator_agent_runs_in_the_callers_trace_and_session(
    streamed: bool,
) -> None:
    async with ServeProcess(["orchestrator"], embedded_orchestrator=True, loop="asyncio") as serve:
        async with A2AClient({"orchestrator": serve.url("orchestrator")}) as client:
            with (
                tracing.collect() as spans,
                tracing.span("caller", session_id="vg-remote-session") as caller,
            ):
                topic, fields = "Tide pools", {"platforms": ["tiktok"]}
                if streamed:
                    stream = client.stream("orchestrator", text=topic, data=fields)
                    events = [e async for e in stream]
                    last = events[-1]
                    assert isinstance(last, StatusUpdate)
                    assert last.status.state is TaskState.COMPLETED
                    context_id = last.context_id
                else:
                    task = await client.send("orchestrator", text=topic, data=fields)
                    assert isinstance(task, Task)
                    context_id = task.context_id
        child = serve.pid
    assert context_id == "vg-remote-session"
    frame = tracing.spans_frame(spans)
    assert set(frame["trace_id"]) == {caller.trace_id}
    assert set(frame["session_id"]) == {"vg-remote-session"}
    remote = frame[frame["pid"] == child]
    assert {"agent", "run", "node"} <= set(remote["kind"])
    run = remote[remote["kind"] == "run"].iloc[0]
    agent = remote[remote["kind"] == "agent"].iloc[0]
    assert run["parent_id"] == agent["span_id"]
    client_span = frame[frame["kind"] == "client"].iloc[0]
    assert agent["parent_id"] == client_span["span_id"]
    assert client_span["parent_id"] == caller.span_id
