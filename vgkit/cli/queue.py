"""``vgkit worker``, ``vgkit submit``, ``vgkit jobs``, ``vgkit cancel`` and ``vgkit dlq``.

All of them talk to the Redis job queue named by ``--redis`` (default
``VGKIT_REDIS_URL``) under ``--key-prefix`` (default ``VGKIT_KEY_PREFIX``).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from vgkit.cli.generate import (
    add_request_arguments,
    cached_backend,
    orchestrator_from,
    request_from,
    trace_file,
    write_plans,
    write_trace,
)
from vgkit.config import settings
from vgkit.errors import ConfigError, JobStateError
from vgkit.events import (
    ArtifactReady,
    NodeFinished,
    NodeStarted,
    Progress,
    QualityReady,
    RunFinished,
    RunStarted,
)
from vgkit.executors import EXECUTORS
from vgkit.metrics import MetricsServer, default_registry
from vgkit.models import VideoRequest
from vgkit.plan_cache import CacheIntegration
from vgkit.queue.base import (
    DEFAULT_BACKOFF,
    DEFAULT_FAIRNESS,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_VISIBILITY_TIMEOUT,
    QueueConfig,
)
from vgkit.queue.jobs import (
    Job,
    JobEvent,
    JobStatus,
    Priority,
    QueueEvent,
    Task,
)
from vgkit.queue.redis import RedisJobQueue
from vgkit.queue.worker import DEFAULT_CONCURRENCY, DEFAULT_GRACE, Worker, WorkerConfig

if TYPE_CHECKING:
    from vgkit.video.distributed import RenderService

#: The narration voice of a render (vgkit.video.narration.DEFAULT_VOICE, without importing it).
DEFAULT_VOICE = "en-us"

#: Where ``vgkit worker`` serves ``/metrics`` unless told otherwise (127.0.0.1 only).
DEFAULT_METRICS_PORT = 9180


def add_queue_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--redis", metavar="URL", help="Redis of the queue (VGKIT_REDIS_URL)")
    parser.add_argument("--key-prefix", metavar="PREFIX", help="key prefix (VGKIT_KEY_PREFIX)")


def queue_from(args: argparse.Namespace, config: QueueConfig | None = None) -> RedisJobQueue:
    url = args.redis or settings().redis_url
    if not url:
        raise ConfigError("no Redis for the job queue: pass --redis URL or set VGKIT_REDIS_URL")
    return RedisJobQueue(url, key_prefix=args.key_prefix, config=config)


def run_with_queue(
    args: argparse.Namespace,
    body: Callable[[RedisJobQueue], Awaitable[int]],
    config: QueueConfig | None = None,
) -> int:
    """Run ``body`` with the queue the arguments name, closing it afterwards."""

    async def go() -> int:
        async with queue_from(args, config) as queue:
            return await body(queue)

    return asyncio.run(go())


def _clock(ts: float | None) -> str:
    return "-" if ts is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def describe(event: QueueEvent) -> str:
    """One line per event, for ``--follow``."""
    if isinstance(event, JobEvent):
        line = f"job {event.status.value}"
        if event.attempt:
            line += f" (attempt {event.attempt}{' on ' + event.worker if event.worker else ''})"
        if event.retry_at is not None:
            line += f", retry at {_clock(event.retry_at)}"
        return line + (f": {event.error}" if event.error else "")
    if isinstance(event, RunStarted):
        platforms = ", ".join(p.value for p in event.platforms)
        return f"run {event.session_id}: {event.nodes} nodes for {platforms}"
    if isinstance(event, NodeStarted):
        return f"  started  {event.node}"
    if isinstance(event, NodeFinished):
        took = "-" if event.duration is None else f"{event.duration:.3f} s"
        cache = {True: "  cache hit", False: "  cache miss", None: ""}[event.cache_hit]
        error = f"  {event.error}" if event.error else ""
        return f"  {event.status:<8} {event.node:<28} {took:>9}{cache}{error}"
    if isinstance(event, Progress):
        return f"  {event.percent:5.1f}% ({event.done}/{event.total})"
    if isinstance(event, ArtifactReady):
        details = " ".join(f"{k}={v}" for k, v in event.summary.items())
        return f"  artifact {event.node}: {event.artifact_type} {details}".rstrip()
    if isinstance(event, QualityReady):
        verdict = "pass" if event.report.passed else "FAIL"
        return f"  quality  {event.platform.value}: {event.report.overall:.2f} ({verdict})"
    if isinstance(event, RunFinished):
        return f"run {'ok' if event.ok else 'FAILED'}: makespan {event.makespan:.3f} s"
    return f"  {event.type}"


async def follow(queue: RedisJobQueue, job_id: str) -> int:
    """Print a job's events until it ends; 0 if it succeeded."""
    status: JobStatus | None = None
    async for event in queue.follow(job_id):
        print(describe(event), flush=True)
        if isinstance(event, JobEvent):
            status = event.status
    return 0 if status is JobStatus.SUCCEEDED else 1


# -- vgkit worker -------------------------------------------------------------


def cmd_worker(args: argparse.Namespace) -> int:
    config = QueueConfig(
        max_attempts=args.max_attempts,
        backoff=args.backoff,
        backoff_max=max(args.backoff, 60.0),
        visibility_timeout=args.visibility_timeout,
        fairness=args.fairness or None,
    )
    worker_config = WorkerConfig(
        concurrency=args.concurrency,
        name=args.name,
        grace=args.grace,
        max_jobs=args.max_jobs,
        publish_events=not args.no_events,
    )
    registry = default_registry()
    # ``--agent-concurrency`` caps agent calls per run; ``--concurrency`` is jobs.
    run_args = argparse.Namespace(**{**vars(args), "concurrency": args.agent_concurrency})
    cache: CacheIntegration | None = None
    if not args.no_cache:
        # The layered cache: L1 on this machine's disk, L2 on the queue's Redis,
        # under the queue's key prefix so one prefix holds one deployment.
        cfg = settings()
        if args.key_prefix:
            cfg = dataclasses.replace(cfg, key_prefix=args.key_prefix)
        cache = CacheIntegration.from_settings(
            cfg, redis_url=args.redis or cfg.redis_url, metrics=registry
        )
        orchestrator = orchestrator_from(
            run_args, metrics=registry, backend=cached_backend(run_args, cache), cache=cache
        )
    else:
        orchestrator = orchestrator_from(run_args, metrics=registry)

    async def body(queue: RedisJobQueue) -> int:
        await queue.stats()  # fail now, in one line, if Redis is not there
        async with AsyncExitStack() as stack:
            if cache is not None:
                await stack.enter_async_context(cache)
            from vgkit.video.distributed import RenderService

            # Render jobs and the clips of distributed renders (vgkit submit --render).
            service = RenderService(
                args.redis or settings().redis_url or "",
                key_prefix=args.key_prefix,
                jobs=args.render_jobs,
                videos_dir=Path(args.videos) if args.videos else None,
                queue_config=config,
            )
            await stack.enter_async_context(service)
            return await serve(queue, service)

    async def serve(queue: RedisJobQueue, service: RenderService) -> int:
        worker = Worker(
            queue,
            orchestrator=lambda: orchestrator,
            config=worker_config,
            metrics=registry,
            tasks=service.tasks,
        )
        clips = None
        if args.render_jobs > 0:
            clips = service.clip_worker(f"{worker.name}-clips", metrics=registry)

        async def refresh() -> None:
            await worker.refresh_metrics()

        server = None
        if args.metrics_port:
            server = MetricsServer(registry, port=args.metrics_port, before_scrape=refresh)
            await server.start()
        where = f", metrics {server.url}" if server else ""
        rendering = f", {args.render_jobs} clip(s) at once" if clips is not None else ""
        print(
            f"vgkit worker {worker.name}: consuming {queue.url} "
            f"(concurrency {worker_config.concurrency}{rendering}{where})",
            file=sys.stderr,
            flush=True,
        )
        clip_task = asyncio.create_task(clips.run()) if clips is not None else None
        try:
            stats = await worker.run(handle_signals=True)
        finally:
            if clip_task is not None and clips is not None:
                # After the job worker: its render jobs wait on clips until they finish.
                clips.stop(now=clip_task.done())
                await asyncio.gather(clip_task, return_exceptions=True)
            if server is not None:
                await server.aclose()
        print(stats.summary(worker.name), flush=True)
        if clips is not None:
            print(clips.stats.summary(clips.name), file=sys.stderr, flush=True)
        return 0

    return run_with_queue(args, body, config)


# -- vgkit submit ---------------------------------------------------------------


def cmd_submit(args: argparse.Namespace) -> int:
    request = request_from(args)
    priority = Priority.parse(args.priority)
    payload: VideoRequest | Task = request
    if args.render:
        from vgkit.video.distributed import render_task

        if args.no_voice and args.voice:
            raise ConfigError("--voice and --no-voice contradict each other; drop one")
        payload = render_task(
            request,
            preview=args.preview,
            voice=None if args.no_voice else (args.voice or DEFAULT_VOICE),
            out_dir=args.video_dir,
        )
    elif args.preview or args.voice or args.no_voice or args.video_dir:
        raise ConfigError("--preview, --voice, --no-voice and --video-dir need --render")

    async def body(queue: RedisJobQueue) -> int:
        job_id = await queue.submit(
            payload, priority=priority, idempotency_key=args.idempotency_key
        )
        print(job_id, flush=True)
        return await follow(queue, job_id) if args.follow else 0

    return run_with_queue(args, body)


# -- vgkit jobs, vgkit cancel -------------------------------------------------------


def _details(job: Job) -> list[str]:
    payload = job.request
    request = payload.request if isinstance(payload, Task) else payload
    lines = [
        f"job       {job.id}",
        f"status    {job.status.value} (attempts {job.attempts})",
        f"priority  {job.priority.value}",
    ]
    if isinstance(payload, Task):
        lines.append(f"task      {payload.task}" + (f": {payload.label}" if payload.label else ""))
    if request is not None:
        lines.append(f"topic     {request.topic}")
        lines.append(f"platforms {', '.join(p.value for p in request.platforms)}")
    lines += [
        f"submitted {_clock(job.submitted_at)}"
        + ("" if job.wait_seconds is None else f" (waited {job.wait_seconds:.3f} s)"),
    ]
    if job.idempotency_key:
        lines.append(f"key       {job.idempotency_key}")
    if job.worker:
        lines.append(f"worker    {job.worker}")
    if job.retry_at:
        lines.append(f"retry at  {_clock(job.retry_at)}")
    if job.finished_at:
        lines.append(f"finished  {_clock(job.finished_at)}")
    if job.error:
        lines.append(f"error     {job.error}")
    for a in job.history:
        took = "" if a.finished_at is None else f" {a.finished_at - a.started_at:.3f} s"
        error = f": {a.error}" if a.error else ""
        lines.append(f"  attempt {a.number} on {a.worker}: {a.outcome}{took}{error}")
    return lines


def cmd_jobs(args: argparse.Namespace) -> int:
    status = JobStatus(args.status) if args.status else None
    traces = [trace_file(path) for path in args.trace or ()]  # checked before Redis is asked

    async def body(queue: RedisJobQueue) -> int:
        if args.job_id is None:
            stats = await queue.stats()
            waiting = " · ".join(f"{p.value} {n}" for p, n in stats.waiting.items())
            print(
                f"waiting: {waiting} · running {stats.running} · "
                f"retrying {stats.retrying} · dead {stats.dead}"
            )
            for job in await queue.list(status=status, limit=args.limit):
                print(job.summary())
            return 0
        if args.follow:
            return await follow(queue, args.job_id)
        job = await queue.status(args.job_id)
        result = await queue.result(args.job_id)
        if traces:
            if result is None:
                raise JobStateError(
                    f"job {args.job_id} is {job.status.value} and has no trace to write yet; "
                    f"wait for it (vgkit jobs {args.job_id} --follow), then retry"
                )
            for trace_path in traces:
                print(write_trace(result.trace_frame(), result.trace_id, trace_path))
            return 0
        if args.out:
            if result is None:
                raise JobStateError(
                    f"job {args.job_id} is {job.status.value} and has no result to write; "
                    f"wait for it (vgkit jobs {args.job_id} --follow), then retry"
                )
            written = write_plans(result.plans, Path(args.out))
            print(f"wrote {len(written)} files to {args.out}/: "
                  + "  ".join(p.name for p in written))  # fmt: skip
            return 0
        if args.json:
            shown = orjson.loads(job.to_json())
            shown["result"] = result.model_dump(mode="json") if result is not None else None
            print(orjson.dumps(shown, option=orjson.OPT_INDENT_2).decode())
            return 0
        print("\n".join(_details(job)))
        if result is not None:
            print(f"result    makespan {result.makespan:.3f} s on {result.worker}")
            for platform, plan in result.plans.items():
                quality = f"quality {plan.quality.overall:.2f}" if plan.quality else "no quality"
                print(f"  {platform.value:<16} {plan.duration:>7g} s · {quality} · {plan.title}")
            for platform_name, path in result.videos.items():
                print(f"video     {platform_name:<16} {path}  (on {result.worker})")
        return 0

    return run_with_queue(args, body)


def cmd_cancel(args: argparse.Namespace) -> int:
    async def body(queue: RedisJobQueue) -> int:
        before = await queue.status(args.job_id)
        if before.done:
            print(f"job {args.job_id} is already {before.status.value}; nothing to cancel")
            return 0
        status = await queue.cancel(args.job_id)
        if status is JobStatus.CANCELLED:
            print(f"job {args.job_id} cancelled")
        elif status is JobStatus.RUNNING:
            print(f"job {args.job_id} is running: its worker stops it at the next heartbeat")
        else:
            print(f"job {args.job_id} is already {status.value}; nothing to cancel")
        return 0

    return run_with_queue(args, body)


# -- vgkit dlq ----------------------------------------------------------------


def cmd_dlq(args: argparse.Namespace) -> int:
    async def body(queue: RedisJobQueue) -> int:
        if args.action == "list":
            letters = await queue.dead_letters(limit=args.limit)
            for d in letters:
                print(
                    f"{d.job_id}  {d.priority.value:<6} {d.attempts} attempts  "
                    f"{_clock(d.dead_at)}  {d.error}"
                )
            print(f"{len(letters)} dead letter(s)", file=sys.stderr)
        elif args.action == "retry":
            if not args.job_id:
                raise ConfigError("dlq retry needs a job id: vgkit dlq retry JOB_ID")
            job = await queue.retry_dead(args.job_id)
            print(f"job {job.id} queued again (priority {job.priority.value})")
        else:
            print(f"purged {await queue.purge_dead()} dead job(s)")
        return 0

    return run_with_queue(args, body)


# -- wiring ------------------------------------------------------------------


def _positive(kind: type[Any]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, not {text!r}") from None
        if value < 0:
            raise argparse.ArgumentTypeError(f"must not be negative, not {text}")
        return value

    return parse


def register(sub: Any) -> None:
    worker = sub.add_parser("worker", help="consume queued jobs and run them")
    add_queue_arguments(worker)
    worker.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        help=f"jobs held at once (default {DEFAULT_CONCURRENCY})",
    )
    worker.add_argument("--name", help="consumer name (default host-pid-random)")
    worker.add_argument(
        "--metrics-port",
        type=_positive(int),
        default=DEFAULT_METRICS_PORT,
        help=f"serve /metrics on 127.0.0.1:PORT (default {DEFAULT_METRICS_PORT}; 0 disables)",
    )
    worker.add_argument(
        "--visibility-timeout",
        type=float,
        default=DEFAULT_VISIBILITY_TIMEOUT,
        help="seconds without a heartbeat before another worker reclaims a job",
    )
    worker.add_argument(
        "--max-attempts",
        type=int,
        default=DEFAULT_MAX_ATTEMPTS,
        help="runs before a failing job goes to the dead letters",
    )
    worker.add_argument(
        "--backoff",
        type=_positive(float),
        default=DEFAULT_BACKOFF,
        help="seconds before the first retry (doubling after)",
    )
    worker.add_argument(
        "--fairness",
        type=_positive(int),
        default=DEFAULT_FAIRNESS,
        help="claims from a higher priority per claim that starts lower (0: strict priority)",
    )
    worker.add_argument(
        "--grace",
        type=_positive(float),
        default=DEFAULT_GRACE,
        help="seconds held jobs get to finish after SIGTERM before handed back",
    )
    worker.add_argument("--max-jobs", type=int, help="exit after finishing this many jobs")
    worker.add_argument("--no-events", action="store_true", help="do not publish progress events")
    worker.add_argument(
        "--no-cache",
        action="store_true",
        help="run without the layered cache (default: L1 on disk + L2 on the queue's Redis)",
    )
    worker.add_argument(
        "--render-jobs",
        type=_positive(int),
        default=1,
        metavar="N",
        help="shot clips of distributed renders rendered at once here (default 1; "
        "0: run render jobs but leave their clips to other workers)",
    )
    worker.add_argument(
        "--videos",
        metavar="DIR",
        help="where render jobs write their videos (default $VGKIT_CACHE_DIR/videos/JOB_ID)",
    )
    worker.add_argument("--executor", default="eager", help=" | ".join(EXECUTORS))
    worker.add_argument("--agent-concurrency", type=int, help="max agent calls in flight per job")
    worker.add_argument("--cost", metavar="PROFILE", help="add seeded agent latency (experiments)")
    worker.add_argument("--time-scale", type=float, default=0.01, help="multiplier for --cost")
    worker.set_defaults(handler=cmd_worker)

    submit = sub.add_parser("submit", help="queue a generation job; prints its id")
    add_request_arguments(submit)
    add_queue_arguments(submit)
    submit.add_argument("--priority", default="normal", help="high | normal | low")
    submit.add_argument(
        "--idempotency-key",
        metavar="KEY",
        help="submitting the same key again returns the same job",
    )
    submit.add_argument("--follow", action="store_true", help="print its events until it ends")
    submit.add_argument(
        "--render",
        action="store_true",
        help="also render every plan into a video; the shots are shared by the workers",
    )
    submit.add_argument(
        "--preview", action="store_true", help="with --render: half size, fastest preset"
    )
    submit.add_argument("--voice", metavar="V", help="with --render: the eSpeak NG voice")
    submit.add_argument("--no-voice", action="store_true", help="with --render: no narration")
    submit.add_argument(
        "--video-dir",
        metavar="DIR",
        help="with --render: where the worker writes PLATFORM.mp4 "
        "(a path on its machine; default $VGKIT_CACHE_DIR/videos/JOB_ID there)",
    )
    submit.set_defaults(handler=cmd_submit)

    jobs = sub.add_parser("jobs", help="list queued jobs, or show one")
    jobs.add_argument("job_id", nargs="?", metavar="ID")
    add_queue_arguments(jobs)
    jobs.add_argument("--status", choices=[s.value for s in JobStatus], help="only these")
    jobs.add_argument("--limit", type=int, default=50)
    jobs.add_argument("--follow", action="store_true", help="print the job's events until it ends")
    jobs.add_argument(
        "--json", action="store_true", help="the job as JSON, with its result (null until done)"
    )
    jobs.add_argument(
        "--out", metavar="DIR", help="write a finished job's plans here (JSON, Markdown, SRT)"
    )
    jobs.add_argument(
        "--trace",
        metavar="FILE",
        action="append",
        help="write a finished job's trace (the worker's spans and its agents'): .csv, .json "
        "or a waterfall as .png or .svg",
    )
    jobs.set_defaults(handler=cmd_jobs)

    cancel = sub.add_parser("cancel", help="cancel a queued or running job")
    cancel.add_argument("job_id", metavar="ID")
    add_queue_arguments(cancel)
    cancel.set_defaults(handler=cmd_cancel)

    dlq = sub.add_parser("dlq", help="the dead letters: list | retry ID | purge")
    dlq.add_argument("action", choices=["list", "retry", "purge"])
    dlq.add_argument("job_id", nargs="?", metavar="ID")
    add_queue_arguments(dlq)
    dlq.add_argument("--limit", type=int, default=100)
    dlq.set_defaults(handler=cmd_dlq)
