"""Multi-host scenarios: Redis, workers and the submitter on separate lab hosts.

Each test builds a five-host lab (client, redis, worker-1..3; 1 ms links), runs
real ``vgkit worker`` processes and a real ``redis-server`` on their hosts, and
submits from the client host, which is this test process's seat
(``lab.inside("client")``). Every test is bounded in time and removes its lab.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter

import pytest
import redis

from tests.netlab.conftest import VGKIT, Cluster
from tests.queue.conftest import until
from vgkit.errors import JobNotFoundError, QueueUnavailableError
from vgkit.metrics import MetricsRegistry
from vgkit.models import VideoRequest
from vgkit.queue import JobStatus, QueueConfig, RedisJobQueue, persistence

pytestmark = [pytest.mark.netlab, pytest.mark.redis, pytest.mark.slow]

FAST = QueueConfig(visibility_timeout=1.0, backoff=0.02, backoff_max=0.1, poll_interval=0.1)


def req(i: int, topic: str = "Household science question") -> VideoRequest:
    return VideoRequest(topic=f"{topic} {i}", platforms=["tiktok"], seed=i)


async def settled(queue: RedisJobQueue, ids: list[str]) -> bool:
    for job_id in ids:
        if not (await queue.status(job_id)).done:
            return False
    return True


async def exactly_once(queue: RedisJobQueue, ids: list[str]) -> Counter[str]:
    """Every job succeeded, with one successful attempt and one result; jobs per worker."""
    by_worker: Counter[str] = Counter()
    for job_id in ids:
        job = await queue.status(job_id)
        assert job.status is JobStatus.SUCCEEDED, job
        wins = [a for a in job.history if a.outcome == "succeeded"]
        assert len(wins) == 1, job.history
        result = await queue.result(job_id)
        assert result is not None and result.ok and result.worker == wins[0].worker
        by_worker[result.worker] += 1
    return by_worker


@pytest.mark.timeout(90)
async def test_jobs_from_one_host_are_done_on_two_others_exactly_once(cluster: Cluster) -> None:
    lab = cluster.lab
    w1 = cluster.worker("worker-1", "w1", "--concurrency", "2")
    w2 = cluster.worker("worker-2", "w2", "--concurrency", "2")
    with lab.inside("client"):
        async with RedisJobQueue(
            cluster.redis_url, key_prefix=cluster.key_prefix, config=FAST, metrics=MetricsRegistry()
        ) as queue:
            ids = [await queue.submit(req(i)) for i in range(40)]
            await until(lambda: settled(queue, ids), 60, "40 jobs to finish")
            by_worker = await exactly_once(queue, ids)
    assert set(by_worker) == {"w1", "w2"} and sum(by_worker.values()) == 40
    assert w1.stop() == 0 and w2.stop() == 0
    assert w1.counts["succeeded"] + w2.counts["succeeded"] == 40
    assert (w1.counts["succeeded"], w2.counts["succeeded"]) == (by_worker["w1"], by_worker["w2"])


@pytest.mark.timeout(120)
async def test_a_worker_hosts_link_cut_mid_job_its_job_is_reclaimed_and_done_once(
    cluster: Cluster,
) -> None:
    lab = cluster.lab
    slow = ("--concurrency", "1", "--cost", "seed", "--time-scale", "0.05")  # ~2 s a job
    w1 = cluster.worker("worker-1", "w1", *slow)
    with lab.inside("client"):
        async with RedisJobQueue(
            cluster.redis_url, key_prefix=cluster.key_prefix, config=FAST, metrics=MetricsRegistry()
        ) as queue:
            ids = [await queue.submit(req(i, "Tide pools")) for i in range(4)]

            running: list[str] = []

            async def w1_running() -> bool:
                jobs = [await queue.status(i) for i in ids]
                running[:] = [j.id for j in jobs if j.status is JobStatus.RUNNING]
                return any(j.worker == "w1" for j in jobs if j.id in running)

            await until(w1_running, 30, "w1 to be running a job", pause=0.01)
            lab.cut("worker-1")  # mid-job: every packet of worker-1 is lost from now on
            cut_job = running[0]
            cut_at = time.monotonic()
            cluster.worker("worker-2", "w2", *slow)
            await until(lambda: settled(queue, ids), 60, "every job to finish without worker-1")
            finished_without_w1 = time.monotonic() - cut_at
            job = await queue.status(cut_job)
            by_worker = await exactly_once(queue, ids)
            # The held job was reclaimed: w1's attempt is lost, w2's succeeded.
            outcomes = [(a.worker, a.outcome) for a in job.history]
            assert ("w1", "lost") in outcomes and ("w2", "succeeded") in outcomes, outcomes
            lab.restore("worker-1")  # w1 comes back and tries to finish what it held
            await asyncio.sleep(3)
            again = await exactly_once(queue, ids)
            assert again == by_worker  # nothing done twice in the results
            assert (await queue.result(cut_job)).worker == "w2"  # type: ignore[union-attr]
    assert sum(by_worker.values()) == 4 and by_worker["w2"] >= 1
    assert finished_without_w1 < 45
    w1.stop()
    assert "lost to other workers" in w1.out


async def warm_up(queue: RedisJobQueue, names: set[str], timeout: float = 40) -> list[str]:
    """Submit small jobs until each worker in ``names`` has finished one (they are all up)."""
    ids: list[str] = []
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    while seen < names:
        assert time.monotonic() < deadline, f"only {seen} of {names} took jobs"
        ids.append(await queue.submit(req(len(ids), "Warm-up")))
        await asyncio.sleep(0.2)
        for job_id in ids:
            result = await queue.result(job_id)
            if result is not None:
                seen.add(result.worker)
    return ids


async def submit_with_retries(
    queue: RedisJobQueue, request: VideoRequest, key: str, deadline: float
) -> str:
    """What a careful submitter does: an idempotency key, a bounded wait, and retries."""
    while True:
        try:
            return await asyncio.wait_for(queue.submit(request, idempotency_key=key), 2.0)
        except (TimeoutError, QueueUnavailableError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


@pytest.mark.timeout(150)
async def test_the_redis_host_cut_off_for_10_s_under_load(cluster: Cluster) -> None:
    lab = cluster.lab
    w1 = cluster.worker("worker-1", "w1", "--concurrency", "2", "--cost", "seed")
    w2 = cluster.worker("worker-2", "w2", "--concurrency", "2", "--cost", "seed")
    stop = cluster.workdir / "stop-generating"
    generator = cluster.helper(
        "worker-3",
        {
            "mode": "generate_through_outage",
            "redis": cluster.redis_url,
            "prefix": "vgkit-outage:",
            "l1": str(cluster.workdir / "l1-generator"),
            "stop": str(stop),
            "progress": str(cluster.workdir / "generator-progress"),
            "topic": "Glacier melt",
        },
    )
    submitted: dict[int, float] = {}
    ids: list[str] = []
    with lab.inside("client"):
        async with RedisJobQueue(
            cluster.redis_url, key_prefix=cluster.key_prefix, config=FAST, metrics=MetricsRegistry()
        ) as queue:
            ids += await warm_up(queue, {"w1", "w2"})

            async def generating() -> bool:
                if generator.poll() is not None:  # say why, instead of waiting out the timeout
                    _out, err = generator.communicate()
                    pytest.fail(f"the generator exited {generator.returncode}: {err[-2000:]}")
                return bool(await queue.redis.keys("vgkit-outage:*"))

            await until(generating, 30, "the generator to write through Redis")
            start = time.monotonic()

            async def outage() -> None:
                await asyncio.sleep(3.0)
                await asyncio.to_thread(lab.cut, "redis")  # every packet to or from Redis lost
                await asyncio.sleep(10.0)
                await asyncio.to_thread(lab.restore, "redis")

            cutting = asyncio.create_task(outage())
            i = 0
            while time.monotonic() - start < 17.0:  # load before, during and after the cut
                deadline = time.monotonic() + 30
                ids.append(
                    await submit_with_retries(queue, req(i, "Coral reefs"), f"k{i}", deadline)
                )
                submitted[i] = time.monotonic() - start
                i += 1
                await asyncio.sleep(0.1)
            await cutting
            stop.touch()
            waited = time.monotonic()
            try:
                await until(lambda: settled(queue, ids), 60, "every submitted job to finish")
            except BaseException:
                from collections import Counter as C

                jobs = [await queue.status(j) for j in ids]
                print("STATUSES", C((j.status.value, j.worker) for j in jobs))
                for j in jobs:
                    if not j.done:
                        print(j.id, j.status, j.worker, j.history)
                for w in (w1, w2):
                    w.proc.terminate()
                    out, err = w.proc.communicate(timeout=30)
                    print("WORKER", w.name, out[-2000:], err[-4000:])
                raise
            drained = time.monotonic() - waited
            by_worker = await exactly_once(queue, ids)
    report = json.loads(generator.communicate(timeout=60)[0])
    assert sum(by_worker.values()) == len(ids) == len(set(ids))
    # No submission got through while Redis was cut off, and the queue resumed after.
    during = [t for t in submitted.values() if 3.5 < t < 12.5]
    assert not during, during
    resumed = min(t for t in submitted.values() if t > 13.0) - 13.0
    assert resumed < 5, f"submissions resumed {resumed:.1f} s after the link came back"
    assert drained < 30, f"the queue took {drained:.1f} s to drain after the load stopped"
    # Generations carried on from L1 and the agents; the breaker opened and closed again.
    assert report["errors"] == [] and report["runs"] == report["ok"] >= 5, report
    assert report["opens"] >= 1 and report["closes"] >= 1 and report["state"] == "closed"
    assert w1.stop() == 0 and w2.stop() == 0


TOPIC = "How solar panels turn sunlight into electricity"


@pytest.mark.timeout(120)
def test_the_shared_cache_across_hosts(cluster: Cluster) -> None:
    generate = [VGKIT, "generate", TOPIC, "-p", "tiktok", "--redis", cluster.redis_url, "-v"]
    out = cluster.workdir
    # A plan computed on worker-1 ...
    first = cluster.run("worker-1", [*generate, "--out", str(out / "first")])
    assert first.returncode == 0, first.stderr
    nodes = [line for line in first.stderr.splitlines() if line.lstrip().startswith("ok")]
    assert len(nodes) == 10 and not [n for n in nodes if "(cache)" in n]
    assert "cache: 0 hits, 10 misses" in first.stdout
    # ... is served from Redis on worker-2, whose own L1 is empty: the whole plan, no agent.
    second = cluster.run("worker-2", [*generate, "--out", str(out / "second")])
    assert second.returncode == 0, second.stderr
    assert "cache: served whole from the cache" in second.stdout, second.stdout
    assert not [line for line in second.stderr.splitlines() if line.lstrip().startswith("ok")]
    plan = (out / "first" / "tiktok.json").read_text()
    assert (out / "second" / "tiktok.json").read_text() == plan
    # An invalidation from worker-1 reaches the L1 of a process on worker-3.
    with cluster.lab.inside("client"):
        control = redis.Redis.from_url(cluster.redis_url, decode_responses=True)
        keys = sorted(str(k) for k in control.keys("vgkit:v1:script:*"))
        assert keys
        watcher = cluster.helper(
            "worker-3",
            {
                "mode": "watch_invalidation",
                "redis": cluster.redis_url,
                "prefix": "vgkit:",
                "l1": str(out / "l1-watcher"),
                "key": keys[0],
                "patience": 60,  # the invalidating command is a new process: it starts first
            },
        )
        deadline = time.monotonic() + 30
        while not control.exists("vgkit:test:watching"):  # the key is in its L1 now
            assert watcher.poll() is None and time.monotonic() < deadline, watcher.stderr
            time.sleep(0.02)
        control.close()
    invalidated_at = time.time()
    dropped = cluster.run(
        "worker-1", [VGKIT, "cache", "invalidate", "--key", keys[0], "--redis", cluster.redis_url]
    )
    assert dropped.returncode == 0 and "invalidated 1 entries" in dropped.stdout, dropped
    report = json.loads(watcher.communicate(timeout=30)[0])
    assert report["gone_at"] is not None
    # Gone once the command ran: it started (a new process), invalidated and published.
    assert report["gone_at"] - invalidated_at < 60


@pytest.mark.timeout(150)
async def test_redis_killed_and_restarted_with_the_append_only_file_loses_no_job(
    cluster: Cluster,
) -> None:
    lab = cluster.lab
    slow = ("--concurrency", "2", "--cost", "seed", "--time-scale", "0.03")
    w1 = cluster.worker("worker-1", "w1", *slow)
    w2 = cluster.worker("worker-2", "w2", *slow)
    with lab.inside("client"):
        async with RedisJobQueue(
            cluster.redis_url, key_prefix=cluster.key_prefix, config=FAST, metrics=MetricsRegistry()
        ) as queue:
            ids = await warm_up(queue, {"w1", "w2"})
            ids += [await queue.submit(req(i, "Volcano")) for i in range(20)]

            async def some_running() -> bool:
                stats = await queue.stats()
                return stats.running >= 2 and sum(stats.waiting.values()) >= 4

            await until(some_running, 30, "jobs both running and queued")
            before = await queue.stats()
            cluster.kill_redis()  # SIGKILL: no shutdown save; the AOF is all there is
            await asyncio.sleep(2.0)
            cluster.start_redis()
            await until(lambda: settled(queue, ids), 90, "every job to finish after the restart")
            by_worker = await exactly_once(queue, ids)
    assert before.running >= 2 and sum(before.waiting.values()) >= 4
    assert sum(by_worker.values()) == len(ids)
    assert w1.stop() == 0 and w2.stop() == 0


@pytest.mark.timeout(90)
async def test_without_persistence_a_restart_loses_every_queued_job(cluster: Cluster) -> None:
    """What the warning below is about: the same kill and restart, the AOF off."""
    cluster.kill_redis()
    cluster.start_redis(aof=False)
    with cluster.lab.inside("client"):
        async with RedisJobQueue(
            cluster.redis_url, key_prefix=cluster.key_prefix, config=FAST, metrics=MetricsRegistry()
        ) as queue:
            ids = [await queue.submit(req(i, "Volcano")) for i in range(5)]
            cluster.kill_redis()
            cluster.start_redis(aof=False)
            with contextlib.suppress(QueueUnavailableError):
                await queue.stats()  # the pooled connection died with the old server
            for job_id in ids:
                with pytest.raises(JobNotFoundError):
                    await queue.status(job_id)


async def volatile_warnings(cluster: Cluster, caplog: pytest.LogCaptureFixture) -> list[str]:
    """The warnings a new queue logs on first contact with the cluster's Redis."""
    caplog.clear()
    with cluster.lab.inside("client"):
        async with RedisJobQueue(cluster.redis_url, metrics=MetricsRegistry()) as queue:
            await queue.stats()
    return [r.getMessage() for r in caplog.records if r.name == "vgkit.queue"]


@pytest.mark.timeout(90)
async def test_the_queue_warns_once_when_redis_would_lose_it(
    cluster: Cluster, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(persistence, "warned_servers", set())  # labs share one address
    caplog.set_level("WARNING", logger="vgkit.queue")
    assert await volatile_warnings(cluster, caplog) == []  # AOF on (everysec)
    cluster.kill_redis()
    cluster.start_redis(aof=False, save="900 1")
    assert await volatile_warnings(cluster, caplog) == []  # snapshots: a restart keeps most
    cluster.kill_redis()
    cluster.start_redis(aof=False, save="")
    warned = await volatile_warnings(cluster, caplog)
    assert len(warned) == 1 and "\n" not in warned[0]
    assert warned[0] == (
        f"vgkit: warning: Redis at {cluster.redis_url} keeps the queue in memory only "
        '(appendonly no, save ""): a restart loses every queued and running job; start it '
        "with --appendonly yes --appendfsync everysec (docs/queue.md)"
    )
    assert await volatile_warnings(cluster, caplog) == []  # once per server and process
    # A submitter or worker process says it once, on stderr, and carries on.
    done = cluster.run(
        "worker-1", [VGKIT, "submit", "Tide pools", "-p", "tiktok", "--redis", cluster.redis_url]
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [warned[0]]
