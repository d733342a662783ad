"""Rendering: real work measured in real seconds, next to MoviePy and to itself.

The reference analysis's "seconds saved per cache hit" are sleeps a cost model
was told to take. Rendering is real work: a clip-cache hit saves the CPU
seconds its shot took to draw and encode. This section renders one plan and
measures, each against a baseline in the same call:

- a cold render against a MoviePy composition of the same cards (each shot's
  picture, drawn by vgkit beforehand) and caption clips, the way
  MoneyPrinterTurbo composes videos;
- a re-render after one shot's overlay text changed, against the cold render;
- the shot phase with two single-threaded workers against one (per-core scaling);
- wall seconds saved per clip-cache hit: a render whose every node is cached,
  against the cold one.

The helpers (:func:`cards_and_cues`, :func:`moviepy_render`, :func:`edited`,
:func:`clip_rate`) are shared with ``benchmarks/bench_render.py``.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vgkit.claims.base import TOPIC, Measurement
from vgkit.claims.registry import claim_section

if TYPE_CHECKING:
    import numpy as np

    from vgkit.models import VideoPlan
    from vgkit.video import RenderResult

__all__ = [
    "cards_and_cues",
    "clip_rate",
    "draw_cards",
    "edited",
    "measure_rendering",
    "moviepy_render",
    "read_srt",
]

SECTION = "Rendering"


def edited(plan: VideoPlan, text: str = "An edited line") -> VideoPlan:
    """``plan`` with its middle shot's overlay text changed (one shot's pixels differ)."""
    shots = list(plan.storyboard.shots)
    k = len(shots) // 2
    shots[k] = shots[k].model_copy(update={"text_overlay": text})
    return plan.model_copy(
        update={"storyboard": plan.storyboard.model_copy(update={"shots": tuple(shots)})}
    )


def read_srt(path: Path) -> list[tuple[float, float, str]]:
    """(start, end, text) per cue of a SubRip file."""

    def seconds(stamp: str) -> float:
        h, m, s = stamp.replace(",", ".").split(":")
        return int(h) * 3600 + int(m) * 60 + float(s)

    cues = []
    for block in path.read_text(encoding="utf-8").strip().split("\n\n"):
        lines = block.splitlines()
        start, end = lines[1].split(" --> ")
        cues.append((seconds(start), seconds(end), " ".join(lines[2:])))
    return cues


def cards_and_cues(
    plan: VideoPlan, captionless: Path, srt: Path
) -> tuple[list[np.ndarray], list[tuple[float, float, str]]]:
    """Each shot's picture (the middle frame of a render without captions) and the cues."""
    import av

    mids = sorted(s.start + s.duration / 2 for s in plan.storyboard.shots)
    cards: list[np.ndarray] = []
    with av.open(str(captionless)) as container:
        stream = container.streams.video[0]
        targets = iter(mids)
        target = next(targets, None)
        for frame in container.decode(stream):
            if frame.pts is None or stream.time_base is None:
                continue
            t = float(frame.pts * stream.time_base)
            while target is not None and t >= target:
                cards.append(frame.to_ndarray(format="rgb24"))
                target = next(targets, None)
    return cards, read_srt(srt)


def draw_cards(plan: VideoPlan, *, preview: bool) -> list[np.ndarray]:
    """Each shot's picture at its middle, drawn by vgkit (RGB arrays, no captions)."""
    import numpy as np

    from vgkit.video.encode import PRESETS, frame_size
    from vgkit.video.graph import shot_spec
    from vgkit.video.look import Look
    from vgkit.video.visuals import ShotVisual

    width, height = frame_size(plan.resolution, PRESETS["preview" if preview else "final"])
    look = Look.for_topic(plan.request.topic, plan.request.seed)
    cards = []
    for position, shot in enumerate(sorted(plan.storyboard.shots, key=lambda s: s.start)):
        visual = ShotVisual(shot_spec(plan, position), look, width, height)
        try:
            cards.append(np.asarray(visual.draw(shot.start + shot.duration / 2)[1].to_image()))
        finally:
            visual.close()
    return cards


def moviepy_render(
    plan: VideoPlan,
    cards: list[np.ndarray],
    cues: list[tuple[float, float, str]],
    out: Path,
    *,
    preset: str = "veryfast",
) -> float:
    """Wall seconds of the same cards and caption clips composed and encoded by MoviePy.

    An ImageClip per shot, concatenated; a TextClip per cue (DejaVu Sans Bold,
    white on a black stroke, where vgkit puts 9:16 captions), composited over
    them; ``write_videofile`` with libx264 at ``preset``, no audio.
    """
    from moviepy import CompositeVideoClip, ImageClip, TextClip, concatenate_videoclips

    from vgkit.video.look import CAPTION_FONT, font_dir

    started = time.perf_counter()
    shots = sorted(plan.storyboard.shots, key=lambda s: s.start)
    height, width = cards[0].shape[:2]
    base = concatenate_videoclips(
        [ImageClip(card).with_duration(s.duration) for card, s in zip(cards, shots, strict=True)]
    )
    unit = min(width, height) / 1080
    texts = [
        TextClip(
            font=str(font_dir() / CAPTION_FONT),
            text=text,
            font_size=int(82 * unit),
            color="white",
            stroke_color="black",
            stroke_width=max(1, int(7 * unit)),
            method="caption",
            size=(int(width * 0.86), None),
            text_align="center",
        )
        .with_start(start)
        .with_duration(max(0.05, end - start))
        .with_position(("center", int(height * 0.58)))
        for start, end, text in cues
    ]
    video = CompositeVideoClip([base, *texts], size=(width, height))
    video.write_videofile(
        str(out), fps=30, codec="libx264", preset=preset, audio=False, logger=None
    )
    video.close()
    return time.perf_counter() - started


def clip_rate(result: RenderResult) -> float:
    """Clips per second over the render's shot phase (first clip start to last clip end)."""
    records = [
        r
        for n, r in result.schedule.records.items()
        if n.startswith(("shot:", "transition:")) and r.start is not None and r.end is not None
    ]
    if not records:
        return 0.0
    span = max(r.end or 0.0 for r in records) - min(r.start or 0.0 for r in records)
    return len(records) / span if span > 0 else 0.0


async def _render(plan: VideoPlan, out: Path, cache: Path, **options: Any) -> tuple[float, Any]:
    from vgkit.video import arender

    started = time.perf_counter()
    result = await arender(plan, out, cache_dir=cache, progress=False, **options)
    return time.perf_counter() - started, result


@claim_section(
    "rendering",
    "Rendering: real work, real seconds",
    order=80,
    parameters={"seconds": "render_seconds", "preview": "render_preview"},
)
async def measure_rendering(
    *, seconds: float = 15.0, preview: bool = True, topic: str = TOPIC
) -> list[Measurement]:
    """Render a ``seconds``-long TikTok plan (see the module docstring); no audio, so
    every side draws and encodes the same frames. ``seconds=0`` skips the section
    (one row says so): a quick run of the report that does not need it."""
    import vgkit

    if seconds <= 0:
        return [
            Measurement(
                section=SECTION,
                claim="rendering",
                metric="not measured in this run (render_seconds = 0)",
                measured=0.0,
                unit="",
                kind="fact",
            )
        ]

    plan = (await vgkit.agenerate(topic, platforms=["tiktok"], duration=seconds)).plan("tiktok")
    frames = round(plan.duration * 30)
    size = "540x960" if preview else "1080x1920"
    common: dict[str, Any] = {"preview": preview, "audio": False, "jobs": 2}
    rows: list[Measurement] = []
    with tempfile.TemporaryDirectory(prefix="vgkit-claims-render-") as tmp:
        work = Path(tmp)
        cold, result = await _render(plan, work / "cold.mp4", work / "cache", **common)
        cards = await asyncio.to_thread(draw_cards, plan, preview=preview)
        cues = read_srt(result.videos["tiktok"].srt)
        moviepy = moviepy_render(
            plan, cards, cues, work / "moviepy.mp4", preset="ultrafast" if preview else "veryfast"
        )
        shutil.copytree(work / "cache", work / "edit-cache")
        edit, edited_result = await _render(
            edited(plan), work / "edit.mp4", work / "edit-cache", **common
        )
        warm, warm_result = await _render(plan, work / "warm.mp4", work / "cache", **common)
        rates = {}
        for jobs in (1, 2):
            options = {**common, "jobs": jobs}
            _, scaled = await _render(plan, work / f"s{jobs}.mp4", work / f"scale{jobs}", **options)
            rates[jobs] = clip_rate(scaled)
    hits = len(warm_result.cache_hits)
    tag = f"{plan.duration:g} s TikTok at {size}, captions burned in, no audio, 2 workers"
    rows.append(
        Measurement(
            section=SECTION,
            claim="vgkit renders a plan faster than MoviePy composes the same cards and captions",
            metric="cold render, frames per second",
            measured=frames / cold,
            unit="frame/s",
            baseline=frames / moviepy,
            baseline_label="MoviePy, same cards and caption clips",
            target=">= 3x MoviePy",
            met=moviepy / cold >= 3,
            notes=f"{tag}: vgkit {cold:.1f} s, MoviePy {moviepy:.1f} s",
            better="higher",
        )
    )
    rows.append(
        Measurement(
            section=SECTION,
            claim="editing one shot re-encodes one shot, not the video",
            metric="re-render after one edited shot",
            measured=edit,
            unit="s",
            baseline=cold,
            baseline_label="the cold render",
            target="<= 0.2x the cold render",
            met=edit <= 0.2 * cold and edited_result.shots_rendered == 1,
            notes=f"{edited_result.shots_rendered} shot clip re-encoded, the rest cached",
            better="lower",
        )
    )
    rows.append(
        Measurement(
            section=SECTION,
            claim="shots render in parallel on every core",
            metric="clips per second, 2 single-threaded workers",
            measured=rates[2],
            unit="clip/s",
            baseline=rates[1],
            baseline_label="1 worker",
            target=">= 1.7x one worker",
            met=rates[1] > 0 and rates[2] / rates[1] >= 1.7,
            notes="the shot phase of a cold render; a busy machine lowers it",
            better="higher",
        )
    )
    rows.append(
        Measurement(
            section=SECTION,
            claim="a cache hit saves real seconds (not a cost model's sleep)",
            metric="wall seconds saved per clip-cache hit",
            measured=(cold - warm) / max(1, hits),
            unit="s",
            baseline=cold / max(1, hits),
            baseline_label="the cold render per node",
            notes=f"all {hits} nodes cached: {warm:.2f} s against {cold:.2f} s cold; measured",
            kind="fact",
            better="higher",
        )
    )
    return rows
