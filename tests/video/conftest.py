"""Plans to render and ways to look inside what was rendered (decoded with PyAV)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

import vgkit
from vgkit.models import VideoPlan
from vgkit.video import RenderResult, render

TOPIC = "How solar panels turn sunlight into electricity"


def plan_for(platform: str, duration: float | None = None, topic: str = TOPIC) -> VideoPlan:
    result = vgkit.generate(topic, platforms=[platform], duration=duration, seed=3)
    return result.plan(platform)


def truncate(plan: VideoPlan, seconds: float) -> VideoPlan:
    """The first ``seconds`` of a plan (render tests keep to short videos)."""

    def cut(items: tuple[Any, ...], start: str = "start") -> list[Any]:
        kept = [i for i in items if getattr(i, start) < seconds - 0.5]
        out = list(kept[:-1])
        last = kept[-1]
        out.append(last.model_copy(update={"duration": round(seconds - getattr(last, start), 3)}))
        return out

    segments = cut(plan.script.segments)
    shots = cut(plan.storyboard.shots)
    scenes = cut(plan.storyboard.scenes)
    transitions = tuple(t for t in plan.transitions.transitions if t.at < seconds - 0.5)
    captions = tuple(
        c.model_copy(update={"end": min(c.end, seconds)})
        for c in plan.captions
        if c.start < seconds - 0.2
    )
    return plan.model_copy(
        update={
            "duration": seconds,
            "script": plan.script.model_copy(
                update={"segments": tuple(segments), "duration": seconds}
            ),
            "storyboard": plan.storyboard.model_copy(
                update={"shots": tuple(shots), "scenes": tuple(scenes)}
            ),
            "transitions": plan.transitions.model_copy(update={"transitions": transitions}),
            "captions": captions,
        }
    )


@dataclass
class Decoded:
    """A rendered file, decoded."""

    width: int
    height: int
    fps: float
    frames: list[np.ndarray]
    """yuv420p frames as (h * 3 / 2, w) arrays."""
    frame_times: list[float]
    duration: float
    codecs: dict[str, str]
    audio: np.ndarray | None
    sample_rate: int

    def frame_at(self, t: float) -> np.ndarray:
        i = min(range(len(self.frame_times)), key=lambda k: abs(self.frame_times[k] - t))
        return self.frames[i]

    def digest(self) -> str:
        h = hashlib.sha256()
        for f in self.frames:
            h.update(f.tobytes())
        return h.hexdigest()


def decode(path: Path, *, keep_frames: bool = True) -> Decoded:
    with av.open(str(path)) as container:
        codecs = {str(s.type): s.codec_context.name for s in container.streams}
        vs = container.streams.video[0]
        frames, times = [], []
        for frame in container.decode(vs):
            assert frame.pts is not None and vs.time_base is not None
            times.append(float(frame.pts * vs.time_base))
            frames.append(frame.to_ndarray(format="yuv420p") if keep_frames else np.zeros(1))
        width, height, fps = vs.width, vs.height, float(vs.average_rate or 0)
        duration = (container.duration or 0) / 1e6
    audio, rate = None, 0
    with av.open(str(path)) as container:
        if container.streams.audio:
            a = container.streams.audio[0]
            rate = a.sample_rate
            parts = [f.to_ndarray().reshape(-1) for f in container.decode(a)]
            audio = np.concatenate(parts).astype(np.float64)
    return Decoded(width, height, fps, frames, times, duration, codecs, audio, rate)


@pytest.fixture(scope="session")
def tiktok_plan() -> VideoPlan:
    """A real, complete 15 s TikTok plan (the platform's shortest)."""
    return plan_for("tiktok", 15)


@dataclass
class Rendered:
    plan: VideoPlan
    result: RenderResult
    cache_dir: Path
    #: The clips this render stored, relative to ``cache_dir``: other tests render variants
    #: (no captions, an edited shot) into the same cache, whose clips this render never reads.
    clips: tuple[Path, ...] = ()

    @property
    def path(self) -> Path:
        return self.result.path


@pytest.fixture(scope="session")
def tiktok_render(
    tiktok_plan: VideoPlan, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Rendered]:
    """The 15 s plan rendered once (preview, narration, generated bed), shared by many tests."""
    base = tmp_path_factory.mktemp("tiktok-render")
    cache_dir = base / "cache"
    result = render(
        tiktok_plan, base / "out" / "tiktok.mp4", preview=True, cache_dir=cache_dir, jobs=2
    )
    clips = tuple(sorted(p.relative_to(cache_dir) for p in cache_dir.rglob("clip.mp4")))
    yield Rendered(tiktok_plan, result, cache_dir, clips)
