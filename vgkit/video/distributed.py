"""Distributed rendering: each shot clip a job on the Redis queue, shared through Redis.

``vgkit submit TOPIC --render`` (or :func:`submit_render`) queues a ``render``
task. The ``vgkit worker`` that takes it generates the plans, speaks the
narration and, for every shot and transition clip not in the clip cache, puts
a ``render.clip`` job on the **render queue** (a :class:`~vgkit.queue.RedisJobQueue`
under ``<prefix>render:``, beside the job queue). Every worker taking render
work (``--render-jobs``, default 1) consumes that queue: it renders the clip
on its own worker processes, keeps it in its clip cache and stores it in the
shared tier (:mod:`vgkit.video.shared`, entries under a size limit). The
render's worker fetches each finished clip from Redis and, once every clip is
there, mixes the soundtrack and muxes the video by stream copy::

    submit --render -> [render task] generate, narrate, submit clips ... mux -> MP4
                              |  render.clip x N (priority high)  ^
                              v                                   | fetch (Redis)
                        [any worker] render clip -> clip cache -> shared tier

A clip job is a job like any other: a worker that dies mid-clip (SIGKILL,
power loss) stops heart-beating, and after the visibility timeout another
worker reclaims the job and renders the clip; a clip job that fails for good,
or a clip over the shared tier's size limit, is rendered by the render's own
worker. Clip jobs are submitted with the idempotency key
``<render id>:<node>`` (the render id is the render task's job id), so a
render task re-run after its worker died finds the clips already done.
Everything on the queue and in Redis is JSON or plain bytes; nothing is pickled.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vgkit.config import settings
from vgkit.errors import InvalidRequestError, RenderError
from vgkit.models import VideoPlan, VideoRequest
from vgkit.queue.base import QueueConfig
from vgkit.queue.jobs import JobResult, JobStatus, Priority, Task
from vgkit.queue.redis import RedisJobQueue
from vgkit.resource import AsyncResource
from vgkit.video.cache import ClipEntry
from vgkit.video.graph import RenderConfig, RenderSession, clip_key
from vgkit.video.narration import DEFAULT_VOICE, check_voice
from vgkit.video.shared import DEFAULT_SHARE_LIMIT

if TYPE_CHECKING:
    from vgkit.queue.worker import TaskHandler, TaskRun, Worker

__all__ = [
    "CLIP_TASK",
    "RENDER_TASK",
    "ClipDispatch",
    "RenderService",
    "render_queue",
    "render_task",
    "submit_render",
]

log = logging.getLogger("vgkit.video")

#: Task kind: generate a request's plans (or take given plans) and render them.
RENDER_TASK = "render"
#: Task kind: one shot or transition clip of a distributed render.
CLIP_TASK = "render.clip"
#: Longest wait for a clip job of an idle clip worker (seconds; see RenderService).
STOP_POLL = 0.25


def render_queue(
    redis_url: str, key_prefix: str | None = None, config: QueueConfig | None = None
) -> RedisJobQueue:
    """The queue of clip jobs: a RedisJobQueue under ``<prefix>render:`` at ``redis_url``."""
    prefix = key_prefix if key_prefix is not None else settings().key_prefix
    return RedisJobQueue(redis_url, key_prefix=prefix + "render:", config=config)


def render_task(
    source: VideoRequest | VideoPlan | Sequence[VideoPlan],
    *,
    preview: bool = False,
    voice: str | None = DEFAULT_VOICE,
    captions: bool = True,
    out_dir: str | os.PathLike[str] | None = None,
) -> Task:
    """The ``render`` task for ``source``: a request (generated, then rendered) or plans.

    ``out_dir``: where the worker writes ``PLATFORM.mp4`` (a path on the worker's
    machine; default ``$VGKIT_CACHE_DIR/videos/<job id>/`` there). The voice is
    checked here (VoiceError), not after the job waited its turn.
    """
    if voice is not None:
        check_voice(voice)
    args: dict[str, Any] = {
        "preset": "preview" if preview else "final",
        "voice": voice,
        "captions": captions,
        "out_dir": str(out_dir) if out_dir is not None else None,
    }
    if isinstance(source, VideoRequest):
        return Task(task=RENDER_TASK, args=args, request=source)
    plans = [source] if isinstance(source, VideoPlan) else list(source)
    if not plans or not all(isinstance(p, VideoPlan) for p in plans):
        raise InvalidRequestError(
            "a render task takes a VideoRequest, a VideoPlan or a list of plans"
        )
    args["plans"] = [p.model_dump(mode="json") for p in plans]
    return Task(task=RENDER_TASK, args=args, request=plans[0].request)


async def submit_render(
    queue: RedisJobQueue,
    source: VideoRequest | VideoPlan | Sequence[VideoPlan],
    *,
    priority: Priority | str = Priority.NORMAL,
    idempotency_key: str | None = None,
    **options: Any,
) -> str:
    """Queue a render (options as :func:`render_task`); the job id.

    ``vgkit worker`` processes take it; its result's ``videos`` names the files.
    """
    task = render_task(source, **options)
    return await queue.submit(task, priority=priority, idempotency_key=idempotency_key)


class ClipDispatch:
    """The render's side of a distributed render: clip jobs out, clip entries back."""

    def __init__(self, session: RenderSession, queue: RedisJobQueue, render_id: str) -> None:
        self.session = session
        self.queue = queue
        self.render_id = render_id
        self.jobs: dict[str, str] = {}
        """node -> its clip job's id."""

    @classmethod
    async def open(cls, session: RenderSession) -> ClipDispatch:
        config = session.config
        assert config.redis_url is not None
        queue = render_queue(config.redis_url, session.prefix)
        try:
            await queue.stats()  # Redis is there, or one line now
        except BaseException:
            await queue.aclose()
            raise
        render_id = config.render_id or f"r-{os.urandom(6).hex()}"
        return cls(session, queue, render_id)

    async def clip(self, node: str, key: str, spec: dict[str, Any]) -> ClipEntry | None:
        """The clip of ``node``, rendered by whichever worker takes its job; None: render here."""
        task = Task(
            task=CLIP_TASK,
            args={"spec": spec, "key": key, "node": node},
            label=f"{node} of {self.render_id}",
        )
        job_id = await self.queue.submit(
            task, priority=Priority.HIGH, idempotency_key=f"{self.render_id}:{node}"
        )
        self.jobs[node] = job_id
        try:
            job = await self.queue.wait(job_id)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.queue.cancel(job_id))
            raise
        if job.status is not JobStatus.SUCCEEDED:
            log.warning("%s: clip job %s is %s; rendering it here", node, job_id, job.status.value)
            return None
        result = await self.queue.result(job_id)
        output = result.output if result is not None else {}
        if output.get("key") != key:
            log.warning(
                "%s: worker rendered %s, not %s (another renderer version); rendering it here",
                node, str(output.get("key"))[:12], key[:12],
            )  # fmt: skip
            return None
        entry = await self.session.lookup(key)
        if entry is None:
            log.info("%s: clip not in the shared tier (%s bytes); rendering it here",
                     node, output.get("bytes"))  # fmt: skip
            return None
        if result is not None:
            self.session.workers[node] = result.worker
        return entry

    @contextlib.asynccontextmanager
    async def helping(self) -> AsyncIterator[None]:
        """While inside, this process takes clip jobs too (``RenderConfig(help=True)``)."""
        if not self.session.config.help:
            yield
            return
        from vgkit.queue.worker import Worker, WorkerConfig

        name = f"{self.render_id}-helper-{os.getpid()}"
        worker = Worker(
            self.queue,
            config=WorkerConfig(
                concurrency=self.session.config.workers, name=name, grace=0, publish_events=False
            ),
            tasks={CLIP_TASK: lambda run: serve_clip(self.session, run)},
        )
        task = asyncio.create_task(worker.run())
        try:
            yield
        finally:
            worker.stop(now=True)
            await asyncio.gather(task, return_exceptions=True)

    async def aclose(self) -> None:
        await self.queue.aclose()


async def serve_clip(session: RenderSession, run: TaskRun) -> JobResult:
    """Run one ``render.clip`` job: the clip from the cache, or rendered, then shared."""
    started = time.perf_counter()
    args = run.task.args
    try:
        spec, expected, node = dict(args["spec"]), str(args["key"]), str(args["node"])
    except (KeyError, TypeError) as exc:
        raise RenderError(f"a render.clip task needs spec, key and node: {exc}") from None
    key = clip_key(spec)
    output: dict[str, Any] = {"key": key, "node": node}
    if key != expected:
        # Another renderer or PyAV version: this worker's pixels are not the ones asked
        # for. Say so; the render's worker draws the clip itself.
        output.update(shared=False, reason="renderer version differs")
        return _task_result(run, started, output=output)
    entry = await session.lookup(key)
    hit = entry is not None
    if entry is None:
        entry = await session.encode_clip(spec, key, node, f"job-{run.claim.job_id}")
    # The render's worker fetches it from Redis: make sure it is there (a hit in this
    # machine's directory may never have been shared, or Redis may have evicted it).
    shared = session.shared is not None and (
        await session.shared.contains(key) or await session.shared.store(entry)
    )
    output.update(
        shared=shared, hit=hit, bytes=entry.size, frames=entry.meta.get("frames"),
        seconds=round(time.perf_counter() - started, 4),
    )  # fmt: skip
    return _task_result(run, started, output=output)


def _task_result(run: TaskRun, started: float, **fields: Any) -> JobResult:
    """The result of a task that ran without the orchestrator (no session, no agent counts)."""
    return JobResult(
        job_id=run.claim.job_id,
        session_id="",
        worker=run.worker,
        ok=True,
        makespan=round(time.perf_counter() - started, 6),
        **fields,
    )


class RenderService(AsyncResource):
    """What a ``vgkit worker`` needs to take render work: the handlers of both task kinds.

    ``jobs``: clip renders at once (one render worker process each). Clips go to
    the clip cache at ``cache_dir`` (default ``$VGKIT_CACHE_DIR/clips``) and,
    under ``share_limit`` bytes, to Redis; render tasks write their videos under
    ``videos_dir`` (default ``$VGKIT_CACHE_DIR/videos``) unless the task names a
    directory. ``queue_config`` is the render queue's (visibility timeout, retries).
    """

    def __init__(
        self,
        redis_url: str,
        *,
        key_prefix: str | None = None,
        jobs: int = 1,
        cache_dir: Path | None = None,
        videos_dir: Path | None = None,
        share_limit: int = DEFAULT_SHARE_LIMIT,
        queue_config: QueueConfig | None = None,
    ) -> None:
        self.redis_url = redis_url
        self.key_prefix = key_prefix if key_prefix is not None else settings().key_prefix
        self.jobs = jobs
        self.cache_dir = cache_dir
        self.videos_dir = videos_dir or settings().cache_dir / "videos"
        self.share_limit = share_limit
        # An idle clip worker blocks for a claim at most this long: it stops after the
        # job worker does (whose render jobs wait on clips), so it must stop quickly.
        config = queue_config or QueueConfig()
        config = dataclasses.replace(config, poll_interval=min(config.poll_interval, STOP_POLL))
        self.queue = render_queue(redis_url, self.key_prefix, config)
        self._session: RenderSession | None = None

    async def start(self) -> None:
        config = RenderConfig(
            voice=None,
            jobs=max(1, self.jobs),
            cache_dir=self.cache_dir,
            redis_url=self.redis_url,
            key_prefix=self.key_prefix,
            share_limit=self.share_limit,
        )
        self._session = await RenderSession.open(config)

    @property
    def session(self) -> RenderSession:
        if self._session is None:
            raise RenderError("the render service is not started: use it in `async with`")
        return self._session

    @property
    def tasks(self) -> dict[str, TaskHandler]:
        """The handlers for ``Worker(tasks=...)``: ``render`` and ``render.clip``."""
        return {RENDER_TASK: self.render, CLIP_TASK: self.clip}

    def clip_worker(self, name: str, *, metrics: Any = None) -> Worker:
        """A worker on the render queue taking ``jobs`` clips at once."""
        from vgkit.queue.worker import Worker, WorkerConfig

        return Worker(
            self.queue,
            config=WorkerConfig(concurrency=max(1, self.jobs), name=name, publish_events=False),
            tasks={CLIP_TASK: self.clip},
            metrics=metrics,
        )

    async def clip(self, run: TaskRun) -> JobResult:
        return await serve_clip(self.session, run)

    async def render(self, run: TaskRun) -> JobResult:
        """Run a ``render`` task: generate (unless it carries plans), render distributed."""
        started = time.perf_counter()
        args = run.task.args
        out_dir = Path(args.get("out_dir") or self.videos_dir / run.claim.job_id)
        config = RenderConfig(
            preset=str(args.get("preset", "final")),
            voice=args.get("voice", DEFAULT_VOICE),
            captions=bool(args.get("captions", True)),
            out_dir=out_dir,
            jobs=1,  # the soundtrack and the mux; the clips are queue jobs
            cache_dir=self.cache_dir,
            redis_url=self.redis_url,
            key_prefix=self.key_prefix,
            share_limit=self.share_limit,
            distributed=True,
            # This process's clip worker (if any) takes clips; a render must not take
            # a second share of the CPU for them.
            help=False,
            render_id=run.claim.job_id,
        )
        if "plans" not in args:
            if run.task.request is None:
                raise InvalidRequestError("a render task needs a request or plans")
            orchestrator = run.orchestrator.with_render(config)
            generated = await orchestrator.run(run.task.request, on_event=run.on_event)
            result = JobResult.from_generation(run.claim.job_id, run.worker, generated)
            return result.model_copy(
                update={"output": {"render_cache_hits": list(generated.render_cache_hits)}}
            )
        plans = [VideoPlan.model_validate(p) for p in args["plans"]]
        async with await RenderSession.open(config) as session:
            jobs = [session.add(p, out_dir / f"{p.platform.value}.mp4") for p in plans]
            await session.run()
            videos = {job.platform: str(session.output(job).path) for job in jobs}
            output = {
                "rendered": list(session.rendered),
                "cache_hits": list(session.hits),
                "clip_jobs": dict(session.remote.jobs) if session.remote else {},
                "clip_workers": dict(session.workers),
            }
        return _task_result(
            run, started, plans={p.platform: p for p in plans}, videos=videos, output=output
        )

    async def aclose(self) -> None:
        try:
            if self._session is not None:
                await self._session.aclose()
        finally:
            await self.queue.aclose()
