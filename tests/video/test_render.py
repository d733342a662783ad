"""Rendered files, decoded with PyAV: streams, timing, captions, voice, loudness, determinism."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest

from tests.video.conftest import Rendered, decode, plan_for, truncate
from vgkit.models import VideoPlan
from vgkit.video import FPS, render

pytestmark = pytest.mark.timeout(300)

FRAME = 1 / FPS


def _srt_cues(path: Path) -> list[tuple[float, float, str]]:
    cues = []
    for block in path.read_text().strip().split("\n\n"):
        lines = block.splitlines()
        a, b = lines[1].split(" --> ")

        def seconds(stamp: str) -> float:
            h, m, s = stamp.replace(",", ".").split(":")
            return int(h) * 3600 + int(m) * 60 + float(s)

        cues.append((seconds(a), seconds(b), " ".join(lines[2:])))
    return cues


def test_streams_duration_and_size_of_a_preview(tiktok_render: Rendered) -> None:
    plan, result = tiktok_render.plan, tiktok_render.result
    video = decode(result.path, keep_frames=False)
    assert video.codecs == {"video": "h264", "audio": "aac"}
    assert (video.width, video.height) == (540, 960)  # preview: half of 1080x1920
    assert video.fps == FPS
    assert abs(len(video.frame_times) - plan.duration * FPS) <= 1
    assert abs(video.frame_times[-1] + FRAME - plan.duration) <= FRAME
    assert abs(video.duration - plan.duration) <= FRAME
    assert video.audio is not None
    assert abs(len(video.audio) / video.sample_rate - plan.duration) <= FRAME
    out = result.videos["tiktok"]
    assert out.srt.exists() and out.poster and out.poster.exists()
    assert out.contact_sheet and out.contact_sheet.stat().st_size > 10_000
    # The MP4 index is at the front (faststart): moov before mdat.
    head = result.path.read_bytes()[:200_000]
    assert 0 <= head.find(b"moov") < head.find(b"mdat")


@pytest.mark.parametrize(
    ("platform", "size"),
    [("tiktok", (1080, 1920)), ("instagram_reels", (1080, 1920)), ("youtube", (1920, 1080))],
)
def test_final_preset_size_and_frame_rate_per_platform(
    platform: str, size: tuple[int, int], tmp_path: Path
) -> None:
    plan = truncate(plan_for(platform), 3.0)
    result = render(plan, tmp_path / "v.mp4", cache_dir=tmp_path / "cache", voice=None, jobs=2)
    video = decode(result.path, keep_frames=False)
    assert (video.width, video.height) == size
    assert video.fps == FPS and len(video.frame_times) == 90
    assert abs(video.duration - 3.0) <= FRAME


def test_loudness_is_minus_14_lufs(tiktok_render: Rendered) -> None:
    audio = decode(tiktok_render.path, keep_frames=False)
    assert audio.audio is not None
    level = pyloudnorm.Meter(audio.sample_rate).integrated_loudness(audio.audio)
    assert -15.0 <= level <= -13.0, level
    assert np.abs(audio.audio).max() < 1.0


def test_captions_are_burned_into_the_caption_band(tiktok_render: Rendered, tmp_path: Path) -> None:
    plan = tiktok_render.plan
    bare = render(
        plan,
        tmp_path / "bare.mp4",
        preview=True,
        captions=False,
        cache_dir=tiktok_render.cache_dir,
        jobs=2,
    )
    with_captions = decode(tiktok_render.path)
    without = decode(bare.path)
    cues = _srt_cues(tiktok_render.result.videos["tiktok"].srt)
    assert len(cues) >= 8
    h = with_captions.height
    band = slice(int(h * 0.5), int(h * 0.8))  # where 9:16 captions sit
    for start, end, text in cues:
        t = (start + min(end, start + 0.5)) / 2
        a, b = with_captions.frame_at(t)[:h][band], without.frame_at(t)[:h][band]
        changed = np.mean(np.abs(a.astype(int) - b.astype(int)) > 40)
        assert changed > 0.01, (text, changed)
    # Between cues nothing is burned in: frames equal where no caption shows.
    gaps = [(e, s2) for (_, e, _), (s2, _, _) in itertools.pairwise(cues) if s2 - e > 0.15]
    for e, s2 in gaps:
        t = (e + s2) / 2
        assert np.array_equal(with_captions.frame_at(t), without.frame_at(t))


def _activity(audio: np.ndarray, rate: int, hop_s: float = 0.005) -> tuple[np.ndarray, float]:
    hop = int(rate * hop_s)
    n = len(audio) // hop
    rms = np.sqrt((audio[: n * hop].reshape(n, hop) ** 2).mean(axis=1))
    return 20 * np.log10(rms + 1e-9) > -45, hop_s


def test_captions_start_at_the_spoken_words(tiktok_render: Rendered, tmp_path: Path) -> None:
    """Measured from the audio itself: the voice alone (no music bed), 5 ms energy frames.

    Every cue that follows a pause must start within 100 ms of the moment the
    voice resumes; every cue must start while (or just before) a word sounds.
    """
    voice_only = render(
        tiktok_render.plan,
        tmp_path / "voice.mp4",
        preview=True,
        pad=False,
        cache_dir=tiktok_render.cache_dir,
        jobs=2,
    )
    # The clips are the same: only the soundtrack was mixed again.
    assert all(not n.startswith(("shot:", "transition:")) for n in voice_only.rendered)
    decoded = decode(voice_only.path, keep_frames=False)
    assert decoded.audio is not None
    active, hop = _activity(decoded.audio, decoded.sample_rate)
    cues = _srt_cues(voice_only.videos["tiktok"].srt)
    after_pause = 0
    for start, _, text in cues:
        i = round(start / hop)
        before = active[max(0, i - 24) : max(0, i - 6)]
        if i < 6 or not before.any():
            after_pause += 1
            window = np.flatnonzero(active[max(0, i - 20) : i + 40])
            assert len(window), f"no voice near cue {text!r} at {start:.3f} s"
            onset = (max(0, i - 20) + window[0]) * hop
            assert abs(onset - start) <= 0.1, (text, start, onset)
        assert active[i : i + 30].any(), f"cue {text!r} at {start:.3f} s starts in silence"
    assert after_pause >= len(cues) / 3, (after_pause, len(cues))


def test_narration_sounds_inside_its_segments(tiktok_render: Rendered, tmp_path: Path) -> None:
    voice_only = render(
        tiktok_render.plan,
        tmp_path / "voice.mp4",
        preview=True,
        pad=False,
        cache_dir=tiktok_render.cache_dir,
        jobs=2,
    )
    decoded = decode(voice_only.path, keep_frames=False)
    assert decoded.audio is not None
    active, hop = _activity(decoded.audio, decoded.sample_rate)
    for seg in tiktok_render.plan.script.segments:
        a, b = round(seg.start / hop), round(seg.end / hop)
        inside = active[a:b]
        assert inside.mean() > 0.3, (seg.index, inside.mean())
        # A pause closes every segment: its speech never runs into the next one.
        assert not active[max(a, b - 12) : b].any(), seg.index


def test_cues_follow_the_rules(tiktok_render: Rendered) -> None:
    cues = _srt_cues(tiktok_render.result.videos["tiktok"].srt)
    for (s, e, _), (s2, _, _) in itertools.pairwise(cues):
        assert e - s >= 0.7 - 1e-3 and e <= s2 + 1e-3
    spoken = " ".join(text for _, _, text in cues)
    script = " ".join(seg.text for seg in tiktok_render.plan.script.segments)

    def words(text: str) -> list[str]:
        return re.findall(r"[a-z']+", text.lower())

    assert words(spoken) == words(script)


def test_same_plan_renders_identical_frames(tiktok_render: Rendered, tmp_path: Path) -> None:
    again = render(
        tiktok_render.plan, tmp_path / "again.mp4", preview=True, cache_dir=tmp_path / "c2", jobs=1
    )
    assert again.cache_hits == ()  # a cold render in its own cache
    assert decode(again.path).digest() == decode(tiktok_render.path).digest()


def _edit_overlay(plan: VideoPlan, index: int, text: str) -> VideoPlan:
    shots = tuple(
        s.model_copy(update={"text_overlay": text}) if s.index == index else s
        for s in plan.storyboard.shots
    )
    return plan.model_copy(
        update={"storyboard": plan.storyboard.model_copy(update={"shots": shots})}
    )


def test_one_edited_shot_encodes_one_clip(tiktok_render: Rendered, tmp_path: Path) -> None:
    plan = tiktok_render.plan
    edited = _edit_overlay(plan, 3, "Edited on purpose")
    result = render(
        edited, tmp_path / "edited.mp4", preview=True, cache_dir=tiktok_render.cache_dir
    )
    assert [n for n in result.rendered if n.startswith(("shot:", "transition:"))] == [
        "shot:tiktok:3"
    ]
    assert result.shots_cached == len(plan.storyboard.shots) - 1
    first = decode(tiktok_render.path)
    second = decode(result.path)
    shot = next(s for s in plan.storyboard.shots if s.index == 3)
    changed = [
        i
        for i, (a, b) in enumerate(zip(first.frames, second.frames, strict=True))
        if not np.array_equal(a, b)
    ]
    assert changed and all(shot.start - FRAME <= i / FPS < shot.end + FRAME for i in changed)


def test_subtitles_for_16_9_sit_at_the_bottom(tmp_path: Path) -> None:
    plan = truncate(plan_for("youtube"), 6.0)
    common = {"preview": True, "cache_dir": tmp_path / "cache", "jobs": 2}
    shown = render(plan, tmp_path / "a.mp4", **common)
    hidden = render(plan, tmp_path / "b.mp4", captions=False, **common)
    a, b = decode(shown.path), decode(hidden.path)
    assert (a.width, a.height) == (960, 540)
    cues = _srt_cues(shown.videos["youtube"].srt)
    assert cues
    start = cues[0][0]
    fa, fb = a.frame_at(start + 0.3)[: a.height], b.frame_at(start + 0.3)[: a.height]
    diff = np.abs(fa.astype(int) - fb.astype(int)) > 30
    rows = np.flatnonzero(diff.any(axis=1))
    assert rows.min() > a.height * 0.7  # only the bottom band changed


def test_assets_replace_the_shots_they_match(tiktok_plan: VideoPlan, tmp_path: Path) -> None:
    from PIL import Image

    assets = tmp_path / "assets"
    assets.mkdir()
    Image.new("RGB", (320, 240), (220, 20, 20)).save(assets / "sunlight.png")
    plan = truncate(tiktok_plan, 6.0)
    matching = [s for s in plan.storyboard.shots if "sunlight" in s.description.lower()]
    others = [s for s in plan.storyboard.shots if "sunlight" not in s.description.lower()]
    assert matching and others
    result = render(
        plan,
        tmp_path / "v.mp4",
        preview=True,
        assets=assets,
        captions=False,
        cache_dir=tmp_path / "cache",
        voice=None,
    )
    video = decode(result.path)

    def redness(t: float) -> float:
        frame = video.frame_at(t)
        h = video.height
        v = frame[h + h // 4 :].reshape(-1)  # the V (red-difference) plane
        return float(np.mean(v > 200))

    for shot in matching:
        assert redness(shot.start + shot.duration / 2) > 0.8, shot.index
    for shot in others:
        assert redness(shot.start + shot.duration / 2) < 0.2, shot.index


def test_a_music_file_becomes_the_bed(tiktok_plan: VideoPlan, tmp_path: Path) -> None:
    import av

    music = tmp_path / "bed.wav"
    with av.open(str(music), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=44100, layout="stereo")
        t = np.arange(44100 * 2) / 44100
        tone = (0.2 * np.sin(2 * np.pi * 330 * t) * 32767).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(
            np.stack([tone, tone]).T.reshape(1, -1).copy(), format="s16", layout="stereo"
        )
        frame.sample_rate = 44100
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    plan = truncate(tiktok_plan, 5.0)
    result = render(
        plan,
        tmp_path / "v.mp4",
        preview=True,
        music=music,
        voice=None,
        cache_dir=tmp_path / "cache",
    )
    decoded = decode(result.path, keep_frames=False)
    assert decoded.audio is not None
    spectrum = np.abs(np.fft.rfft(decoded.audio[: decoded.sample_rate * 4]))
    freqs = np.fft.rfftfreq(decoded.sample_rate * 4, 1 / decoded.sample_rate)
    assert abs(freqs[int(np.argmax(spectrum))] - 330) < 3  # the bed is the file's tone
    level = pyloudnorm.Meter(decoded.sample_rate).integrated_loudness(decoded.audio)
    assert -15.0 <= level <= -13.0
