"""Rendering: vgkit.video against MoviePy and against the encoder's own limit.

Rows (each side measured in this run):

- cold render of the 30 s 1080x1920 TikTok plan (captions burned in, x264
  ``veryfast``, no audio) against a MoviePy composition of the same cards (each
  shot's picture, drawn by vgkit beforehand) and caption clips: frames/s.
- the same cold render against a bare PyAV encode of the same frames (vgkit's
  output decoded to a raw file before the timing; threads as x264 chooses):
  seconds. This is the encoder's own limit.
- re-render after changing one shot's overlay text, against the cold render.
- preview render of a 480 s YouTube plan: times real time, and the peak memory
  of the render's process tree (the ``vgkit render`` process and its workers,
  sampled every 50 ms); beside it, a bare ultrafast encode of static 960x540
  cards (one per shot) of the same length.
- shots per second with two single-threaded workers against one.
- seconds saved per clip-cache hit: (cold - all cached) / hits, real wall time.

The machine is shared: every time is the best of several runs, and the load
average at the start and end is printed with the rows.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._common import Row, row
from vgkit.models import VideoPlan

TITLE = "Rendering (vgkit.video)"
TOPIC = "How solar panels turn sunlight into electricity"


def _say(text: str) -> None:
    print(f"  [render] {text}", file=sys.stderr, flush=True)


def _plan(platform: str, duration: float | None) -> VideoPlan:
    import vgkit

    return vgkit.generate(TOPIC, platforms=[platform], duration=duration, seed=0).plan(platform)


def _render(plan: VideoPlan, out: Path, cache: Path, **options: Any) -> tuple[float, Any]:
    from vgkit.video import render

    started = time.perf_counter()
    result = render(plan, out, cache_dir=cache, progress=False, **options)
    return time.perf_counter() - started, result


def _edited(plan: VideoPlan) -> VideoPlan:
    shots = list(plan.storyboard.shots)
    k = len(shots) // 2
    shots[k] = shots[k].model_copy(update={"text_overlay": "An edited line"})
    return plan.model_copy(
        update={"storyboard": plan.storyboard.model_copy(update={"shots": tuple(shots)})}
    )


def _decode_to_raw(video: Path, raw: Path) -> tuple[int, int, int]:
    import av

    with av.open(str(video)) as container, raw.open("wb") as f:
        stream = container.streams.video[0]
        n = 0
        for frame in container.decode(stream):
            f.write(frame.to_ndarray(format="yuv420p").tobytes())
            n += 1
        return stream.width, stream.height, n


def _bare_encode(
    raw: Path, size: tuple[int, int], frames: int, out: Path, preset: str, crf: int
) -> float:
    """Encode raw yuv420p frames with PyAV and nothing else (x264 picks its threads)."""
    import av

    w, h = size
    data = np.memmap(raw, np.uint8, "r", shape=(frames, h * 3 // 2, w))
    started = time.perf_counter()
    with av.open(str(out), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.codec_context.options = {"preset": preset, "crf": str(crf)}
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(np.asarray(data[i]), format="yuv420p")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return time.perf_counter() - started


def _cards_and_cues(
    plan: VideoPlan, video: Path, srt: Path
) -> tuple[list[np.ndarray], list[tuple[float, float, str]]]:
    """Each shot's picture (the middle frame of a captionless render) and the cues."""
    import av

    mids = sorted((s.start + s.duration / 2, s.index) for s in plan.storyboard.shots)
    cards: list[np.ndarray] = []
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        want = iter(mids)
        target = next(want, None)
        for frame in container.decode(stream):
            assert frame.pts is not None and stream.time_base is not None
            t = float(frame.pts * stream.time_base)
            while target is not None and t >= target[0]:
                cards.append(frame.to_ndarray(format="rgb24"))
                target = next(want, None)
    cues = []
    for block in srt.read_text().strip().split("\n\n"):
        lines = block.splitlines()
        a, b = lines[1].split(" --> ")

        def sec(stamp: str) -> float:
            hh, mm, ss = stamp.replace(",", ".").split(":")
            return int(hh) * 3600 + int(mm) * 60 + float(ss)

        cues.append((sec(a), sec(b), " ".join(lines[2:])))
    return cards, cues


def _moviepy(
    plan: VideoPlan, cards: list[np.ndarray], cues: list[tuple[float, float, str]], out: Path
) -> float:
    """The same cards and caption clips composed the MoviePy way (MoneyPrinterTurbo's)."""
    from moviepy import CompositeVideoClip, ImageClip, TextClip, concatenate_videoclips

    from vgkit.video.look import CAPTION_FONT, font_dir

    started = time.perf_counter()
    shots = sorted(plan.storyboard.shots, key=lambda s: s.start)
    base = concatenate_videoclips(
        [ImageClip(card).with_duration(s.duration) for card, s in zip(cards, shots, strict=True)]
    )
    w, h = plan.resolution
    texts = [
        TextClip(
            font=str(font_dir() / CAPTION_FONT),
            text=text,
            font_size=82,
            color="white",
            stroke_color="black",
            stroke_width=7,
            method="caption",
            size=(int(w * 0.86), None),
            text_align="center",
        )
        .with_start(start)
        .with_duration(end - start)
        .with_position(("center", int(h * 0.58)))
        for start, end, text in cues
    ]
    video = CompositeVideoClip([base, *texts], size=(w, h))
    video.write_videofile(
        str(out), fps=30, codec="libx264", preset="veryfast", audio=False, logger=None
    )
    video.close()
    return time.perf_counter() - started


def _tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and all its descendants."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        p = int(entry.name)
        children.setdefault(int(stat[1]), []).append(p)
        rss[p] = int(stat[21]) * page
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        total += rss.get(p, 0)
        stack.extend(children.get(p, []))
    return total


def _cli_render(plan_file: Path, out: Path, cache: Path, args: list[str]) -> tuple[float, int]:
    """``vgkit render`` in a child process: wall seconds and the tree's peak RSS."""
    vgkit = Path(sys.executable).with_name("vgkit")
    env = {**os.environ, "VGKIT_CACHE_DIR": str(cache)}
    started = time.perf_counter()
    proc = subprocess.Popen(
        [str(vgkit), "render", str(plan_file), "-o", str(out), *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss(proc.pid))
        time.sleep(0.05)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(
            f"vgkit render failed: {proc.stderr.read().decode() if proc.stderr else ''}"
        )
    return wall, peak


def _static_cards_encode(video: Path, plan: VideoPlan, out: Path) -> float:
    """A bare ultrafast encode of one static card per shot, for the plan's length."""
    import av

    mids = sorted((s.start + s.duration / 2, round(s.duration * 30)) for s in plan.storyboard.shots)
    cards = []
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        it = iter(mids)
        target = next(it, None)
        for frame in container.decode(stream):
            assert frame.pts is not None and stream.time_base is not None
            t = float(frame.pts * stream.time_base)
            while target is not None and t >= target[0]:
                card = av.VideoFrame.from_ndarray(
                    frame.to_ndarray(format="yuv420p"), format="yuv420p"
                )
                card.time_base = Fraction(1, 30)
                cards.append((card, target[1]))
                target = next(it, None)
        w, h = stream.width, stream.height
    started = time.perf_counter()
    with av.open(str(out), "w") as container:
        s = container.add_stream("libx264", rate=30)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        s.codec_context.options = {"preset": "ultrafast", "crf": "26"}
        pts = 0
        for card, count in cards:
            for _ in range(count):
                card.pts = pts
                pts += 1
                for packet in s.encode(card):
                    container.mux(packet)
        for packet in s.encode(None):
            container.mux(packet)
    return time.perf_counter() - started


def _clip_span(result: Any) -> tuple[int, float]:
    records = [
        r
        for n, r in result.schedule.records.items()
        if n.startswith(("shot:", "transition:")) and r.start is not None
    ]
    return len(records), max(r.end for r in records) - min(r.start for r in records)


async def run(quick: bool) -> list[Row]:
    from vgkit.video import render  # noqa: F401  (imports before any timing)

    repeats = 1 if quick else 3
    load_before = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="vgkit-bench-render-"))
    rows: list[Row] = []
    try:
        tiktok = _plan("tiktok", 15 if quick else 30)
        seconds = tiktok.duration
        frames = round(seconds * 30)
        common = {"audio": False, "jobs": 2}

        # Cold renders (fresh cache each time), best of `repeats`.
        cold = float("inf")
        for i in range(repeats):
            wall, cold_result = _render(tiktok, work / f"cold{i}.mp4", work / f"cache{i}", **common)
            cold = min(cold, wall)
            _say(f"cold render {wall:.2f} s")
        warm_cache = work / f"cache{repeats - 1}"
        video = cold_result.path

        # Bare PyAV encode of the same frames.
        raw = work / "frames.yuv"
        w, h, n = _decode_to_raw(video, raw)
        bare = min(
            _bare_encode(raw, (w, h), n, work / f"bare{i}.mp4", "veryfast", 21)
            for i in range(repeats)
        )
        raw.unlink()
        _say(f"bare encode {bare:.2f} s")

        # MoviePy with the same cards and caption clips.
        cards_video = _render(tiktok, work / "cards.mp4", warm_cache, captions=False, **common)[1]
        cards, cues = _cards_and_cues(tiktok, cards_video.path, cold_result.videos["tiktok"].srt)
        moviepy = min(
            _moviepy(tiktok, cards, cues, work / f"moviepy{i}.mp4")
            for i in range(max(1, repeats - 1))
        )
        _say(f"moviepy {moviepy:.1f} s")

        # Re-render after one edited shot, and all cached.
        edit = float("inf")
        for i in range(repeats):
            cache = work / f"edit-cache{i}"
            shutil.copytree(warm_cache, cache)
            wall, edited = _render(_edited(tiktok), work / f"edit{i}.mp4", cache, **common)
            assert edited.shots_rendered == 1, edited.rendered
            edit = min(edit, wall)
            _say(f"edited re-render {wall:.2f} s")
        hit_wall, hits = _render(tiktok, work / "hit.mp4", warm_cache, **common)
        hit_count = len(hits.cache_hits)

        # Scaling: the shot phase with one and with two single-threaded workers.
        spans = {}
        for jobs in (1, 2):
            best = float("inf")
            for i in range(repeats):
                _, r = _render(
                    tiktok,
                    work / f"s{jobs}{i}.mp4",
                    work / f"scale{jobs}{i}",
                    audio=False,
                    jobs=jobs,
                )
                count, span = _clip_span(r)
                best = min(best, span)
            spans[jobs] = count / best
            _say(f"{jobs} worker(s): {spans[jobs]:.2f} clips/s")

        # Preview of a 480 s YouTube plan in its own process tree.
        youtube = _plan("youtube", 120 if quick else 480)
        plan_file = work / "youtube.json"
        plan_file.write_text(youtube.to_json())
        preview, peak = float("inf"), 0
        for i in range(max(1, repeats - 1)):
            wall, rss = _cli_render(
                plan_file, work / f"yt{i}.mp4", work / f"yt-cache{i}", ["--preview"]
            )
            preview, peak = min(preview, wall), max(peak, rss)
            _say(f"youtube preview {wall:.1f} s, peak {rss / 2**20:.0f} MB")
        static = _static_cards_encode(work / "yt0.mp4", youtube, work / "static.mp4")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load = f"load average {load_before:.1f} at start, {os.getloadavg()[0]:.1f} at end; 2 cores"
    tag = f"{seconds:g} s TikTok 1080x1920, veryfast, no audio, 2 workers; best of {repeats}"
    rows.append(
        row(
            "cold render vs MoviePy (same cards + captions)",
            frames / cold,
            frames / moviepy,
            "frame/s",
            target=3,
            higher_is_better=True,
            notes=f"{tag}; vgkit {cold:.1f} s, MoviePy {moviepy:.1f} s; {load}",
        )
    )
    rows.append(
        row(
            "cold render vs bare PyAV encode of its frames",
            cold,
            bare,
            "s",
            target=1.5,
            notes=f"the encoder's own limit: vgkit {cold:.2f} s, bare encode {bare:.2f} s",
        )
    )
    rows.append(
        row(
            "re-render after one edited shot vs cold",
            edit,
            cold,
            "s",
            target=0.2,
            notes="one shot clip re-encoded, the rest from the clip cache",
        )
    )
    yt_seconds = youtube.duration
    rows.append(
        row(
            f"preview render of a {yt_seconds:g} s YouTube plan",
            yt_seconds / preview,
            1.0,
            "x realtime",
            target=10,
            higher_is_better=True,
            notes=f"{preview:.1f} s wall (vgkit render --preview, narration and music included)",
        )
    )
    rows.append(
        row(
            "  the same vs a bare encode of static cards",
            yt_seconds / preview,
            yt_seconds / static,
            "x realtime",
            higher_is_better=True,
            notes=f"bare ultrafast encode of one static card per shot: {static:.1f} s",
        )
    )
    rows.append(
        row(
            "  peak memory of the render's process tree",
            peak / 2**20,
            600,
            "MB",
            target=1.0,
            notes="vgkit render and its workers, sampled every 50 ms",
        )
    )
    rows.append(
        row(
            "shots/s, 2 single-threaded workers vs 1",
            spans[2],
            spans[1],
            "shot/s",
            target=1.7,
            higher_is_better=True,
            notes="the shot phase of the cold render (first clip start to last clip end)",
        )
    )
    rows.append(
        row(
            "seconds saved per clip-cache hit (wall)",
            (cold - hit_wall) / max(1, hit_count),
            cold / max(1, hit_count),
            "s/hit",
            notes=f"all {hit_count} nodes cached: {hit_wall:.2f} s vs cold {cold:.2f} s "
            "(measured wall time, not assumed)",
        )
    )
    return rows
