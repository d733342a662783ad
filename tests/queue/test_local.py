"""LocalJobQueue: priority with aging, backpressure, retries and dead letters, cancel."""

from __future__ import annotations

import asyncio

import pytest

from tests.queue.conftest import FailingAgent
from vgkit.errors import InvalidRequestError, JobNotFoundError, JobStateError, QueueFullError
from vgkit.metrics import MetricsRegistry
from vgkit.models import VideoRequest
from vgkit.orchestrator import Orchestrator
from vgkit.queue import JobEvent, JobStatus, LocalJobQueue, Priority, QueueConfig, Worker
from vgkit.queue.worker import WorkerConfig


def req(topic: str = "How tides work", **fields: object) -> VideoRequest:
    return VideoRequest(topic=topic, platforms=["tiktok"], **fields)


def local(**config: object) -> LocalJobQueue:
    defaults: dict[str, object] = {"backoff": 0.01, "backoff_max": 0.05}
    return LocalJobQueue(config=QueueConfig(**{**defaults, **config}), metrics=MetricsRegistry())  # type: ignore[arg-type]


async def test_claims_follow_priority_then_submission_order() -> None:
    q = local()
    low = await q.submit(req("low"), priority="low")
    normal1 = await q.submit(req("n1"))
    high = await q.submit(req("high"), priority=Priority.HIGH)
    normal2 = await q.submit(req("n2"))
    claimed = [(await q.claim("w", timeout=0)) for _ in range(4)]
    assert [c.job_id for c in claimed if c] == [high, normal1, normal2, low]
    assert await q.claim("w", timeout=0.01) is None


async def test_aging_lets_a_low_job_that_waited_go_before_a_fresh_high_one() -> None:
    q = local(aging=0.02)  # 0.02 s of waiting is worth one priority level
    old_low = await q.submit(req("old"), priority="low")
    await asyncio.sleep(0.1)
    fresh_high = await q.submit(req("fresh"), priority="high")
    first, second = await q.claim("w", timeout=0), await q.claim("w", timeout=0)
    assert first is not None and second is not None
    assert (first.job_id, second.job_id) == (old_low, fresh_high)


async def test_a_full_queue_refuses_clearly_and_keeps_what_it_has() -> None:
    q = local(maxsize=3)
    kept = [await q.submit(req(f"job {i}"), idempotency_key=f"k{i}") for i in range(3)]
    with pytest.raises(QueueFullError) as info:
        await q.submit(req("one too many"))
    message = str(info.value)
    assert "full" in message and "3 jobs waiting, maxsize 3" in message
    assert "nothing was queued" in message and "retry later" in message
    # Resubmitting a job that is already there is not a new job, so it is accepted.
    assert await q.submit(req("job 1"), idempotency_key="k1") == kept[1]
    listed = await q.list()
    assert sorted(j.id for j in listed) == sorted(kept)
    assert {j.status for j in listed} == {JobStatus.QUEUED}
    assert "one too many" not in {j.request.topic for j in listed}
    claims = [await q.claim("w", timeout=0) for _ in range(3)]
    assert [c.job_id for c in claims if c] == kept
    # Running jobs still count: the bound is on jobs queued or running.
    with pytest.raises(QueueFullError):
        await q.submit(req("still full"))
    for c in claims:
        assert c is not None
        await q.release(c, cancelled=True)
    assert await q.submit(req("room again"))


async def test_list_filters_by_status_newest_first() -> None:
    q = local()
    first, second = await q.submit(req("first")), await q.submit(req("second"))
    assert await q.cancel(first) is JobStatus.CANCELLED
    assert [j.id for j in await q.list()] == [second, first]
    assert [j.id for j in await q.list(status="queued")] == [second]
    assert [j.id for j in await q.list(status=JobStatus.CANCELLED, limit=5)] == [first]
    with pytest.raises(InvalidRequestError, match="unknown status 'sleeping'; choose from"):
        await q.list(status="sleeping")


async def test_idempotency_key_returns_the_same_job() -> None:
    q = local()
    first = await q.submit(req(), idempotency_key="order-17")
    again = await q.submit(req("a different topic"), idempotency_key="order-17")
    other = await q.submit(req(), idempotency_key="order-18")
    assert first == again != other
    assert len(await q.list()) == 2


async def test_failing_job_is_retried_then_dead_lettered_then_retried_from_the_dlq() -> None:
    q = local(max_attempts=3)
    registry = MetricsRegistry()
    job_id = await q.submit(req())
    backend = FailingAgent("cta_generator")
    broken = Worker(
        q,
        orchestrator=lambda: Orchestrator(backend=backend, metrics=registry),
        config=WorkerConfig(max_jobs=3),
        metrics=registry,
    )
    stats = await broken.run()
    assert (stats.retrying, stats.dead, stats.succeeded) == (2, 1, 0)
    assert backend.calls == 3
    job = await q.status(job_id)
    assert job.status is JobStatus.DEAD and job.attempts == 3
    assert job.error is not None and "cta_generator" in job.error and "injected fault" in job.error
    [letter] = await q.dead_letters()
    assert letter.job_id == job_id and letter.attempts == 3
    assert [a.outcome for a in letter.history] == ["failed"] * 3
    with pytest.raises(JobStateError, match="not dead"):
        await q.retry_dead(await q.submit(req("healthy")))

    assert (await q.retry_dead(job_id)).status is JobStatus.QUEUED
    assert await q.dead_letters() == []
    healthy = Worker(q, config=WorkerConfig(max_jobs=2), metrics=registry)
    assert (await healthy.run()).succeeded == 2
    job = await q.status(job_id)
    assert job.status is JobStatus.SUCCEEDED and job.attempts == 1
    assert [a.outcome for a in job.history] == ["failed", "failed", "failed", "succeeded"]
    result = await q.result(job_id)
    assert result is not None and result.ok and result.plan("tiktok").quality is not None


async def test_purge_dead_forgets_dead_jobs() -> None:
    q = local(max_attempts=1)
    job_id = await q.submit(req(), idempotency_key="once")
    claim = await q.claim("w", timeout=0)
    assert claim is not None
    assert await q.fail(claim, "boom") is JobStatus.DEAD
    assert await q.purge_dead() == 1
    with pytest.raises(JobNotFoundError):
        await q.status(job_id)
    assert await q.submit(req(), idempotency_key="once") != job_id


async def test_cancel_a_queued_job_and_a_running_one() -> None:
    q = local()
    queued = await q.submit(req("queued"))
    assert await q.cancel(queued) is JobStatus.CANCELLED
    assert await q.claim("w", timeout=0) is None

    running = await q.submit(req("running"))
    claim = await q.claim("w", timeout=0)
    assert claim is not None
    assert await q.cancel(running) is JobStatus.RUNNING
    assert (await q.heartbeat([claim]))[running] == "cancel"
    assert await q.release(claim, cancelled=True) is JobStatus.CANCELLED
    job = await q.status(running)
    assert job.status is JobStatus.CANCELLED and job.history[-1].outcome == "cancelled"
    with pytest.raises(JobNotFoundError, match="no job 'nope'"):
        await q.cancel("nope")


async def test_a_released_job_keeps_its_place_and_its_attempt() -> None:
    q = local()
    first = await q.submit(req("first"))
    second = await q.submit(req("second"))
    claim = await q.claim("w", timeout=0)
    assert claim is not None and claim.job_id == first
    assert await q.release(claim) is JobStatus.QUEUED
    # The old claim is void: it can neither finish the job nor renew it.
    assert await q.fail(claim, "late") is None
    assert (await q.heartbeat([claim]))[first] == "lost"
    again = await q.claim("w2", timeout=0)
    assert again is not None and again.job_id == first and again.attempt == 1
    assert [a.outcome for a in (await q.status(first)).history] == ["released", "running"]
    assert (await q.status(second)).status is JobStatus.QUEUED


async def test_follow_sees_progress_and_ends_with_the_job() -> None:
    q = local()
    job_id = await q.submit(req())

    async def collect() -> list[str]:
        return [e.type + (f":{e.status.value}" if isinstance(e, JobEvent) else "")
                async for e in q.follow(job_id)]  # fmt: skip

    follower = asyncio.create_task(collect())
    await asyncio.sleep(0)
    await Worker(q, config=WorkerConfig(max_jobs=1), metrics=MetricsRegistry()).run()
    seen = await asyncio.wait_for(follower, 5)
    assert seen[:3] == ["job:queued", "job:running", "run_started"]
    assert seen[-2:] == ["run_finished", "job:succeeded"]
    for kind in ("node_started", "node_finished", "progress", "artifact", "quality"):
        assert kind in seen


async def test_results_expire_after_their_ttl() -> None:
    q = local(result_ttl=0.05)
    job_id = await q.submit(req(), idempotency_key="short-lived")
    await Worker(q, config=WorkerConfig(max_jobs=1), metrics=MetricsRegistry()).run()
    assert (await q.result(job_id)) is not None
    await asyncio.sleep(0.1)
    with pytest.raises(JobNotFoundError):
        await q.result(job_id)
    assert await q.submit(req(), idempotency_key="short-lived") != job_id


async def test_a_task_runs_with_the_handler_of_its_kind() -> None:
    """A job may carry a Task: the worker runs its kind's handler, not the orchestrator."""
    from vgkit.queue import JobResult, Task, TaskRun

    q = local(max_attempts=1)
    seen: list[dict[str, object]] = []

    async def double(run: TaskRun) -> JobResult:
        seen.append(run.task.args)
        value = int(run.task.args["n"])
        return JobResult(
            job_id=run.claim.job_id, session_id="", worker=run.worker, ok=True, makespan=0.0,
            output={"doubled": 2 * value},
        )  # fmt: skip

    async def refuse(run: TaskRun) -> JobResult:
        return JobResult(
            job_id=run.claim.job_id, session_id="", worker=run.worker, ok=False, makespan=0.0,
            failures={"math.root": "negative input"},
        )  # fmt: skip

    ok = await q.submit(Task(task="math.double", args={"n": 21}, label="double 21"))
    unknown = await q.submit(Task(task="math.halve", args={"n": 4}))
    refused = await q.submit(Task(task="math.root", args={"n": -1}))
    plain = await q.submit(req("still plans"))
    worker = Worker(
        q, config=WorkerConfig(max_jobs=4), metrics=MetricsRegistry(),
        tasks={"math.double": double, "math.root": refuse},
    )  # fmt: skip
    await worker.run()
    result = await q.result(ok)
    assert result is not None and result.output == {"doubled": 42} and seen == [{"n": 21}]
    assert (await q.status(ok)).summary().split("  ")[-1] == "[math.double] double 21"
    dead = await q.status(unknown)
    assert dead.status is JobStatus.DEAD
    assert "has no handler for task 'math.halve' (it has: math.double, math.root)" in (
        dead.error or ""
    )
    # A task's failure is named after its kind, not reported as a failed generation.
    assert (await q.status(refused)).error == "task math.root failed: math.root: negative input"
    plans = await q.result(plain)
    assert plans is not None and plans.plans  # a request still runs through the orchestrator
    with pytest.raises(InvalidRequestError, match="pattern"):
        Task(task="Not A Kind")
