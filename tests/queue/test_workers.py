"""``vgkit worker`` processes on a shared Redis: many workers, crashes, SIGTERM,
``/metrics``, and following a job from another process."""

from __future__ import annotations

import asyncio
import random
import signal
import statistics
import sys
from pathlib import Path

import aiohttp
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from tests._prometheus import strict_series
from tests.conftest import free_port
from tests.queue.conftest import WorkerProcess, spawn, until
from tests.test_metrics import FAMILIES
from vgkit.metrics import MetricsRegistry
from vgkit.models import VideoRequest
from vgkit.queue import JobStatus, Priority, RedisJobQueue, Worker
from vgkit.queue.worker import WorkerConfig

pytestmark = [pytest.mark.redis, pytest.mark.slow]

#: Families the worker's /metrics must have: agents, runs, quality, queue, and the layered
#: cache it runs with by default (vgkit.cache.counters).
WORKER_FAMILIES = {
    **FAMILIES,
    "vgkit_cache_hits": "counter",
    "vgkit_cache_misses": "counter",
    "vgkit_cache_sets": "counter",
    "vgkit_cache_evictions": "counter",
    "vgkit_cache_errors": "counter",
    "vgkit_cache_corrupt": "counter",
    "vgkit_cache_raw_bytes": "counter",
    "vgkit_cache_stored_bytes": "counter",
    "vgkit_cache_latency_seconds": "summary",
    "vgkit_cache_saved_seconds": "counter",
}


def req(i: int) -> VideoRequest:
    return VideoRequest(topic=f"Household science question {i}", platforms=["tiktok"], seed=i)


async def all_done(queue: RedisJobQueue) -> bool:
    stats = await queue.stats()
    return stats.depth == 0 and stats.running == 0 and stats.retrying == 0


async def scrape(port: int) -> dict[str, object]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/metrics") as response,
    ):
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        text = await response.text()
    strict_series(text)  # Prometheus rejects a scrape that repeats a series
    return {f.name: f for f in text_string_to_metric_families(text)}


async def test_three_workers_finish_300_jobs_exactly_once_high_first(
    queue: RedisJobQueue,
    workers: list[WorkerProcess],
    redis_url: str,
    key_prefix: str,
    raw: redis.Redis,
) -> None:
    priorities = [Priority.HIGH, Priority.NORMAL, Priority.LOW] * 100
    random.Random(5).shuffle(priorities)
    ids = {await queue.submit(req(i), priority=p): p for i, p in enumerate(priorities)}
    ports = [free_port() for _ in range(3)]
    for n, port in enumerate(ports):
        spawn(workers, redis_url, key_prefix, f"w{n}", "--concurrency", "2", metrics_port=port)
    await until(lambda: all_done(queue), 50, "300 jobs to finish")

    scraped = [await scrape(port) for port in ports]
    for w in workers:
        assert w.stop() == 0, w.err
    assert sum(w.counts["succeeded"] for w in workers) == 300
    assert all(w.counts["dead"] == 0 and w.counts["handed back"] == 0 for w in workers)

    jobs = [await queue.status(job_id) for job_id in ids]
    assert {j.status for j in jobs} == {JobStatus.SUCCEEDED}
    assert all([a.outcome for a in j.history] == ["succeeded"] for j in jobs)  # exactly once
    results = list(raw.scan_iter(match=f"{key_prefix}q:result:*", count=1000))
    assert len(results) == 300

    waits: dict[Priority, list[float]] = {p: [] for p in Priority}
    for job in jobs:
        assert job.wait_seconds is not None
        waits[job.priority].append(job.wait_seconds)
    median = {p: statistics.median(w) for p, w in waits.items()}
    assert median[Priority.HIGH] < median[Priority.NORMAL] < median[Priority.LOW], median

    for families in scraped:
        for name, kind in WORKER_FAMILIES.items():
            assert name in families, name
            assert families[name].type == kind, name  # type: ignore[attr-defined]
    succeeded = sum(
        s.value
        for families in scraped
        for s in families["vgkit_queue_jobs"].samples  # type: ignore[attr-defined]
        if s.name == "vgkit_queue_jobs_total" and s.labels["outcome"] == "succeeded"
    )
    assert succeeded == 300
    depth = scraped[0]["vgkit_queue_depth"].samples  # type: ignore[attr-defined]
    assert {s.labels["priority"]: s.value for s in depth} == {"high": 0, "normal": 0, "low": 0}


async def test_a_sigkilled_workers_job_is_reclaimed_and_finished_by_another(
    queue: RedisJobQueue, workers: list[WorkerProcess], redis_url: str, key_prefix: str
) -> None:
    ids = [await queue.submit(req(i)) for i in range(4)]
    # Slow jobs (each agent 0.3 s, about 2 s a job), one at a time.
    doomed = spawn(workers, redis_url, key_prefix, "doomed", "--concurrency", "1",
                   "--cost", "flat", "--time-scale", "0.3")  # fmt: skip

    async def doomed_is_running() -> bool:
        return any([(await queue.status(i)).worker == "doomed" for i in ids])

    await until(doomed_is_running, 15, "the first worker to start a job")
    doomed.proc.send_signal(signal.SIGKILL)
    doomed.proc.wait(5)
    [victim] = [i for i in ids if (await queue.status(i)).worker == "doomed"]

    rescuer = spawn(workers, redis_url, key_prefix, "rescuer", "--concurrency", "2")
    await until(lambda: all_done(queue), 20, "the rescuer to finish every job")
    assert rescuer.stop() == 0, rescuer.err
    assert rescuer.counts["succeeded"] == 4

    job = await queue.status(victim)
    assert job.status is JobStatus.SUCCEEDED
    assert [(a.worker, a.outcome) for a in job.history] == [
        ("doomed", "lost"),
        ("rescuer", "succeeded"),
    ]
    result = await queue.result(victim)
    assert result is not None and result.worker == "rescuer" and result.ok
    for other in set(ids) - {victim}:
        assert [a.outcome for a in (await queue.status(other)).history] == ["succeeded"]


async def test_sigterm_lets_held_jobs_finish_and_claims_nothing_more(
    queue: RedisJobQueue, workers: list[WorkerProcess], redis_url: str, key_prefix: str
) -> None:
    first, second = await queue.submit(req(1)), await queue.submit(req(2))
    w = spawn(workers, redis_url, key_prefix, "polite", "--concurrency", "1",
              "--cost", "flat", "--time-scale", "0.2")  # fmt: skip

    async def first_running() -> bool:
        return (await queue.status(first)).status is JobStatus.RUNNING

    await until(first_running, 15, "the worker to start the first job")
    assert w.stop(signal.SIGTERM) == 0, w.err
    assert w.counts == {"succeeded": 1, "dead": 0, "cancelled": 0, "handed back": 0}
    assert (await queue.status(first)).status is JobStatus.SUCCEEDED
    untouched = await queue.status(second)
    assert untouched.status is JobStatus.QUEUED and untouched.history == ()


async def test_sigterm_with_no_grace_hands_the_job_back_unrun(
    queue: RedisJobQueue, workers: list[WorkerProcess], redis_url: str, key_prefix: str
) -> None:
    job_id = await queue.submit(req(1))
    w = spawn(workers, redis_url, key_prefix, "hasty", "--grace", "0",
              "--cost", "flat", "--time-scale", "0.5")  # fmt: skip

    async def running() -> bool:
        return (await queue.status(job_id)).status is JobStatus.RUNNING

    await until(running, 15, "the worker to start the job")
    assert w.stop(signal.SIGTERM, timeout=3) == 0, w.err  # well before the ~3.5 s run ends
    assert w.counts["handed back"] == 1 and w.counts["succeeded"] == 0
    job = await queue.status(job_id)
    assert job.status is JobStatus.QUEUED and job.attempts == 0
    assert [(a.worker, a.outcome) for a in job.history] == [("hasty", "released")]
    # Nothing was lost: the next worker runs it.
    await Worker(queue, config=WorkerConfig(max_jobs=1), metrics=MetricsRegistry()).run()
    assert (await queue.status(job_id)).status is JobStatus.SUCCEEDED


async def test_jobs_follow_in_another_process_prints_the_run_as_it_happens(
    queue: RedisJobQueue, redis_url: str, key_prefix: str
) -> None:
    job_id = await queue.submit(req(7), priority="high")
    exe = Path(sys.executable).with_name("vgkit")
    argv = [str(exe), "jobs", job_id, "--follow", "--redis", redis_url, "--key-prefix", key_prefix]
    follower = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        with pytest.raises(TimeoutError):  # it waits for the queued job to run
            await asyncio.wait_for(follower.wait(), 0.5)
        await Worker(queue, config=WorkerConfig(max_jobs=1), metrics=MetricsRegistry()).run()
        raw_out, raw_err = await asyncio.wait_for(follower.communicate(), 20)
    finally:
        if follower.returncode is None:
            follower.kill()
            await follower.wait()
    out, err = raw_out.decode(), raw_err.decode()
    assert follower.returncode == 0, err
    lines = out.splitlines()
    assert lines[0] == "job queued" and lines[1].startswith("job running (attempt 1 on ")
    assert lines[-1] == "job succeeded (attempt 1 on " + lines[1].split(" on ")[1]
    assert any(line.startswith("  started  script:tiktok") for line in lines)
    assert any(line.startswith("  ok       script:tiktok") and " s" in line for line in lines)
    assert "  100.0% (10/10)" in lines
    assert any(line.startswith("  artifact script:tiktok: Script") for line in lines)
    assert any(line.startswith("  quality  tiktok: ") for line in lines)
    assert any(line.startswith("run ok: makespan") for line in lines)
