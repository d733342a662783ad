"""Traces: the W3C header, spans, the span log, and one run as one trace."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client.parser import text_string_to_metric_families

from vgkit import Orchestrator, tracing
from vgkit.metrics import MetricsRegistry
from vgkit.models import VideoRequest
from vgkit.plan_cache import CacheIntegration
from vgkit.plots import waterfall
from vgkit.queue import LocalJobQueue, Worker, WorkerConfig

VALID = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_a_valid_traceparent_names_the_trace_the_parent_and_the_flags() -> None:
    ctx = tracing.parse_traceparent(VALID)
    assert ctx == tracing.TraceContext(
        "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", 1, None
    )
    assert ctx.traceparent == VALID
    unsampled = tracing.parse_traceparent(VALID[:-2] + "00")
    assert unsampled is not None and unsampled.flags == 0
    # A later version may add fields after a dash; the first four are read as version 00.
    later = tracing.parse_traceparent("cc" + VALID[2:] + "-what-comes-next")
    assert later is not None and later.span_id == "00f067aa0ba902b7"


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "garbage",
        VALID + "-extra",  # version 00 is exactly 55 characters
        "ff" + VALID[2:],  # version ff is invalid
        VALID.upper(),  # lower-case hex only
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  # all-zero trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  # all-zero parent id
        "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",  # dashes misplaced
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",  # flags not hex
        "cc" + VALID[2:] + "x",  # a later version's extra fields start with a dash
    ],
)
def test_a_malformed_traceparent_is_none_and_a_hop_starts_a_new_trace(value: str | None) -> None:
    assert tracing.parse_traceparent(value) is None
    fresh = tracing.remote_parent(value, "vg-session")
    assert len(fresh.trace_id) == 32 and fresh.span_id == ""  # no parent span: a root
    assert fresh.session_id == "vg-session"
    root = tracing.begin("hop", kind="agent", parent=fresh)
    assert root.trace_id == fresh.trace_id and root.parent_id is None
    assert tracing.parse_traceparent(root.context.traceparent) is not None


def test_spans_nest_and_land_in_the_registry_and_the_collectors() -> None:
    registry = MetricsRegistry()
    with (
        tracing.collect() as outer,
        tracing.span("outer", kind="run", registry=registry, session_id="s1") as a,
    ):
        with tracing.collect() as inner, tracing.span("inner", registry=registry) as b:
            assert tracing.current() == b.context
        with pytest.raises(ValueError), tracing.span("broken", registry=registry):
            raise ValueError("no")
    assert tracing.current() is None
    assert [s.name for s in inner] == ["inner"]
    assert [s.name for s in outer] == ["inner", "broken", "outer"]
    assert a.parent_id is None and b.parent_id == a.span_id and b.trace_id == a.trace_id
    assert b.session_id == "s1"  # the session travels with the context
    assert [s.status for s in outer] == ["ok", "error", "ok"]
    assert all(s.end is not None and s.end >= s.start for s in outer)
    assert len(registry.spans) == 3 and registry.spans.trace(a.trace_id)[0] is a
    families = {f.name: f for f in text_string_to_metric_families(registry.exposition().decode())}
    counts = {s.labels["kind"]: s.value for s in families["vgkit_spans_recorded"].samples}
    assert counts == {"internal": 2, "run": 1}


def test_a_hop_is_a_child_of_the_callers_span_and_gathers_itself() -> None:
    registry = MetricsRegistry()
    with pytest.raises(RuntimeError, match="inside a trace"):
        tracing.hop("x", kind="agent", registry=registry, session_id=None)
    caller = tracing.parse_traceparent(VALID)
    with tracing.collect() as outer, tracing.use(caller):
        served = tracing.hop("agent", kind="agent", registry=registry, session_id="s")
        with served as sp, tracing.span("inside", registry=registry):
            assert tracing.current() is not None
    assert sp.parent_id == "00f067aa0ba902b7" and sp.session_id == "s"
    assert [s.name for s in served.spans] == ["inside", "agent"] == [s.name for s in outer]
    assert list(registry.spans)[-1] is sp


def test_the_span_log_is_bounded() -> None:
    log = tracing.SpanLog(maxlen=3)
    for k in range(5):
        log.add(tracing.begin(f"s{k}", kind="node"))
    assert [s.name for s in log] == ["s2", "s3", "s4"]


async def test_a_run_is_one_trace_with_a_span_per_agent_call() -> None:
    registry = MetricsRegistry()
    async with Orchestrator(metrics=registry) as orch:
        result = await orch.run(topic="Beekeeping for beginners", platforms=["tiktok"])
    frame = result.trace_frame()
    assert list(frame["kind"]).count("run") == 1
    run = frame[frame["kind"] == "run"].iloc[0]
    nodes = frame[frame["kind"] == "node"]
    assert set(nodes["node"]) == set(result.graph.nodes)
    assert (nodes["parent_id"] == run["span_id"]).all()
    assert set(frame["trace_id"]) == {result.trace_id}
    assert set(frame["session_id"]) == {result.session_id}
    assert set(nodes["cache"]) == {"off"}
    assert (frame["duration"] >= 0).all() and frame["offset"].iloc[0] == 0
    # Every span also went into the registry's span log.
    assert len(registry.spans.trace(result.trace_id)) == len(frame)


async def test_cache_outcomes_and_a_whole_run_hit_are_in_the_trace() -> None:
    async with (
        CacheIntegration.from_settings(use_redis=False) as cache,
        Orchestrator(cache=cache, metrics=MetricsRegistry()) as orch,
    ):
        first = await orch.run(topic="Tide pools", platforms=["tiktok"], seed=4)
        again = await orch.run(topic="Tide pools", platforms=["tiktok"], seed=4)
    nodes = first.trace_frame().query("kind == 'node'")
    assert set(nodes["cache"]) == {"miss"}
    frame = again.trace_frame()
    assert list(frame["kind"]) == ["run"] and frame["cache"].iloc[0] == "hit"
    assert first.trace_id != again.trace_id


async def test_a_run_continues_the_callers_trace_and_session() -> None:
    async with Orchestrator(metrics=MetricsRegistry()) as orch:
        result = await orch.run(topic="Kites", platforms=["tiktok"], traceparent=VALID)
        assert result.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
        run = result.trace_frame().query("kind == 'run'").iloc[0]
        assert run["parent_id"] == "00f067aa0ba902b7"
        # A malformed value starts a new trace; the run is its root.
        fresh = await orch.run(topic="Kites", platforms=["tiktok"], traceparent="00-nope")
        assert fresh.trace_id not in ("", result.trace_id)
        assert fresh.trace_frame().query("kind == 'run'")["parent_id"].isna().all()
        # Inside a span, the run is its child and takes its session.
        with tracing.span("caller", session_id="vg-caller") as caller:
            inner = await orch.run(topic="Kites", platforms=["tiktok"])
        assert inner.trace_id == caller.trace_id and inner.session_id == "vg-caller"
        explicit = await orch.run(topic="Kites", platforms=["tiktok"], session_id="vg-mine")
        assert explicit.session_id == "vg-mine"
        assert set(explicit.trace_frame()["session_id"]) == {"vg-mine"}


async def test_concurrent_runs_keep_their_traces_apart() -> None:
    async with Orchestrator(metrics=MetricsRegistry()) as orch:
        results = await asyncio.gather(
            *(orch.run(topic=f"Topic {k}", platforms=["tiktok"]) for k in range(4))
        )
    assert len({r.trace_id for r in results}) == 4
    for r in results:
        frame = r.trace_frame()
        assert set(frame["trace_id"]) == {r.trace_id} and len(frame) == 1 + len(r.graph)


async def test_a_queued_job_carries_the_trace_and_the_session_to_its_worker() -> None:
    registry = MetricsRegistry()
    async with LocalJobQueue(metrics=registry) as queue:
        with tracing.span("caller", session_id="vg-submitter") as caller:
            job_id = await queue.submit(VideoRequest(topic="Bees", platforms=["tiktok"]))
        untraced = await queue.submit(VideoRequest(topic="Wasps", platforms=["tiktok"]))
        await Worker(queue, config=WorkerConfig(max_jobs=2), metrics=registry).run()
        job, result = await queue.status(job_id), await queue.result(job_id)
        other = await queue.status(untraced)
    assert job.trace_id == caller.trace_id and job.session_id == "vg-submitter"
    submit = next(s for s in registry.spans if s.kind == "submit" and s.node == job_id)
    assert submit.parent_id == caller.span_id and job.traceparent == submit.context.traceparent
    assert result is not None and result.session_id == "vg-submitter"
    frame = result.trace_frame()
    assert set(frame["trace_id"]) == {caller.trace_id}
    job_span = frame.query("kind == 'job'").iloc[0]
    assert job_span["parent_id"] == submit.span_id
    assert frame.query("kind == 'run'").iloc[0]["parent_id"] == job_span["span_id"]
    # Submitted outside any span: a trace and a session of its own.
    assert other.trace_id not in (None, caller.trace_id) and other.session_id
    assert other.session_id != "vg-submitter"


def test_the_waterfall_draws_a_bar_per_span_nested_under_its_parent() -> None:
    import vgkit

    result = vgkit.generate("Tide pools", platforms=["tiktok"], seed=2)
    frame = result.trace_frame()
    figure = waterfall(frame)
    (ax, *_) = figure.axes
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(labels) == len(frame)
    assert labels[0] == "run: generate"
    assert all(label.startswith("  node: ") for label in labels[1:])
    assert "1 host" in ax.get_title() and f"{len(frame)} spans" in ax.get_title()
    assert len(result.waterfall().axes[0].patches) == len(frame)
