"""RedisJobQueue against a real Redis: what it writes, claim order, reclaims,
retries and dead letters, cancellation, events, and Redis going away."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import replace
from typing import Any

import orjson
import pytest
import redis

from tests.conftest import RedisProcess
from tests.queue.conftest import FAST, FailingAgent, entries, until
from vgkit.cli import main
from vgkit.errors import JobNotFoundError, QueueFullError, QueueUnavailableError
from vgkit.events import NodeFinished
from vgkit.metrics import MetricsRegistry
from vgkit.models import VideoRequest
from vgkit.orchestrator import Orchestrator
from vgkit.queue import JobEvent, JobResult, JobStatus, Priority, RedisJobQueue, Worker
from vgkit.queue.worker import WorkerConfig

pytestmark = pytest.mark.redis


def req(topic: str = "How tides work", **fields: object) -> VideoRequest:
    return VideoRequest(topic=topic, platforms=["tiktok"], **fields)


def worker(q: RedisJobQueue, **config: object) -> Worker:
    return Worker(q, config=WorkerConfig(**config), metrics=MetricsRegistry())  # type: ignore[arg-type]


def slow_worker(q: RedisJobQueue, time_scale: float, **config: object) -> Worker:
    """A worker whose runs take the flat cost model's time (about 7 s x ``time_scale``)."""
    return Worker(
        q,
        orchestrator=lambda: Orchestrator(
            cost="flat", time_scale=time_scale, metrics=MetricsRegistry()
        ),
        config=WorkerConfig(**config),  # type: ignore[arg-type]
        metrics=MetricsRegistry(),
    )


async def test_submit_writes_json_a_status_hash_and_one_stream_entry(
    queue: RedisJobQueue, raw: redis.Redis, key_prefix: str
) -> None:
    job_id = await queue.submit(req(seed=4), priority="high", idempotency_key="order-1")
    again = await queue.submit(req("other"), priority="low", idempotency_key="order-1")
    assert again == job_id
    p = key_prefix + "q:"
    fields = raw.hgetall(f"{p}job:{job_id}")
    assert fields[b"status"] == b"queued" and fields[b"priority"] == b"high"
    assert orjson.loads(fields[b"request"])["seed"] == 4  # JSON, never pickle
    assert raw.xlen(f"{p}stream:high") == 1 and raw.xlen(f"{p}stream:low") == 0
    [(_, entry)] = entries(raw, f"{p}stream:high")
    assert entry == {b"job": job_id.encode()}
    assert raw.get(f"{p}idem:order-1") == job_id.encode()
    job = await queue.status(job_id)
    assert job.request == req(seed=4) and job.idempotency_key == "order-1"
    assert not raw.exists(f"{p}events:{job_id}")  # events start when a worker takes it
    claim = await queue.claim("w", timeout=0)
    assert claim is not None
    [event] = [orjson.loads(f[b"e"]) for _, f in entries(raw, f"{p}events:{job_id}")]
    assert event["type"] == "job" and event["status"] == "running" and event["worker"] == "w"


async def test_claims_take_high_first_with_a_fair_share_for_lower_levels(
    queue: RedisJobQueue,
) -> None:
    ids: dict[str, Priority] = {}
    for i in range(25):
        for prio in (Priority.LOW, Priority.NORMAL, Priority.HIGH):
            ids[await queue.submit(req(f"{prio.value} {i}"), priority=prio)] = prio
    claims = [await queue.claim("w", timeout=0) for _ in range(25)]
    taken = [ids[c.job_id] for c in claims if c]
    assert Counter(taken) == {Priority.HIGH: 20, Priority.NORMAL: 4, Priority.LOW: 1}
    # Within a priority, first in first out.
    highs = [c.job_id for c in claims if c and ids[c.job_id] is Priority.HIGH]
    assert highs == [i for i, p in ids.items() if p is Priority.HIGH][:20]


async def test_strict_priority_when_fairness_is_off(redis_url: str, key_prefix: str) -> None:
    q = RedisJobQueue(redis_url, key_prefix=key_prefix, config=replace(FAST, fairness=None))
    lows = [await q.submit(req("low"), priority="low") for _ in range(3)]
    highs = [await q.submit(req("high"), priority="high") for _ in range(12)]
    claims = [await q.claim("w", timeout=0) for _ in range(15)]
    assert [c.job_id for c in claims if c] == highs + lows
    await q.aclose()


async def test_a_crashed_workers_job_is_reclaimed_and_finished_once(
    queue: RedisJobQueue, raw: redis.Redis, key_prefix: str
) -> None:
    job_id = await queue.submit(req())
    crashed = await queue.claim("worker-a", timeout=0)
    assert crashed is not None and crashed.attempt == 1
    # worker-a stops heart-beating; worker-b must wait out the visibility timeout.
    assert await queue.claim("worker-b", timeout=0) is None
    await asyncio.sleep(FAST.visibility_timeout + 0.1)
    taken = await queue.claim("worker-b", timeout=0)
    assert taken is not None and taken.job_id == job_id
    assert taken.reclaimed and taken.attempt == 2
    # The crashed worker comes back: its claim is void, it cannot finish the job.
    assert (await queue.heartbeat([crashed]))[job_id] == "lost"
    late = JobResult(job_id=job_id, session_id="s", worker="worker-a", ok=True, makespan=0)
    assert await queue.complete(crashed, late) is None
    done = JobResult(job_id=job_id, session_id="s", worker="worker-b", ok=True, makespan=0)
    assert await queue.complete(taken, done) is JobStatus.SUCCEEDED
    job = await queue.status(job_id)
    assert [(a.worker, a.outcome) for a in job.history] == [
        ("worker-a", "lost"),
        ("worker-b", "succeeded"),
    ]
    result = await queue.result(job_id)
    assert result is not None and result.worker == "worker-b"
    stream = f"{key_prefix}q:stream:normal"
    assert raw.xlen(stream) == 0 and raw.xpending(stream, "workers")["pending"] == 0


async def test_a_job_lost_max_attempts_times_is_dead_lettered(
    redis_url: str, key_prefix: str
) -> None:
    config = replace(FAST, visibility_timeout=0.2, max_attempts=1)
    q = RedisJobQueue(redis_url, key_prefix=key_prefix, config=config)
    job_id = await q.submit(req())
    assert await q.claim("a", timeout=0) is not None
    await asyncio.sleep(0.3)
    assert await q.claim("b", timeout=0) is None
    job = await q.status(job_id)
    assert job.status is JobStatus.DEAD and "stopped renewing" in (job.error or "")
    [letter] = await q.dead_letters()
    assert letter.job_id == job_id and [a.outcome for a in letter.history] == ["lost"]
    await q.aclose()


async def test_heartbeats_keep_a_long_job_from_being_reclaimed(queue: RedisJobQueue) -> None:
    job_id = await queue.submit(req())
    held = await queue.claim("a", timeout=0)
    assert held is not None
    for _ in range(4):  # 1.2 s in all, longer than the 1 s visibility timeout
        await asyncio.sleep(0.3)
        assert (await queue.heartbeat([held]))[job_id] == "held"
    assert await queue.claim("b", timeout=0) is None


async def test_agent_failures_go_to_the_dead_letter_stream_and_dlq_retry_runs_them_again(
    queue: RedisJobQueue, raw: redis.Redis, key_prefix: str, redis_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    job_id = await queue.submit(req(), priority="high")
    registry = MetricsRegistry()
    backend = FailingAgent("shot_describer")
    broken = Worker(
        queue,
        orchestrator=lambda: Orchestrator(backend=backend, metrics=registry),
        config=WorkerConfig(max_jobs=FAST.max_attempts),
        metrics=registry,
    )
    # Each step bounded on its own. This test once hung for its whole 60 s: the worker's
    # heartbeat swallowed its stop (see the test after it).
    async with asyncio.timeout(20):
        stats = await broken.run()
    assert (stats.retrying, stats.dead) == (FAST.max_attempts - 1, 1)
    assert backend.calls == FAST.max_attempts

    [(_, letter)] = entries(raw, f"{key_prefix}q:dead")
    assert letter[b"job"] == job_id.encode() and letter[b"attempts"] == b"3"
    assert b"shot_describer" in letter[b"error"] and b"injected fault" in letter[b"error"]
    history = orjson.loads(letter[b"history"])
    assert [a["outcome"] for a in history] == ["failed"] * 3
    assert all("injected fault" in a["error"] for a in history)
    job = await queue.status(job_id)
    assert job.status is JobStatus.DEAD and job.attempts == 3

    cli = ["--redis", redis_url, "--key-prefix", key_prefix]
    async with asyncio.timeout(20):
        assert await asyncio.to_thread(main, ["dlq", "list", *cli]) == 0
    listed = capsys.readouterr().out
    assert job_id in listed and "3 attempts" in listed and "injected fault" in listed
    async with asyncio.timeout(20):
        assert await asyncio.to_thread(main, ["dlq", "retry", job_id, *cli]) == 0
    assert f"job {job_id} queued again (priority high)" in capsys.readouterr().out
    assert raw.xlen(f"{key_prefix}q:dead") == 0

    async with asyncio.timeout(20):
        assert (await worker(queue, max_jobs=1).run()).succeeded == 1
    job = await queue.status(job_id)
    assert job.status is JobStatus.SUCCEEDED and job.attempts == 1
    assert [a.outcome for a in job.history] == ["failed"] * 3 + ["succeeded"]
    result = await queue.result(job_id)
    assert result is not None and result.ok


async def test_a_worker_ends_even_when_its_heartbeat_swallows_the_stop(
    queue: RedisJobQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Python 3.11's asyncio.wait_for drops a cancel that meets the end of the operation it
    # awaits, and redis-py sends every command through it: a worker whose heartbeat was in
    # flight when its last job ended went on beating, and run() never returned (under load,
    # 1 run of the dead-letter test in 27, and 1 in ~300 of a loop of the same steps).
    # Fault injection: the heartbeat drops a cancel that comes while it is in flight.
    beats: list[str] = []
    real = queue.heartbeat

    async def swallowing(claims: Any) -> Any:
        beats.append("sent")
        leases = await real(claims)
        try:
            await asyncio.sleep(30)  # in flight when the job ends
        except asyncio.CancelledError:
            beats.append("swallowed")
        return leases

    monkeypatch.setattr(queue, "heartbeat", swallowing)
    job_id = await queue.submit(req())
    slow = slow_worker(queue, 0.15, max_jobs=1)
    async with asyncio.timeout(10):
        stats = await slow.run()
    assert stats.succeeded == 1 and "swallowed" in beats, beats
    assert (await queue.status(job_id)).status is JobStatus.SUCCEEDED


async def test_cancel_removes_a_queued_job_and_stops_a_running_one(
    queue: RedisJobQueue, raw: redis.Redis, key_prefix: str
) -> None:
    queued = await queue.submit(req("queued"))
    assert await queue.cancel(queued) is JobStatus.CANCELLED
    assert raw.xlen(f"{key_prefix}q:stream:normal") == 0
    assert await queue.claim("w", timeout=0) is None

    running = await queue.submit(req("slow"))
    slow = slow_worker(queue, 0.5, max_jobs=1)
    task = asyncio.create_task(slow.run())

    async def is_running() -> bool:
        return (await queue.status(running)).status is JobStatus.RUNNING

    await until(is_running, 5, "the slow job to start")
    assert await queue.cancel(running) is JobStatus.RUNNING
    stats = await asyncio.wait_for(task, 5)  # well before the run's ~3.5 s
    assert stats.cancelled == 1
    job = await queue.status(running)
    assert job.status is JobStatus.CANCELLED and job.history[-1].outcome == "cancelled"
    assert 0 < raw.pttl(f"{key_prefix}q:job:{running}") <= FAST.result_ttl * 1000
    assert await queue.cancel(running) is JobStatus.CANCELLED  # already: no change
    with pytest.raises(JobNotFoundError):
        await queue.cancel("j-nope")


async def test_results_and_finished_jobs_expire_after_the_ttl(
    queue: RedisJobQueue, raw: redis.Redis, key_prefix: str
) -> None:
    job_id = await queue.submit(req(), idempotency_key="ttl")
    await worker(queue, max_jobs=1).run()
    p = key_prefix + "q:"
    ttl_ms = FAST.result_ttl * 1000
    for key in (f"{p}result:{job_id}", f"{p}job:{job_id}", f"{p}idem:ttl", f"{p}events:{job_id}"):
        assert 0 < raw.pttl(key) <= ttl_ms, key
    stored = JobResult.model_validate_json(raw.get(f"{p}result:{job_id}") or b"")
    assert stored.ok and stored.job_id == job_id and stored.plan("tiktok").title


async def test_a_stopping_worker_hands_its_job_back(queue: RedisJobQueue) -> None:
    job_id = await queue.submit(req())
    slow = slow_worker(queue, 0.5, grace=0)
    task = asyncio.create_task(slow.run())

    async def is_running() -> bool:
        return (await queue.status(job_id)).status is JobStatus.RUNNING

    await until(is_running, 5, "the job to start")
    slow.stop()
    stats = await asyncio.wait_for(task, 5)
    assert stats.released == 1
    job = await queue.status(job_id)
    assert job.status is JobStatus.QUEUED and job.attempts == 0
    # Handed back, it is the next job any worker claims, at once.
    again = await queue.claim("other", timeout=0)
    assert again is not None and again.job_id == job_id and again.attempt == 1
    assert [a.outcome for a in (await queue.status(job_id)).history] == ["released", "running"]


async def test_a_late_follower_sees_every_event_from_the_start(
    queue: RedisJobQueue, redis_url: str, key_prefix: str
) -> None:
    job_id = await queue.submit(req())
    await worker(queue, max_jobs=1).run()
    # Another client (as another process would be) follows after the job is done.
    other = RedisJobQueue(redis_url, key_prefix=key_prefix, config=FAST)
    events = [e async for e in other.follow(job_id)]
    await other.aclose()
    kinds = [e.type for e in events]
    assert kinds[:3] == ["job", "job", "run_started"] and kinds[-2:] == ["run_finished", "job"]
    assert isinstance(events[-1], JobEvent) and events[-1].status is JobStatus.SUCCEEDED
    finished = [e for e in events if isinstance(e, NodeFinished)]
    assert len(finished) == 10 and all(e.duration is not None for e in finished)
    assert {"progress", "artifact", "quality"} <= set(kinds)
    assert "plan" not in kinds  # plans travel in the result, not the event stream


async def test_a_bounded_redis_queue_refuses_and_keeps_what_it_has(
    redis_url: str, key_prefix: str, raw: redis.Redis
) -> None:
    q = RedisJobQueue(redis_url, key_prefix=key_prefix, config=replace(FAST, maxsize=2))
    kept = [await q.submit(req(f"job {i}")) for i in range(2)]
    with pytest.raises(QueueFullError, match="2 jobs waiting, maxsize 2"):
        await q.submit(req("one too many"), priority="high")
    assert raw.xlen(f"{key_prefix}q:stream:high") == 0
    assert sorted(j.id for j in await q.list()) == sorted(kept)
    await q.aclose()


async def test_redis_going_away_is_a_clear_error_and_workers_carry_on(
    redis_process: RedisProcess,
) -> None:
    q = RedisJobQueue(redis_process.url, key_prefix="vgkit:", config=FAST)
    running = worker(q, max_jobs=1)
    task = asyncio.create_task(running.run())
    await asyncio.sleep(0.2)
    redis_process.kill()
    with pytest.raises(QueueUnavailableError, match=r"did not answer.*Start Redis"):
        await q.submit(req())
    await asyncio.sleep(0.3)  # the worker's claims fail meanwhile; it must not give up
    assert not task.done()
    redis_process.start()  # an empty Redis on the same port: streams and groups are gone
    job_id = await q.submit(req())
    stats = await asyncio.wait_for(task, 10)
    assert stats.succeeded == 1
    assert (await q.status(job_id)).status is JobStatus.SUCCEEDED
    await q.aclose()


async def test_an_idle_worker_is_handed_a_new_job_at_once(queue: RedisJobQueue) -> None:
    waiting = asyncio.create_task(queue.claim("idle", timeout=5))
    await asyncio.sleep(0.2)  # blocked in XREADGROUP by now
    start = time.monotonic()
    job_id = await queue.submit(req())
    claim = await asyncio.wait_for(waiting, 5)
    assert claim is not None and claim.job_id == job_id and claim.attempt == 1
    assert time.monotonic() - start < 0.5
    assert (await queue.status(job_id)).worker == "idle"


async def test_entries_delivered_together_go_best_first_and_the_rest_are_handed_back(
    queue: RedisJobQueue,
) -> None:
    low = await queue.submit(req("low"), priority="low")
    high = await queue.submit(req("high"), priority="high")
    # One blocking read takes the newest entry of every stream; the worker runs one.
    claim = await queue._wait_for_entry("w", 0.1)
    assert claim is not None and claim.job_id == high
    assert (await queue.status(low)).status is JobStatus.QUEUED
    other = await queue.claim("other", timeout=0)
    assert other is not None and other.job_id == low and other.attempt == 1


async def test_a_worker_dying_between_delivery_and_adoption_loses_nothing(
    queue: RedisJobQueue, key_prefix: str
) -> None:
    job_id = await queue.submit(req())
    stream = f"{key_prefix}q:stream:normal"
    # The ghost's blocking read delivered the entry, then the ghost died.
    delivered: Any = await queue.redis.xreadgroup("workers", "ghost", {stream: ">"}, count=1)
    assert delivered[0][1][0][1] == {"job": job_id}
    assert await queue.claim("b", timeout=0) is None
    await asyncio.sleep(FAST.visibility_timeout + 0.1)
    claim = await queue.claim("b", timeout=0.5)
    assert claim is not None and claim.job_id == job_id
    assert claim.attempt == 1 and not claim.reclaimed  # it never ran, so no attempt is lost
    assert [a.outcome for a in (await queue.status(job_id)).history] == ["running"]


def _calls(client: redis.Redis, command: str) -> int:
    """How many times this Redis server ran ``command`` (INFO commandstats)."""
    stats: Any = client.info("commandstats")
    return int(stats.get(f"cmdstat_{command}", {}).get("calls", 0))


async def test_waiters_block_on_the_done_stream_instead_of_polling(
    redis_process: RedisProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A waiter's own status re-read, the safety net, is pushed past the test: every
    # wait below can only return because the end of its job was announced.
    monkeypatch.setattr("vgkit.queue.redis.WAIT_RECHECK", 60.0)
    q = RedisJobQueue(redis_process.url, key_prefix="vgkit:", config=FAST)
    raw = redis.Redis.from_url(redis_process.url)
    n = 200
    ids = [await q.submit(req(f"topic {i}")) for i in range(n)]
    reads = _calls(raw, "hgetall")
    waits = [asyncio.create_task(q.wait(job_id, timeout=30)) for job_id in ids]
    await asyncio.sleep(1.5)  # polling every 0.01-0.25 s would have read ~10 times each
    assert not any(w.done() for w in waits)
    assert _calls(raw, "hgetall") - reads == n  # one status read per waiter, then quiet
    assert _calls(raw, "xread") <= 3  # one listener, blocked
    for _ in ids:
        claim = await q.claim("w", timeout=0)
        assert claim is not None
        done = JobResult(job_id=claim.job_id, session_id="s", worker="w", ok=True, makespan=0)
        assert await q.complete(claim, done) is JobStatus.SUCCEEDED
    jobs = await asyncio.wait_for(asyncio.gather(*waits), 20)
    assert {j.id for j in jobs} == set(ids) and all(j.status is JobStatus.SUCCEEDED for j in jobs)
    assert _calls(raw, "hgetall") - reads <= 2 * n + 5  # and one more each once it ended
    announced = [f[b"job"].decode() for _, f in entries(raw, "vgkit:q:done")]
    assert sorted(announced) == sorted(ids)
    # A cancelled job and a dead one are announced too; a dead job retried is not.
    cancelled = await q.submit(req("cancelled"))
    await q.cancel(cancelled)
    assert (await asyncio.wait_for(q.wait(cancelled), 5)).status is JobStatus.CANCELLED
    assert raw.xlen("vgkit:q:done") == n + 1
    raw.close()
    await q.aclose()


async def test_a_waiter_still_sees_an_end_that_was_never_announced(
    queue: RedisJobQueue, raw: redis.Redis, key_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A worker of an older vgkit (scripts without the done stream), or a done stream
    # trimmed or lost with a Redis restart: the waiter's own re-read finds the end.
    monkeypatch.setattr("vgkit.queue.redis.WAIT_RECHECK", 0.2)
    job_id = await queue.submit(req())
    waiting = asyncio.create_task(queue.wait(job_id, timeout=10))
    await asyncio.sleep(0.3)
    raw.hset(f"{key_prefix}q:job:{job_id}", "status", "succeeded")
    job = await asyncio.wait_for(waiting, 5)
    assert job.status is JobStatus.SUCCEEDED
    assert not raw.exists(f"{key_prefix}q:done")
    with pytest.raises(TimeoutError, match=r"still queued after 0\.3 s"):
        await queue.wait(await queue.submit(req("never taken")), timeout=0.3)
    assert queue._ended.waiters == {}  # nobody left registered


async def test_waiters_get_the_queue_error_when_redis_goes_away(
    redis_process: RedisProcess,
) -> None:
    q = RedisJobQueue(redis_process.url, key_prefix="vgkit:", config=FAST)
    job_id = await q.submit(req())
    waiting = asyncio.create_task(q.wait(job_id, timeout=30))
    await asyncio.sleep(0.3)  # registered, the listener blocked in XREAD
    redis_process.kill()
    with pytest.raises(QueueUnavailableError, match="did not answer"):
        await asyncio.wait_for(waiting, 10)
    redis_process.start()  # an empty Redis: the job is gone, and the next wait says so
    with pytest.raises(JobNotFoundError):
        await q.wait(job_id, timeout=5)
    await q.aclose()
