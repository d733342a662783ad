"""One trace across lab hosts: submitted on one, run by a worker on a second, whose agents
answer from a third."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.netlab.conftest import Cluster
from tests.queue.conftest import until
from vgkit import tracing
from vgkit.metrics import MetricsRegistry
from vgkit.models import VideoRequest
from vgkit.netlab.services import serve_agents
from vgkit.plots import waterfall
from vgkit.queue import JobStatus, QueueConfig, RedisJobQueue

pytestmark = [pytest.mark.netlab, pytest.mark.redis, pytest.mark.slow]

FAST = QueueConfig(visibility_timeout=5.0, poll_interval=0.1)


@pytest.mark.timeout(120)
async def test_a_queued_remote_generation_is_one_trace_across_three_hosts(
    cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lab = cluster.lab
    # This process is the client host's seat: its spans carry that host's name.
    monkeypatch.setattr(tracing, "_HOST", ["client"])
    with serve_agents(lab, "worker-2", probe_from="worker-1", loop="asyncio") as agents:
        table = {k: v for k, v in agents.endpoints().items() if k != "orchestrator"}
        agents_file = tmp_path / "agents.json"
        agents_file.write_text(json.dumps(table))
        monkeypatch.setenv("VGKIT_AGENTS", str(agents_file))  # the worker's agents
        worker = cluster.worker("worker-1", "w1", "--no-cache", "--max-jobs", "1")
        registry = MetricsRegistry()
        with lab.inside("client"):
            async with RedisJobQueue(
                cluster.redis_url, key_prefix=cluster.key_prefix, config=FAST, metrics=registry
            ) as queue:
                with tracing.span("client request", session_id="vg-lab-session") as root:
                    job_id = await queue.submit(
                        VideoRequest(topic="Tide pools", platforms=["tiktok"])
                    )

                async def done() -> bool:
                    return (await queue.status(job_id)).done

                await until(done, 60, "the job to finish")
                job, result = await queue.status(job_id), await queue.result(job_id)
        worker.proc.wait(30)
    assert job.status is JobStatus.SUCCEEDED and result is not None, job
    here = [s for s in registry.spans if s.trace_id == root.trace_id]
    frame = tracing.spans_frame([*here, root, *(tracing.Span.from_dict(s) for s in result.spans)])
    assert set(frame["trace_id"]) == {root.trace_id}
    assert set(frame["session_id"]) == {"vg-lab-session"}
    kinds = {host: set(g["kind"]) for host, g in frame.groupby("host")}
    assert kinds == {
        "client": {"internal", "submit"},
        "worker-1": {"queue", "job", "run", "node", "client"},
        "worker-2": {"agent"},
    }
    by_id = frame.set_index("span_id")
    submit = frame[frame["kind"] == "submit"].iloc[0]
    job_span = frame[frame["kind"] == "job"].iloc[0]
    assert submit["parent_id"] == root.span_id and job_span["parent_id"] == submit["span_id"]
    waited = frame[frame["kind"] == "queue"].iloc[0]  # from submission to the worker's claim
    assert waited["parent_id"] == submit["span_id"] and waited["end"] <= job_span["start"] + 0.1
    agents_spans = frame[frame["kind"] == "agent"]
    assert len(agents_spans) == 10  # every agent call of a one-platform run crossed
    for _, agent in agents_spans.iterrows():
        call = by_id.loc[agent["parent_id"]]
        assert call["kind"] == "client" and call["host"] == "worker-1"
        assert call["peer"].startswith(f"http://{lab.address('worker-2')}:")
    figure = waterfall(frame)
    figure.savefig(tmp_path / "trace.png", dpi=90, bbox_inches="tight")
    assert "3 hosts" in figure.axes[0].get_title()
