"""A queued job carries its trace and session through Redis to a worker process."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pandas as pd
import pytest
import redis

from vgkit import tracing
from vgkit.cli import main
from vgkit.models import VideoRequest
from vgkit.queue import JobStatus, RedisJobQueue

from .conftest import WorkerProcess, spawn


async def test_a_job_run_by_a_worker_process_continues_the_submitters_trace(
    queue: RedisJobQueue,
    raw: redis.Redis,
    redis_url: str,
    key_prefix: str,
    workers: list[WorkerProcess],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with tracing.span("caller", session_id="vg-submitter") as caller:
        job_id = await queue.submit(VideoRequest(topic="Beekeeping", platforms=["tiktok"]))
    # The payload in Redis: the submit span's traceparent and the session id.
    stored = raw.hmget(queue.job_key(job_id), ["trace", "session"])
    trace, session = (v.decode() for v in stored)  # type: ignore[union-attr]
    submit = tracing.parse_traceparent(trace)
    assert submit is not None and submit.trace_id == caller.trace_id
    assert session == "vg-submitter"
    worker = spawn(workers, redis_url, key_prefix, "w-trace", "--max-jobs", "1")
    job = await queue.wait(job_id, timeout=60)
    worker.proc.wait(30)  # --max-jobs 1: it stops by itself
    assert worker.stop() == 0 and worker.counts["succeeded"] == 1
    assert job.status is JobStatus.SUCCEEDED
    assert job.traceparent == trace and job.session_id == "vg-submitter"
    result = await queue.result(job_id)
    assert result is not None and result.session_id == "vg-submitter"
    frame = result.trace_frame()
    assert set(frame["trace_id"]) == {caller.trace_id} == {result.trace_id}
    assert set(frame["session_id"]) == {"vg-submitter"}
    assert set(frame["pid"]) == {worker.proc.pid} != {os.getpid()}
    job_span = frame[frame["kind"] == "job"].iloc[0]
    assert job_span["parent_id"] == submit.span_id and job_span["agent"] == "w-trace"
    run = frame[frame["kind"] == "run"].iloc[0]
    assert run["parent_id"] == job_span["span_id"]
    assert len(frame[frame["kind"] == "node"]) == 10
    # The same trace from the shell: vgkit jobs ID --trace FILE.
    table = tmp_path / "trace.csv"
    argv = ["jobs", job_id, "--redis", redis_url, "--key-prefix", key_prefix]
    assert await asyncio.to_thread(main, [*argv, "--trace", str(table)]) == 0
    assert f"trace {caller.trace_id}: {len(frame)} spans (1 host, 1 process)" in (
        capsys.readouterr().out
    )
    assert list(pd.read_csv(table)["span_id"]) == list(frame["span_id"])
