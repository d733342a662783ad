"""One session across hops: traces through agent servers in this and other processes."""

from __future__ import annotations

import os
from pathlib import Path

import aiohttp
import orjson
import pandas as pd
from prometheus_client.parser import text_string_to_metric_families

from vgkit import Orchestrator, tracing
from vgkit.agents.remote import A2ABackend
from vgkit.client.a2a import A2AClient
from vgkit.metrics import MetricsRegistry
from vgkit.serve import AgentServer, ServeProcess

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


async def test_the_orchestrator_agent_runs_in_the_callers_trace_and_session() -> None:
    async with ServeProcess(["orchestrator"], embedded_orchestrator=True, loop="asyncio") as serve:
        async with A2AClient({"orchestrator": serve.url("orchestrator")}) as client:
            with (
                tracing.collect() as spans,
                tracing.span("caller", session_id="vg-remote-session") as caller,
            ):
                task = await client.send(
                    "orchestrator", text="Tide pools", data={"platforms": ["tiktok"]}
                )
        child = serve.pid
    assert task.context_id == "vg-remote-session"
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
