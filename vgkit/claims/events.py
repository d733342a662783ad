"""Event architecture: priorities, dead letters and progress events of the job queue."""

from __future__ import annotations

import statistics

from vgkit.agents import AgentCall, TemplateBackend
from vgkit.claims.base import Measurement
from vgkit.claims.registry import claim_section
from vgkit.metrics import MetricsRegistry
from vgkit.models import Model, VideoRequest
from vgkit.orchestrator import Orchestrator
from vgkit.reports.tables import format_duration


@claim_section("events", "Event-driven architecture", order=60, parameters={"jobs": "queue_jobs"})
async def measure_events(*, jobs: int = 30) -> list[Measurement]:
    """The event queue the reference lists as missing: priorities, dead letters, events."""
    from vgkit.queue import LocalJobQueue, Priority, QueueConfig, Worker, WorkerConfig

    async with LocalJobQueue(config=QueueConfig(max_attempts=2, backoff=0.01)) as queue:
        priorities = [Priority.LOW, Priority.NORMAL, Priority.HIGH]
        ids = {
            await queue.submit(
                VideoRequest(topic=f"Queued topic {i}", platforms=["tiktok"]),
                priority=priorities[i % 3],
            ): priorities[i % 3]
            for i in range(jobs)
        }
        worker = Worker(
            queue, config=WorkerConfig(concurrency=1, max_jobs=jobs), metrics=MetricsRegistry()
        )
        await worker.run()
        waits: dict[Priority, list[float]] = {p: [] for p in priorities}
        events = 0
        for job_id, priority in ids.items():
            wait = (await queue.status(job_id)).wait_seconds
            if wait is not None:
                waits[priority].append(wait)
        async for _ in queue.follow(next(iter(ids))):
            events += 1
        medians = {p: statistics.median(w) for p, w in waits.items() if w}
        dead = await _dead_letter_demo()
    section = "Event Architecture"
    ordered = medians[Priority.HIGH] < medians[Priority.NORMAL] < medians[Priority.LOW]
    return [
        Measurement(
            section=section,
            claim="Missing: priority queuing",
            metric="median wait of high-priority jobs",
            measured=medians[Priority.HIGH],
            unit="s",
            baseline=medians[Priority.LOW],
            baseline_label="median wait of low-priority jobs",
            target="high < normal < low",
            met=ordered,
            better="lower",
            notes=(
                f"normal-priority median {format_duration(medians[Priority.NORMAL])}; "
                f"{jobs} jobs, one worker"
            ),
        ),
        Measurement(
            section=section,
            claim="Missing: dead letter handling",
            metric="jobs in the dead-letter list after max_attempts of an always-failing agent",
            measured=dead,
            unit="jobs",
            target="1",
            met=dead == 1,
        ),
        Measurement(
            section=section,
            claim="Missing: dedicated event queue (progress events per job)",
            metric="events a follower read for one finished job",
            measured=events,
            unit="events",
            target="> 0",
            met=events > 0,
            better="higher",
        ),
    ]


class _Broken(TemplateBackend):
    async def run(self, call: AgentCall) -> Model:
        if call.spec.name == "script_writer":
            raise RuntimeError("script writer is down")
        return await super().run(call)


async def _dead_letter_demo() -> int:
    from vgkit.queue import LocalJobQueue, QueueConfig, Worker, WorkerConfig

    async with LocalJobQueue(config=QueueConfig(max_attempts=2, backoff=0.01)) as queue:
        await queue.submit(VideoRequest(topic="Doomed", platforms=["tiktok"]))
        worker = Worker(
            queue,
            orchestrator=lambda: Orchestrator(backend=_Broken(), metrics=MetricsRegistry()),
            config=WorkerConfig(concurrency=1, max_jobs=2),
            metrics=MetricsRegistry(),
        )
        await worker.run()
        return len(await queue.dead_letters())
