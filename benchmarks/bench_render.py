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
from vgkit.claims.rendering import clip_rate, draw_cards, edited, moviepy_render, read_srt
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

        # Cold renders (a fresh cache each time) and bare encodes of the first one's
        # frames, alternated so background load hits both alike; best of `repeats`.
        wall, cold_result = _render(tiktok, work / "cold0.mp4", work / "cache0", **common)
        _say(f"cold render {wall:.2f} s")
        cold = wall
        raw = work / "frames.yuv"
        w, h, n = _decode_to_raw(cold_result.path, raw)
        bare = float("inf")
        for i in range(repeats):
            took = _bare_encode(raw, (w, h), n, work / f"bare{i}.mp4", "veryfast", 21)
            bare = min(bare, took)
            _say(f"bare encode {took:.2f} s")
            if i + 1 < repeats:
                wall, _ = _render(
                    tiktok, work / f"cold{i + 1}.mp4", work / f"cache{i + 1}", **common
                )
                cold = min(cold, wall)
                _say(f"cold render {wall:.2f} s")
        raw.unlink()
        warm_cache = work / "cache0"

        # MoviePy with the same cards and caption clips.
        cards = draw_cards(tiktok, preview=False)
        cues = read_srt(cold_result.videos["tiktok"].srt)
        moviepy = min(
            moviepy_render(tiktok, cards, cues, work / f"moviepy{i}.mp4")
            for i in range(max(1, repeats - 1))
        )
        _say(f"moviepy {moviepy:.1f} s")

        # Re-render after one edited shot, and all cached.
        edit = float("inf")
        for i in range(repeats):
            cache = work / f"edit-cache{i}"
            shutil.copytree(warm_cache, cache)
            wall, again = _render(edited(tiktok), work / f"edit{i}.mp4", cache, **common)
            assert again.shots_rendered == 1, again.rendered
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
                best = min(best, 1 / clip_rate(r))
            spans[jobs] = 1 / best
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
