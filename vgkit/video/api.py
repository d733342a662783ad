"""``vgkit.video.render``: plans in, playable MP4 files out.

::

    import vgkit
    from vgkit import video

    result = vgkit.generate("How solar panels work", platforms=["tiktok"])
    out = video.render(result, "out/", preview=True)
    out.path            # out/tiktok.mp4 (also .srt, .poster.png, .contact.png)
    out.timings_frame() # one row per render node: narration, shots, transitions, mux
    out.cache_hits      # nodes answered by the clip cache

Everything is checked before the expensive work starts (the plan, the voice,
the music and asset files, that the output directory is writable), and a
failure or cancellation leaves nothing at the output paths and no worker
process running.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vgkit._sync import run_sync
from vgkit.errors import InvalidRequestError, RenderError
from vgkit.models import VideoPlan
from vgkit.scheduler import ScheduleResult
from vgkit.video.encode import FPS
from vgkit.video.graph import RenderConfig, RenderSession, VideoOutput
from vgkit.video.narration import DEFAULT_VOICE

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = ["RenderResult", "VideoOutput", "arender", "load_plans", "render"]


@dataclass(frozen=True)
class RenderResult:
    """What a render produced, and how long each of its nodes took."""

    videos: dict[str, VideoOutput]
    schedule: ScheduleResult
    cache_hits: tuple[str, ...]
    """Nodes answered by the clip cache."""
    rendered: tuple[str, ...]
    """Nodes a worker computed."""
    wall: float
    jobs: int
    preset: str
    worker_seconds: dict[str, float] = field(default_factory=dict)
    """Seconds each computed node spent in its worker."""
    clip_workers: dict[str, str] = field(default_factory=dict)
    """A distributed render's clips: node -> the queue worker that rendered it."""

    @property
    def path(self) -> Path:
        """The video's path (a render of one plan)."""
        if len(self.videos) != 1:
            raise RenderError(
                f"this render made {len(self.videos)} videos; use .videos[platform].path"
            )
        return next(iter(self.videos.values())).path

    @property
    def paths(self) -> dict[str, Path]:
        return {p: v.path for p, v in self.videos.items()}

    @property
    def shots_rendered(self) -> int:
        return sum(1 for n in self.rendered if n.startswith("shot:"))

    @property
    def shots_cached(self) -> int:
        return sum(1 for n in self.cache_hits if n.startswith("shot:"))

    def timings_frame(self) -> pd.DataFrame:
        """One row per render node: start, end, duration, status, and whether it was cached."""
        frame = self.schedule.timings_frame()
        frame["cached"] = frame["node"].isin(self.cache_hits)
        return frame

    def gantt(self, ax: Any = None, title: str | None = None) -> Figure:
        return self.schedule.gantt(ax=ax, title=title or f"render ({self.jobs} workers)")

    def summary(self) -> str:
        lines = [
            f"rendered {len(self.videos)} video(s) in {self.wall:.2f} s with {self.jobs} "
            f"worker(s), preset {self.preset}: {len(self.rendered)} nodes computed, "
            f"{len(self.cache_hits)} from the clip cache"
        ]
        for v in self.videos.values():
            loud = f", {v.loudness:.1f} LUFS" if v.loudness is not None else ""
            lines.append(
                f"{v.platform:<16} {v.duration:>6g} s · {v.width}x{v.height} · {v.frames} frames · "
                f"{v.cues} captions{loud} -> {v.path}"
            )
        return "\n".join(lines)


def load_plans(source: Any, platforms: Sequence[str] | None = None) -> list[VideoPlan]:
    """Plans from a VideoPlan, a GenerationResult, a plan JSON file or a directory of them."""
    from vgkit.generation import GenerationResult

    if isinstance(source, VideoPlan):
        plans = [source]
    elif isinstance(source, GenerationResult):
        plans = list(source.plans.values())
    elif isinstance(source, str | os.PathLike):
        path = Path(source)
        if path.is_dir():
            plans = []
            for file in sorted(path.glob("*.json")):
                with contextlib.suppress(InvalidRequestError):
                    plans.append(_read_plan(file))
            if not plans:
                raise InvalidRequestError(
                    f"{path} holds no plan files; give a directory `vgkit generate --out` wrote, "
                    "or a plan JSON file"
                )
        else:
            plans = [_read_plan(path)]
    elif isinstance(source, Sequence) and all(isinstance(p, VideoPlan) for p in source):
        plans = list(source)
    else:
        raise InvalidRequestError(
            f"cannot render a {type(source).__name__}; give a VideoPlan, a GenerationResult, "
            "a plan JSON file or a directory of them"
        )
    if platforms:
        wanted = {str(p).lower() for p in platforms}
        plans = [p for p in plans if p.platform.value in wanted]
        if not plans:
            raise InvalidRequestError(f"no plan for {', '.join(sorted(wanted))} in {source}")
    if not plans:
        raise InvalidRequestError("nothing to render: the result has no plans")
    return plans


def _read_plan(path: Path) -> VideoPlan:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InvalidRequestError(f"plan file {path} does not exist") from None
    except OSError as exc:
        raise InvalidRequestError(f"cannot read plan file {path}: {exc.strerror}") from None
    try:
        return VideoPlan.from_json(data)
    except InvalidRequestError as exc:
        first = str(exc).splitlines()[0]
        raise InvalidRequestError(f"{path} is not a valid vgkit plan ({first[:200]})") from None


def _outputs(plans: Sequence[VideoPlan], out: Path) -> list[tuple[VideoPlan, Path]]:
    if len(plans) == 1 and out.suffix.lower() == ".mp4":
        return [(plans[0], out)]
    if out.suffix and not out.is_dir():
        raise RenderError(
            f"{len(plans)} videos cannot share the file {out}; give a directory "
            "(each video is written as PLATFORM.mp4) or choose one platform"
        )
    return [(p, out / f"{p.platform.value}.mp4") for p in plans]


def _in_notebook() -> bool:
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return type(shell).__name__ == "ZMQInteractiveShell"


def _want_progress(progress: bool | None) -> bool:
    if progress is not None:
        return progress
    return _in_notebook() or sys.stderr.isatty()


async def arender(
    source: Any,
    out: str | os.PathLike[str],
    *,
    preview: bool = False,
    voice: str | None = DEFAULT_VOICE,
    music: str | os.PathLike[str] | None = None,
    pad: bool = True,
    assets: str | os.PathLike[str] | None = None,
    jobs: int | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    cache: bool = True,
    captions: bool = True,
    audio: bool = True,
    platforms: Sequence[str] | None = None,
    progress: bool | None = None,
    redis_url: str | None = None,
    key_prefix: str | None = None,
    distributed: bool = False,
) -> RenderResult:
    """Render plans to MP4 files (the async form of :func:`render`)."""
    started = time.perf_counter()
    plans = load_plans(source, platforms)
    outputs = _outputs(plans, Path(out))
    config = RenderConfig(
        preset="preview" if preview else "final",
        voice=voice,
        music=Path(music) if music is not None else None,
        pad=pad,
        assets=Path(assets) if assets is not None else None,
        jobs=jobs,
        cache_dir=Path(cache_dir) if cache_dir is not None else None,
        cache=cache,
        captions=captions,
        audio=audio,
        redis_url=redis_url,
        key_prefix=key_prefix,
        distributed=distributed,
    )
    session = await RenderSession.open(config)
    bar = _progress_bar(outputs, config) if _want_progress(progress) else None
    try:
        async with session:
            for plan, path in outputs:
                session.add(plan, path)
            if bar is not None:
                session.on_progress = lambda node, frames, hit: bar.update(frames)
            schedule = await session.run()
    finally:
        if bar is not None:
            bar.close()
    return RenderResult(
        videos={p: session.output(job) for p, job in session.jobs.items()},
        schedule=schedule,
        cache_hits=tuple(session.hits),
        rendered=tuple(session.rendered),
        wall=time.perf_counter() - started,
        jobs=config.workers,
        preset=config.preset,
        worker_seconds=dict(session.worker_seconds),
        clip_workers=dict(session.workers),
    )


def _progress_bar(outputs: Sequence[tuple[VideoPlan, Path]], config: RenderConfig) -> Any:
    from tqdm.auto import tqdm

    total = sum(round(p.duration * FPS) for p, _ in outputs)
    names = ", ".join(o.name for _, o in outputs)
    return tqdm(total=total, unit="frame", desc=f"render {names} ({config.preset})", leave=True)


def render(source: Any, out: str | os.PathLike[str], **options: Any) -> RenderResult:
    """Render plans to MP4 files: ``render(plan_or_result, out, preview=..., voice=..., ...)``.

    ``source``: a VideoPlan, a GenerationResult, a plan JSON file, a directory
    of plan files, or a list of plans. ``out``: a ``.mp4`` path for one plan,
    else a directory (``PLATFORM.mp4`` each). Options: ``preview`` (half size,
    fastest encoder preset), ``voice`` (an eSpeak NG voice or language; None:
    no narration), ``music`` (a bed under the voice; default a generated pad,
    ``pad=False`` for none), ``assets`` (a directory of pictures and clips),
    ``jobs`` (worker processes; default one per CPU), ``cache_dir`` /
    ``cache=False`` (the clip cache), ``captions``, ``audio``, ``platforms``
    and ``progress`` (a tqdm bar; default in terminals and Jupyter).
    ``redis_url`` / ``key_prefix``: share clips through Redis (a second cache
    directory or machine reuses them); ``distributed=True``: each missing clip
    becomes a job on the render queue there for ``vgkit worker`` processes, and
    this process takes clips too (see :mod:`vgkit.video.distributed`).

    Synchronous; works inside a running Jupyter loop. See :func:`arender`.
    """
    return run_sync(lambda: arender(source, out, **options))
