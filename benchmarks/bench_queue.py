"""The Redis job queue: overhead per job, and end-to-end throughput with 1, 2 and 4 workers.

No-op jobs, through ``RedisJobQueue`` (Lua scripts: idempotency, status hash,
priorities, leases, retries, results with a TTL, per-job events; consumers as a
Worker runs them: ``claim`` when idle, then ``complete_and_claim``, which
finishes a job and takes the next in one call) and through a bare queue
(XADD; XREADGROUP COUNT 1 BLOCK; XACK) carrying the same request JSON, in one
process on one connection pool, in two shapes with the same shape on both sides:

* saturated, 4 producers and 4 consumers: the queue's throughput, which the
  target (>= 0.5 of the bare stream's) applies to. Busy consumers cost the queue
  one round trip per job (plus the submit) against the bare stream's two.
* one producer awaiting each submit: latency-bound, the consumers mostly idle.
  An idle consumer blocks in XREADGROUP and then marks the job running with a
  second call, so each job costs the queue four round trips against three.

End to end: a backlog of real generation jobs (template backend, three
platforms) drained by 1, 2 and 4 ``vgkit worker`` processes (concurrency 4
each). Throughput is jobs over the span from the first start to the last finish
(Redis server times), so process start-up is not counted. The one-worker row is
compared with the same requests run by an in-process orchestrator at the same
concurrency with no queue; the 2- and 4-worker rows with one worker. The
machine has two cores, shared with Redis and everything else running.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from benchmarks._common import Row, row
from vgkit import Orchestrator, VideoRequest
from vgkit.metrics import MetricsRegistry
from vgkit.queue import JobResult, QueueConfig, RedisJobQueue

TITLE = "Job queue: RedisJobQueue vs bare Redis Streams, and workers end to end"
REDIS_URL = os.environ.get("VGKIT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
CONSUMERS = 4
#: Producers in the saturated runs: enough that consumers, not producers, set the pace.
PRODUCERS = 4
WORKER_CONCURRENCY = 4


def requests(n: int, platforms: list[str] | None = None) -> list[VideoRequest]:
    extra: dict[str, Any] = {"platforms": platforms} if platforms else {}
    return [
        VideoRequest(topic=f"Kitchen chemistry question {i}", seed=i, **extra) for i in range(n)
    ]


async def _cleanup(client: aioredis.Redis, prefix: str) -> None:
    keys = [k async for k in client.scan_iter(match=prefix + "*", count=1000)]
    for i in range(0, len(keys), 500):
        await client.delete(*keys[i : i + 500])


async def noop_queue(n: int, producers: int) -> float:
    """Jobs per second through RedisJobQueue: submit, claim, complete."""
    prefix = f"vgkit-bench:{uuid.uuid4().hex[:8]}:"
    queue = RedisJobQueue(
        REDIS_URL,
        key_prefix=prefix,
        config=QueueConfig(poll_interval=0.05),
        metrics=MetricsRegistry(),
    )
    payloads = requests(n, ["tiktok"])
    done = 0

    async def produce(share: list[VideoRequest]) -> None:
        for request in share:
            await queue.submit(request)

    async def consume(name: str) -> None:
        # As a Worker does: completing a job brings the next one in the same call.
        nonlocal done
        claim = None
        while done < n:
            if claim is None:
                claim = await queue.claim(name, timeout=0.05)
                continue
            result = JobResult(
                job_id=claim.job_id, session_id="noop", worker=name, ok=True, makespan=0.0
            )
            _, claim = await queue.complete_and_claim(claim, result)
            done += 1

    start = time.perf_counter()
    shares = [payloads[i::producers] for i in range(producers)]
    await asyncio.gather(*map(produce, shares), *(consume(f"c{i}") for i in range(CONSUMERS)))
    elapsed = time.perf_counter() - start
    await _cleanup(queue.redis, prefix)
    await queue.aclose()
    return n / elapsed


async def noop_bare(n: int, producers: int) -> float:
    """Jobs per second through a bare stream: XADD, XREADGROUP COUNT 1, XACK."""
    prefix = f"vgkit-bench:{uuid.uuid4().hex[:8]}:"
    client = aioredis.Redis.from_url(REDIS_URL, decode_responses=True)
    stream = prefix + "bare"
    await client.xgroup_create(stream, "g", id="0", mkstream=True)
    payloads = [r.to_json(indent=False) for r in requests(n, ["tiktok"])]
    done = 0

    async def produce(share: list[str]) -> None:
        for payload in share:
            await client.xadd(stream, {"job": payload})

    async def consume(name: str) -> None:
        nonlocal done
        while done < n:
            reply: Any = await client.xreadgroup("g", name, {stream: ">"}, count=1, block=50)
            for _, entries in reply or ():
                for entry_id, _fields in entries:
                    await client.xack(stream, "g", entry_id)
                    done += 1

    start = time.perf_counter()
    shares = [payloads[i::producers] for i in range(producers)]
    await asyncio.gather(*map(produce, shares), *(consume(f"c{i}") for i in range(CONSUMERS)))
    elapsed = time.perf_counter() - start
    await _cleanup(client, prefix)
    await client.aclose()
    return n / elapsed


async def with_workers(k: int, n: int, *events: str) -> float:
    """Jobs per second for ``n`` queued generation jobs drained by ``k`` worker processes."""
    prefix = f"vgkit-bench:{uuid.uuid4().hex[:8]}:"
    queue = RedisJobQueue(REDIS_URL, key_prefix=prefix, metrics=MetricsRegistry())
    ids = [await queue.submit(r) for r in requests(n)]
    exe = Path(sys.executable).with_name("vgkit")
    cache_dir = Path(tempfile.mkdtemp(prefix="vgkit-bench-cache-"))  # never the user's cache
    procs = [
        await asyncio.create_subprocess_exec(
            str(exe),
            "worker",
            "--redis",
            REDIS_URL,
            "--key-prefix",
            prefix,
            "--concurrency",
            str(WORKER_CONCURRENCY),
            "--metrics-port",
            "0",
            *events,
            env={**os.environ, "VGKIT_CACHE_DIR": str(cache_dir)},
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        for _ in range(k)
    ]
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline:
            stats = await queue.stats()
            if stats.depth == 0 and stats.running == 0:
                break
            await asyncio.sleep(0.05)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            await p.wait()
    jobs = [await queue.status(i) for i in ids]
    assert all(j.status == "succeeded" for j in jobs), "a benchmark job did not succeed"
    first = min(j.history[0].started_at for j in jobs)
    last = max(j.finished_at or 0.0 for j in jobs)
    await _cleanup(queue.redis, prefix)
    shutil.rmtree(cache_dir, ignore_errors=True)
    await queue.aclose()
    return n / (last - first)


async def in_process(n: int) -> float:
    """Jobs per second for the same requests run by one orchestrator, no queue."""
    gate = asyncio.Semaphore(WORKER_CONCURRENCY)
    orchestrator = Orchestrator(metrics=MetricsRegistry())

    async def one(request: VideoRequest) -> None:
        async with gate:
            assert (await orchestrator.run(request)).ok

    start = time.perf_counter()
    await asyncio.gather(*(one(r) for r in requests(n)))
    return n / (time.perf_counter() - start)


async def run(quick: bool) -> list[Row]:
    n_noop = 500 if quick else 3000
    n_jobs = 60 if quick else 300
    repeats = 1 if quick else 3
    rows = []
    for producers, target, shape in (
        (PRODUCERS, 0.5, "saturated"),
        (1, None, "one producer awaiting each submit, consumers mostly idle"),
    ):
        queue_rates, bare_rates = [], []
        for _ in range(repeats):  # interleaved, so both sides see the same machine
            bare_rates.append(await noop_bare(n_noop, producers))
            queue_rates.append(await noop_queue(n_noop, producers))
        q, b = statistics.median(queue_rates), statistics.median(bare_rates)
        per_run = ", ".join(f"{x / y:.2f}" for x, y in zip(queue_rates, bare_rates, strict=True))
        rows.append(
            row(
                f"no-op jobs/s, {producers} producer(s) x {CONSUMERS} consumers: queue / bare",
                q,
                b,
                "jobs/s",
                target=target,
                higher_is_better=True,
                notes=f"{shape}; {n_noop} jobs, median of {repeats}; per-run ratios {per_run}",
            )
        )
    baseline = await in_process(n_jobs)
    # Like for like: the in-process baseline runs without a cache, so do the workers
    # here; the cost of the worker's default layered cache has its own row below.
    one = await with_workers(1, n_jobs, "--no-cache")
    rows.append(
        row(
            "jobs/s end to end, 1 worker / in-process orchestrator",
            one,
            baseline,
            "jobs/s",
            higher_is_better=True,
            notes=f"{n_jobs} three-platform jobs, template backend, concurrency "
            f"{WORKER_CONCURRENCY}; the worker publishes every progress event",
        )
    )
    quiet = await with_workers(1, n_jobs, "--no-cache", "--no-events")
    rows.append(
        row(
            "jobs/s end to end, 1 worker --no-events / in-process",
            quiet,
            baseline,
            "jobs/s",
            higher_is_better=True,
            notes="the same without publishing progress events",
        )
    )
    cached = await with_workers(1, n_jobs)
    rows.append(
        row(
            "jobs/s end to end, 1 worker with its layered cache / without",
            cached,
            one,
            "jobs/s",
            higher_is_better=True,
            notes="every job is new, so the cache only adds work: per node a key hash, a "
            "lookup, a lock, an encode, a Redis store and a disk write behind; it pays off on "
            "repeats (see the cache rows)",
        )
    )
    for k in (2, 4):
        rate = await with_workers(k, n_jobs, "--no-cache")
        rows.append(
            row(
                f"jobs/s end to end, {k} workers / 1 worker",
                rate,
                one,
                "jobs/s",
                higher_is_better=True,
                notes=f"{k} processes on {os.cpu_count()} cores (shared with Redis)",
            )
        )
    return rows
