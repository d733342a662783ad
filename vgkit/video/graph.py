"""The render graph: per platform, narration, one node per shot and transition, soundtrack, mux.

For each plan the graph has::

    narration[p]                 speech per segment (cached per segment) and word times
    shot[p][k]      <- narration[p]               one closed-GOP clip per shot
    transition[p][k]<- shot[p][k], shot[p][k+1]   a clip for each transition window
    soundtrack[p]   <- narration[p]               narration + ducked bed at -14 LUFS, AAC
    mux[p]          <- soundtrack[p], every shot and transition of p

and runs through :func:`vgkit.scheduler.run_graph` (the eager executor: a node
starts when its parents are done, longest remaining work first), so renders
get the same timing records and Gantt charts as generation. Shots need the
narration because captions are burned in at the spoken words' times.
(A transition draws both shots' frames itself; it follows them in the graph
as the pipeline's design has it, which costs nothing: the window is short.)

Each clip's specification is hashed into its cache key before any work: a
hit costs a file check, a miss goes to a :class:`~vgkit.video.pool.WorkerPool`
process. With ``RenderConfig(redis_url=...)`` entries are shared through Redis
(:mod:`vgkit.video.shared`), and with ``distributed=True`` each missing clip is
a job on the render queue for any worker to take (:mod:`vgkit.video.distributed`).
Narration runs apart: each segment is spoken in a small process of its own
(see :mod:`vgkit.video.narration`), started at once, so the shots need not wait
for a render worker to start before their captions are known. The first node to fail
stops the run (the others are cancelled, the workers killed) and its error is
raised; nothing is left at the output paths.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vgkit.config import settings
from vgkit.dag import DAG
from vgkit.errors import AssetError, RenderError, VgkitError
from vgkit.models import VideoPlan
from vgkit.resource import AsyncResource
from vgkit.scheduler import NodeRecord, ScheduleResult, run_graph
from vgkit.video.assets import Asset, load_assets, match_assets
from vgkit.video.cache import ClipCache, ClipEntry, file_sha256, spec_key
from vgkit.video.captions import (
    CaptionStyle,
    Cue,
    Word,
    build_cues,
    cues_srt,
    estimated_words,
)
from vgkit.video.encode import FPS, PRESETS, EncodePreset, frame_size
from vgkit.video.look import Look
from vgkit.video.narration import DEFAULT_VOICE, check_voice, speak_segments
from vgkit.video.pool import WorkerCrashed, WorkerPool, default_jobs, os_message
from vgkit.video.shared import DEFAULT_SHARE_LIMIT, SharedClips
from vgkit.video.timeline import Slot, layout
from vgkit.video.transitions import style_of
from vgkit.video.visuals import content_words

if TYPE_CHECKING:
    from vgkit.video.distributed import ClipDispatch

__all__ = [
    "PlanRender",
    "RenderConfig",
    "RenderSession",
    "VideoOutput",
    "check_music",
    "check_writable",
    "clip_key",
    "node_ids",
    "shot_spec",
]


@dataclass(frozen=True, kw_only=True)
class RenderConfig:
    """How to render: the options of ``vgkit render`` (see :func:`vgkit.video.render`).

    ``out_dir`` is where the orchestrator writes ``PLATFORM.mp4`` when it renders
    as part of a run (``Orchestrator(render=RenderConfig(...))``); ``jobs=None``
    is one worker per CPU; ``cache_dir=None`` is ``$VGKIT_CACHE_DIR/clips`` and
    ``cache=False`` keeps nothing (a private directory removed afterwards).

    Across machines: ``redis_url`` (and ``key_prefix``, default ``VGKIT_KEY_PREFIX``)
    shares every cache entry under ``share_limit`` bytes through Redis, so another
    cache directory or machine reuses it. ``distributed=True`` also puts each
    missing shot and transition clip on the render queue at that Redis as a job
    (``vgkit worker`` processes take them); ``help`` lets this process take
    queued clips too while it waits, and ``render_id`` names the render's clip
    jobs (the same id submits the same jobs again, so a re-run reuses them).
    """

    preset: str = "final"
    voice: str | None = DEFAULT_VOICE
    music: Path | None = None
    pad: bool = True
    assets: Path | None = None
    jobs: int | None = None
    cache_dir: Path | None = None
    cache: bool = True
    captions: bool = True
    audio: bool = True
    poster: bool = True
    out_dir: Path = Path()
    redis_url: str | None = None
    key_prefix: str | None = None
    share_limit: int = DEFAULT_SHARE_LIMIT
    distributed: bool = False
    help: bool = True
    render_id: str | None = None

    def __post_init__(self) -> None:
        if self.preset not in PRESETS:
            raise RenderError(f"unknown preset {self.preset!r}; choose from {', '.join(PRESETS)}")
        if self.redis_url is not None and not self.redis_url.startswith(
            ("redis://", "rediss://", "unix://")
        ):
            raise RenderError(
                f"Redis URL must start with redis://, rediss:// or unix://, not {self.redis_url!r}"
            )
        if self.distributed and self.redis_url is None:
            raise RenderError("a distributed render needs redis_url: the Redis of the render queue")
        if self.distributed and self.assets is not None:
            raise RenderError(
                "a distributed render cannot use assets: they are files on this machine only"
            )
        if self.share_limit < 0:
            raise RenderError(f"share_limit must be zero or more bytes, not {self.share_limit}")
        jobs = self.jobs
        if jobs is not None and (not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1):
            raise RenderError(f"jobs must be a positive number of worker processes, not {jobs!r}")

    @property
    def encode(self) -> EncodePreset:
        return PRESETS[self.preset]

    @property
    def workers(self) -> int:
        return self.jobs if self.jobs is not None else default_jobs()


@dataclass(frozen=True)
class VideoOutput:
    """One rendered video and the files beside it."""

    platform: str
    path: Path
    srt: Path
    poster: Path | None
    contact_sheet: Path | None
    duration: float
    """Seconds, as planned (the file is within one frame of it)."""
    width: int
    height: int
    fps: int
    frames: int
    cues: int
    loudness: float | None
    """Integrated loudness of the soundtrack in LUFS (None without audio)."""


def check_writable(directory: Path) -> None:
    """RenderError unless files can be created in ``directory`` (created if missing)."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".vgkit-probe-", dir=directory)
        os.close(fd)
        Path(probe).unlink()
    except OSError as exc:
        raise RenderError(
            f"cannot write to {directory}: {exc.strerror or exc}; "
            "choose an output path you can write"
        ) from None


def check_music(path: Path) -> None:
    """AssetError unless ``path`` is an audio file FFmpeg can decode."""
    import av

    if not path.is_file():
        raise AssetError(f"music file {path} does not exist")
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise AssetError(f"music file {path} has no audio stream; give an audio file")
            next(container.decode(audio=0))
    except AssetError:
        raise
    except Exception as exc:
        raise AssetError(f"cannot read music file {path}: {exc}; give an audio file") from None


@dataclass
class PlanRender:
    """One plan's render: where it goes and what its nodes produced so far."""

    plan: VideoPlan
    out: Path
    look: Look
    size: tuple[int, int]
    slots: list[Slot]
    assets: list[Asset | None]
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    words: list[Word] = field(default_factory=list)
    cues: list[Cue] = field(default_factory=list)
    speech: list[tuple[float, str, str]] = field(default_factory=list)
    """(segment start, pcm path, cache key) per spoken segment."""
    clips: dict[str, tuple[str, str | None, int]] = field(default_factory=dict)
    """node id -> (clip path, thumbnail path, frames)."""
    audio: str | None = None
    loudness: float | None = None

    @property
    def platform(self) -> str:
        return self.plan.platform.value

    @property
    def style(self) -> CaptionStyle:
        return "short" if self.size[1] > self.size[0] else "subtitle"

    def part(self, suffix: str) -> Path:
        """A temporary name next to the output, renamed into place at the end."""
        return self.out.with_name(f".{self.out.stem}.{self.tag}{suffix}.part")

    def sibling(self, suffix: str) -> Path:
        return self.out.with_name(self.out.stem + suffix)


def node_ids(platform: str, slots: Sequence[Slot]) -> list[str]:
    return [f"{s.kind}:{platform}:{s.index}" for s in slots]


def _segment_at(plan: VideoPlan, t: float) -> Any:
    segs = plan.script.segments
    for seg in segs:
        if seg.start - 1e-6 <= t < seg.end - 1e-6:
            return seg
    return segs[-1]


def shot_spec(plan: VideoPlan, position: int, asset: Asset | None = None) -> dict[str, Any]:
    """What the worker needs to draw the shot at ``position`` (in time order) of ``plan``."""
    shot = sorted(plan.storyboard.shots, key=lambda s: s.start)[position]
    segment = _segment_at(plan, shot.start)
    text = f"{segment.text} {shot.description}".lower()
    keywords = [k for k in plan.topic.keywords if k.lower() in shot.description.lower()]
    keywords += [k for k in plan.topic.keywords if k not in keywords]
    kinetic = [k for k in plan.topic.keywords if k.lower() in text][:2]
    kinetic += content_words(segment.title, limit=4)
    seen: list[str] = []
    for word in kinetic:
        if word.lower() not in (s.lower() for s in seen):
            seen.append(word)
    return {
        "index": shot.index,
        "shot_type": shot.shot_type,
        "camera": shot.camera,
        "description": shot.description,
        "start": shot.start,
        "duration": shot.duration,
        "text_overlay": shot.text_overlay,
        "title": segment.title,
        "segment_kind": segment.kind,
        "keywords": keywords[:4],
        "words": seen[:3],
        "asset": asset.spec() if asset is not None else None,
    }


def _keyed(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` as hashed: asset paths replaced by content hashes (same file, same key)."""
    out = dict(spec)
    for key in ("shot", "a", "b"):
        if isinstance(out.get(key), dict) and out[key].get("asset"):
            inner = dict(out[key])
            inner["asset"] = {k: v for k, v in inner["asset"].items() if k != "path"}
            out[key] = inner
    return out


def clip_key(spec: dict[str, Any]) -> str:
    """The clip cache key of a shot or transition clip's spec (what its worker receives)."""
    return spec_key("clip", _keyed(spec))


def _espeak_version() -> str:
    try:
        return importlib.metadata.version("espeakng-loader")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover
        return "unknown"


class RenderSession(AsyncResource):
    """Renders plans: the clip cache, the worker pool and the graph of each plan.

    ``await RenderSession.open(config)`` checks everything that can be checked
    (voice, music, assets, cache directory) before any work; :meth:`add` takes a
    plan and its output path, :meth:`dag` builds the graph of some added plans
    and :meth:`run` runs it. :func:`vgkit.video.render` adds every plan and runs
    one graph; the orchestrator runs each plan's graph as soon as its plan is
    assembled, forwarding the node events. ``aclose(kill=True)`` (after a
    failure or a cancellation) kills the workers and removes every temporary
    file.
    """

    def __init__(
        self,
        config: RenderConfig,
        *,
        assets: Sequence[Asset] = (),
        on_progress: Callable[[str, int, bool], object] | None = None,
    ) -> None:
        self.config = config
        self.assets = list(assets)
        self.on_progress = on_progress
        self._temporary: tempfile.TemporaryDirectory[str] | None = None
        if config.cache:
            directory = config.cache_dir or settings().cache_dir / "clips"
        else:
            self._temporary = tempfile.TemporaryDirectory(prefix="vgkit-render-")
            directory = Path(self._temporary.name)
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RenderError(
                f"cannot create the clip cache {directory}: {exc.strerror}; "
                "set VGKIT_CACHE_DIR or cache_dir to a directory you can write"
            ) from None
        self.cache = ClipCache(directory)
        self.scratch = self.cache.scratch()
        self.pool = WorkerPool(config.workers)
        self.prefix = config.key_prefix if config.key_prefix is not None else settings().key_prefix
        self.shared: SharedClips | None = None
        if config.redis_url is not None:
            self.shared = SharedClips(
                config.redis_url, prefix=self.prefix, limit=config.share_limit
            )
        self.remote: ClipDispatch | None = None
        """Where missing clips go as queue jobs (a distributed render; see :meth:`open`)."""
        self.workers: dict[str, str] = {}
        """node -> the queue worker that rendered its clip (a distributed render)."""
        self.jobs: dict[str, PlanRender] = {}
        self.hits: list[str] = []
        self.rendered: list[str] = []
        self.worker_seconds: dict[str, float] = {}
        self.errors: dict[str, BaseException] = {}
        self._pending: dict[str, int] = {}
        self._closed = False

    @classmethod
    async def open(
        cls,
        config: RenderConfig,
        *,
        on_progress: Callable[[str, int, bool], object] | None = None,
    ) -> RenderSession:
        """A session whose voice, music and assets were checked (VgkitError if not)."""
        if config.voice is not None:
            await asyncio.to_thread(check_voice, config.voice)
        if config.music is not None:
            await asyncio.to_thread(check_music, config.music)
        assets: list[Asset] = []
        if config.assets is not None:
            assets = await asyncio.to_thread(load_assets, config.assets)
        session = await asyncio.to_thread(cls, config, assets=assets, on_progress=on_progress)
        if config.distributed:
            from vgkit.video.distributed import ClipDispatch

            try:
                session.remote = await ClipDispatch.open(session)
            except BaseException:
                await session.aclose(kill=True)
                raise
        return session

    def add(self, plan: VideoPlan, out: Path) -> PlanRender:
        """Take ``plan`` to be rendered into ``out`` (checks ``out``'s directory is writable)."""
        check_writable(out.parent)
        if plan.platform.value in self.jobs:
            raise RenderError(f"a {plan.platform.value} plan is already in this render")
        slots = layout(plan, FPS)
        shots = sorted(plan.storyboard.shots, key=lambda s: s.start)
        texts = [f"{s.description} {s.text_overlay or ''} {s.shot_type}" for s in shots]
        matched: list[Asset | None] = (
            match_assets(self.assets, texts) if self.assets else [None] * len(shots)
        )
        job = PlanRender(
            plan=plan,
            out=out,
            look=Look.for_topic(plan.request.topic, plan.request.seed),
            size=frame_size(plan.resolution, self.config.encode),
            slots=slots,
            assets=matched,
        )
        self.jobs[job.platform] = job
        self._pending[job.platform] = len(slots)
        return job

    # -- the graph ----------------------------------------------------------------

    def dag(self, jobs: Sequence[PlanRender] | None = None) -> tuple[DAG, dict[str, float]]:
        """The render graph of ``jobs`` (default: every plan added) and node costs (frames)."""
        dag = DAG()
        costs: dict[str, float] = {}
        for job in jobs if jobs is not None else list(self.jobs.values()):
            p = job.platform
            narration = f"narration:{p}"
            dag.add(narration, [], cost=1.0, group=p)
            ids = node_ids(p, job.slots)
            shot_ids = {
                s.shot_a: nid for s, nid in zip(job.slots, ids, strict=True) if s.kind == "shot"
            }
            for slot, nid in zip(job.slots, ids, strict=True):
                if slot.kind == "shot":
                    dag.add(nid, [narration], cost=slot.frames, group=p)
                else:
                    deps = [shot_ids[k] for k in (slot.shot_a, slot.shot_b) if k in shot_ids]
                    dag.add(nid, deps or [narration], cost=slot.frames * 2, group=p)
                costs[nid] = float(slot.frames * (2 if slot.kind == "transition" else 1))
            deps = list(ids)
            if self.config.audio:
                # Mixing costs about a fifth of a preview frame per frame of video (120 s of
                # YouTube: 11 s of mix, 57 s of shots): one long node on the critical path,
                # so the eager order starts it beside the first shots, not after the last.
                frames = sum(s.frames for s in job.slots)
                dag.add(f"soundtrack:{p}", [narration], cost=0.2 * frames, group=p)
                deps.append(f"soundtrack:{p}")
            dag.add(f"mux:{p}", deps, cost=10.0, group=p)
        return dag, costs

    async def run(
        self,
        jobs: Sequence[PlanRender] | None = None,
        *,
        on_start: Callable[[str], object] | None = None,
        on_finish: Callable[[NodeRecord], object] | None = None,
    ) -> ScheduleResult:
        """Run the graph of ``jobs``; the first node to fail stops it and its error is raised."""
        dag, costs = self.dag(jobs)
        self.pool.prestart(1)  # every render needs one (the mux); more once narration is done
        if self.remote is not None:
            # Clips wait on queue jobs, not on this machine's workers: submit them all at once.
            async with self.remote.helping():
                return await self._run_graph(dag, costs, None, on_start, on_finish)
        return await self._run_graph(dag, costs, self.config.workers, on_start, on_finish)

    async def _run_graph(
        self,
        dag: DAG,
        costs: dict[str, float],
        concurrency: int | None,
        on_start: Callable[[str], object] | None,
        on_finish: Callable[[NodeRecord], object] | None,
    ) -> ScheduleResult:

        def finished(record: NodeRecord) -> None:
            if on_finish is not None:
                on_finish(record)
            if record.status == "failed":
                raise _Stop(record.node)

        try:
            # At most one node per worker in flight: a node's record then times its work,
            # not its wait for a worker, and the eager order (most frames first) decides
            # who goes next.
            return await run_graph(
                dag,
                self._node,
                costs=costs,
                concurrency=concurrency,
                on_start=on_start,
                on_finish=finished,
            )
        except _Stop as stop:
            raise self._error_of(stop.node) from None

    def output(self, job: PlanRender) -> VideoOutput:
        """What a finished plan's render wrote."""
        return VideoOutput(
            platform=job.platform,
            path=job.out,
            srt=job.sibling(".srt"),
            poster=job.sibling(".poster.png") if self.config.poster else None,
            contact_sheet=job.sibling(".contact.png") if self.config.poster else None,
            duration=job.plan.duration,
            width=job.size[0],
            height=job.size[1],
            fps=FPS,
            frames=sum(s.frames for s in job.slots),
            cues=len(job.cues),
            loudness=job.loudness,
        )

    async def aclose(self, *, kill: bool = False) -> None:
        """Stop the workers (``kill``: at once) and remove temporary files."""
        if self._closed:
            return
        self._closed = True
        try:
            try:
                if self.remote is not None:
                    await self.remote.aclose()
                if self.shared is not None:
                    await self.shared.aclose()
            finally:
                await self.pool.aclose(kill=kill)
        finally:
            if kill:
                self.cleanup_parts()
            shutil.rmtree(self.scratch, ignore_errors=True)
            if self._temporary is not None:
                self._temporary.cleanup()

    async def __aexit__(self, *exc: object) -> None:
        # Leaving by an exception (a failure, a cancellation): kill the workers at once.
        await self.aclose(kill=bool(exc) and exc[0] is not None)

    def _error_of(self, node: str) -> BaseException:
        exc = self.errors.get(node)
        if isinstance(exc, VgkitError):
            return exc
        if isinstance(exc, OSError):
            return RenderError(os_message(exc.errno, exc.filename, str(exc)))
        return RenderError(f"{node} failed: {type(exc).__name__}: {exc}")

    async def _node(self, node: str, parents: Mapping[str, Any]) -> Any:
        kind, platform, *rest = node.split(":")
        job = self.jobs[platform]
        try:
            if kind == "narration":
                return await self._narration(job)
            if kind in {"shot", "transition"}:
                return await self._clip(job, node, kind, int(rest[0]))
            if kind == "soundtrack":
                return await self._soundtrack(job)
            return await self._mux(job)
        except Exception as exc:
            self.errors[node] = exc
            raise

    async def _call(self, op: str, args: dict[str, Any], label: str) -> dict[str, Any]:
        """A worker call; a crashed worker's node is tried once more on a fresh worker."""
        try:
            result = await self.pool.call(op, args, label=label)
        except WorkerCrashed:
            result = await self.pool.call(op, args, label=label)
        self.worker_seconds[label] = float(result.get("seconds", 0.0))
        return result

    # -- nodes -----------------------------------------------------------------------

    async def _narration(self, job: PlanRender) -> int:
        plan = job.plan
        voice = self.config.voice
        if voice is None:
            job.words = estimated_words(plan)
        else:
            version = _espeak_version()
            todo = []
            entries: dict[int, ClipEntry] = {}
            for seg in plan.script.segments:
                spec = {
                    "text": seg.text,
                    "seconds": seg.duration,
                    "voice": voice,
                    "espeak": version,
                }
                key = spec_key("speech", spec)
                entry = await self.lookup(key)
                if entry is not None:
                    entries[seg.index] = entry
                else:
                    out = self.scratch / f"speech-{job.tag}-{seg.index}.pcm"
                    todo.append((seg, key, out))
            if todo:
                segments = [
                    {"text": s.text, "seconds": s.duration, "out": str(out)} for s, _, out in todo
                ]
                infos = await speak_segments(segments, voice, concurrency=self.config.workers)
                for (seg, key, out), info in zip(todo, infos, strict=True):
                    entries[seg.index] = await self.store(key, {"speech.pcm": out}, info)
                self.rendered.append(f"narration:{job.platform}")
            else:
                self.hits.append(f"narration:{job.platform}")
            words = []
            for seg in plan.script.segments:
                entry = entries[seg.index]
                for text, start, end in entry.meta["words"]:
                    words.append(Word(text, seg.start + start, seg.start + end, seg.index))
                job.speech.append((seg.start, str(entry.files["speech.pcm"]), entry.key))
            job.words = words
        job.cues = build_cues(job.words, style=job.style, duration=plan.duration)
        # Now the clips' keys are known: start as many workers as there is work for
        # (a re-render after one edit needs one, not one per CPU).
        misses = sum(
            not self.cache.contains(clip_key(self._clip_spec(job, slot.kind, slot)))
            for slot in job.slots
        )
        if self.remote is None:  # a distributed render's clips are rendered elsewhere
            self.pool.prestart(min(self.config.workers, misses + 1))
        return len(job.words)

    def _clip_spec(self, job: PlanRender, kind: str, slot: Slot) -> dict[str, Any]:
        first_t, end_t = slot.first / FPS, slot.end / FPS
        cues = [c.to_dict() for c in job.cues if c.start < end_t and c.end > first_t]
        spec: dict[str, Any] = {
            "kind": kind,
            "width": job.size[0],
            "height": job.size[1],
            "fps": FPS,
            "preset": self.config.encode.to_dict(),
            "look": job.look.to_dict(),
            "first": slot.first,
            "end": slot.end,
            "captions": {"style": job.style, "cues": cues} if self.config.captions else None,
        }
        if kind == "shot":
            spec["shot"] = shot_spec(job.plan, slot.shot_a, job.assets[slot.shot_a])
        else:
            spec["a"] = (
                shot_spec(job.plan, slot.shot_a, job.assets[slot.shot_a])
                if slot.shot_a >= 0
                else None
            )
            spec["b"] = (
                shot_spec(job.plan, slot.shot_b, job.assets[slot.shot_b])
                if slot.shot_b >= 0
                else None
            )
            spec["style"] = style_of(slot.transition)
        return spec

    async def _clip(self, job: PlanRender, node: str, kind: str, index: int) -> str:
        slot = next(s for s in job.slots if s.kind == kind and s.index == index)
        spec = self._clip_spec(job, kind, slot)
        key = clip_key(spec)
        entry = await self.lookup(key)
        hit = entry is not None
        if entry is None and self.remote is not None:
            entry = await self.remote.clip(node, key, spec)
        if entry is None:
            entry = await self.encode_clip(spec, key, node, f"{job.tag}-{kind}-{index}")
        if hit:
            self.hits.append(node)
        else:
            self.rendered.append(node)
        thumb = entry.files.get("thumb.png")
        job.clips[node] = (str(entry.files["clip.mp4"]), str(thumb) if thumb else None, slot.frames)
        self._pending[job.platform] -= 1
        if self.on_progress is not None:
            self.on_progress(node, slot.frames, hit)
        if not any(self._pending.values()):
            # Only soundtracks and muxes are left: idle workers give back their memory.
            await self.pool.shrink(keep=max(1, len(self.jobs)))
        return key

    async def lookup(self, key: str) -> ClipEntry | None:
        """The cache entry for ``key``: this machine's directory, then the shared tier."""
        entry = self.cache.get(key)
        if entry is None and self.shared is not None:
            entry = await self.shared.fetch(key, self.cache)
        return entry

    async def store(
        self, key: str, files: dict[str, Path], extra: dict[str, Any] | None = None
    ) -> ClipEntry:
        """Keep ``files`` as the entry for ``key`` here, and in the shared tier if there is one."""
        entry = self.cache.put(key, files, extra)
        if self.shared is not None:
            await self.shared.store(entry)
        return entry

    async def encode_clip(self, spec: dict[str, Any], key: str, label: str, tag: str) -> ClipEntry:
        """Draw and encode the clip ``spec`` on a worker of this machine; its cache entry."""
        out_dir = Path(tempfile.mkdtemp(prefix=f"{tag}-", dir=self.scratch))
        args = {**spec, "out_dir": str(out_dir), "thumbnail": spec["kind"] == "shot"}
        result = await self._call("clip", args, label)
        files = {"clip.mp4": Path(result["clip"])}
        if result.get("thumb"):
            files["thumb.png"] = Path(result["thumb"])
        entry = await self.store(key, files, {"frames": result["frames"]})
        shutil.rmtree(out_dir, ignore_errors=True)
        return entry

    async def _soundtrack(self, job: PlanRender) -> str:
        music = self.config.music
        music_hash = None
        if music is not None:
            music_hash = file_sha256(music)
        spec = {
            "duration": job.plan.duration,
            "speech": [(start, key) for start, _, key in job.speech],
            "music": music_hash,
            "pad": self.config.pad,
            "seed": job.look.seed,
        }
        key = spec_key("soundtrack", spec)
        entry = await self.lookup(key)
        if entry is None:
            out = self.scratch / f"audio-{job.tag}.m4a"
            result = await self._call(
                "soundtrack",
                {
                    "duration": job.plan.duration,
                    "segments": [{"start": s, "pcm": p} for s, p, _ in job.speech],
                    "sample_rate": 22050,
                    "music": str(music) if music is not None else None,
                    "pad": self.config.pad,
                    "seed": job.look.seed,
                    "out": str(out),
                },
                f"soundtrack:{job.platform}",
            )
            entry = await self.store(key, {"audio.m4a": out}, {"lufs": result["lufs"]})
            self.rendered.append(f"soundtrack:{job.platform}")
        else:
            self.hits.append(f"soundtrack:{job.platform}")
        job.audio = str(entry.files["audio.m4a"])
        job.loudness = entry.meta.get("lufs")
        return key

    async def _mux(self, job: PlanRender) -> str:
        ids = node_ids(job.platform, job.slots)
        clips = [
            {"path": job.clips[nid][0], "first": slot.first, "frames": slot.frames}
            for nid, slot in zip(ids, job.slots, strict=True)
        ]
        thumbs = []
        shots = sorted(job.plan.storyboard.shots, key=lambda s: s.start)
        for nid, slot in zip(ids, job.slots, strict=True):
            thumb = job.clips[nid][1]
            if slot.kind == "shot" and thumb:
                s = shots[slot.shot_a]
                thumbs.append({"path": thumb, "label": f"#{s.index} {s.start:.1f}s {s.shot_type}"})
        args: dict[str, Any] = {
            "clips": clips,
            "audio": job.audio,
            "out": str(job.part(".mp4")),
        }
        drawn: list[tuple[str, Path]] = []
        if self.config.poster:
            # The poster and contact sheet are cached like clips: an edit that leaves the
            # first shot alone does not draw the poster again (a full-size frame: seconds).
            poster = {
                "shot": shot_spec(job.plan, 0, job.assets[0]),
                "look": job.look.to_dict(),
                "width": job.size[0],
                "height": job.size[1],
                "title": job.plan.title,
            }
            contact = {
                "thumbs": thumbs,
                "look": job.look.to_dict(),
                "title": f"{job.plan.title} · {job.platform} · {len(thumbs)} shots",
            }
            # A thumbnail lives in its clip's entry: the entry's name (its key) stands for it.
            contact_keyed = {
                **contact,
                "thumbs": [{"clip": Path(t["path"]).parent.name, "label": t["label"]}
                           for t in thumbs],
            }  # fmt: skip
            for name, spec, keyed in (
                ("poster", poster, _keyed(poster)),
                ("contact", contact, contact_keyed),
            ):
                key, part = spec_key(name, keyed), job.part(f".{name}.png")
                entry = await self.lookup(key)
                if entry is not None:
                    shutil.copyfile(entry.files["image.png"], part)
                else:
                    args[name] = {**spec, "out": str(part)}
                    drawn.append((key, part))
        await self._call("assemble", args, f"mux:{job.platform}")
        for key, part in drawn:
            copy = Path(tempfile.mkdtemp(prefix="drawing-", dir=self.scratch)) / "image.png"
            shutil.copyfile(part, copy)
            await self.store(key, {"image.png": copy})
            shutil.rmtree(copy.parent, ignore_errors=True)
        srt = job.part(".srt")
        srt.write_text(cues_srt(job.cues), encoding="utf-8")
        # Everything is complete: move it into place, the video last.
        srt.replace(job.sibling(".srt"))
        if self.config.poster:
            job.part(".poster.png").replace(job.sibling(".poster.png"))
            job.part(".contact.png").replace(job.sibling(".contact.png"))
        job.part(".mp4").replace(job.out)
        return str(job.out)

    def cleanup_parts(self) -> None:
        """Remove every temporary output file (after a failure or cancellation)."""
        for job in self.jobs.values():
            for suffix in (".mp4", ".srt", ".poster.png", ".contact.png"):
                with contextlib.suppress(OSError):
                    job.part(suffix).unlink()


class _Stop(Exception):
    def __init__(self, node: str) -> None:
        self.node = node
        super().__init__(node)
