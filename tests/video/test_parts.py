"""The render's parts on their own: timeline, cues, look, narration, mix, cache, assets."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.video.conftest import plan_for, truncate
from vgkit.errors import AssetError, VoiceError
from vgkit.models import VideoPlan
from vgkit.video.assets import load_assets, match_assets
from vgkit.video.cache import ClipCache, spec_key
from vgkit.video.canvas import Planes, Sprite, rgb_to_yuv
from vgkit.video.captions import (
    CUE_LIMITS,
    MIN_CUE,
    CaptionLayer,
    CaptionStyle,
    Cue,
    Word,
    build_cues,
    cues_srt,
)
from vgkit.video.encode import FPS
from vgkit.video.espeak import fit_segment
from vgkit.video.look import Look
from vgkit.video.mix import generated_pad, loudness, normalise, soundtrack
from vgkit.video.narration import check_voice
from vgkit.video.timeline import layout
from vgkit.video.transitions import style_of
from vgkit.video.visuals import camera_for, family_of


@pytest.mark.parametrize("platform", ["tiktok", "instagram_reels", "youtube"])
def test_timeline_tiles_every_frame_once(platform: str) -> None:
    plan = plan_for(platform)
    slots = layout(plan, FPS)
    assert slots[0].first == 0 and slots[-1].end == round(plan.duration * FPS)
    for a, b in itertools.pairwise(slots):
        assert a.end == b.first and a.frames >= 1
    shots = {s.index: s for s in plan.storyboard.shots}
    assert {s.index for s in slots if s.kind == "shot"} == set(shots)
    # Every transition with a length gets exactly its planned frames.
    planned = {t.index: t for t in plan.transitions.transitions}
    for slot in slots:
        if slot.kind == "transition":
            assert slot.frames == round(planned[slot.index].duration * FPS)
    with_length = [t for t in plan.transitions.transitions if round(t.duration * FPS) > 0]
    assert len([s for s in slots if s.kind == "transition"]) == len(with_length)


def _words(spec: list[tuple[str, float]], end: float) -> list[Word]:
    out = []
    for i, (text, start) in enumerate(spec):
        stop = spec[i + 1][1] if i + 1 < len(spec) else end
        out.append(Word(text, start, stop, 0))
    return out


def test_cues_start_on_words_and_last_at_least_min() -> None:
    words = _words(
        [("One", 0.0), ("two", 0.2), ("three.", 0.35), ("Four", 0.5), ("five", 0.6), ("six", 2.0)],
        2.5,
    )
    cues = build_cues(words, style="short", duration=2.6)
    starts = {w.start for w in words}
    for cue in cues:
        assert cue.start in starts
        assert cue.end - cue.start >= MIN_CUE - 1e-9
    assert [w.text for c in cues for w in c.words] == [w.text for w in words]
    assert cues_srt(cues).startswith("1\n00:00:00,000 --> ")


def test_a_short_last_cue_joins_the_one_before() -> None:
    words = _words([("Hello", 0.0), ("there", 1.0), ("end.", 1.5)], 1.7)
    cues = build_cues(words, style="short", duration=1.8)
    assert cues[-1].end <= 1.8 and all(c.end - c.start >= MIN_CUE for c in cues)


def _spoken(plan: VideoPlan) -> list[Word]:
    """The plan's narration as eSpeak speaks it, timed on the video's timeline."""
    words = []
    for seg in plan.script.segments:
        for text, start, end in fit_segment(seg.text, seg.duration).words:
            words.append(Word(text, seg.start + start, seg.start + end, seg.index))
    return words


@pytest.mark.parametrize(
    ("platform", "full", "seconds", "style", "size"),
    [
        # 25 words of the second segment said in 1.5 s, at the end of the video.
        ("tiktok", 15.0, 4.0, "short", (1080, 1920)),
        # 29 words in 1.2 s.
        ("youtube", None, 1.2, "subtitle", (1920, 1080)),
    ],
)
def test_a_squeezed_plan_keeps_every_cue_within_the_caps(
    platform: str,
    full: float | None,
    seconds: float,
    style: CaptionStyle,
    size: tuple[int, int],
) -> None:
    plan = truncate(plan_for(platform, full), seconds)
    words = _spoken(plan)
    limits = CUE_LIMITS[style]
    last = plan.script.segments[-1]
    said = [w for w in words if w.segment == last.index]
    assert len(said) / last.duration > limits.max_words / MIN_CUE  # faster than the caps show
    cues = build_cues(words, style=style, duration=plan.duration)
    layer = CaptionLayer(cues, style, Look.for_topic(plan.request.topic), *size)
    for cue in cues:
        assert len(cue.words) <= limits.max_words, cue.text
        assert len(layer.lines(cue)) <= limits.max_lines, layer.lines(cue)
    # Every word of the narration, in order, once; each cue starts on its first word.
    assert [w for c in cues for w in c.words] == sorted(words, key=lambda w: w.start)
    for a, b in itertools.pairwise(cues):
        assert a.start == a.words[0].start and a.start < a.end <= b.start
    assert cues[-1].end <= plan.duration
    # A cue under the minimum only where joining it to the next would break a cap.
    for a, b in itertools.pairwise(cues):
        if a.end - a.start < MIN_CUE - 1e-9:
            assert not limits.fits([w.text for w in a.words + b.words]), (a.text, b.text)
    # Where the voice leaves time (the first segment), cues still last the minimum.
    first = [c for c in cues if c.words[-1].segment == 0]
    if len(plan.script.segments) > 1:
        assert first and all(c.end - c.start >= MIN_CUE - 1e-9 for c in first)


def test_a_word_wider_than_the_line_is_drawn_smaller_inside_the_frame() -> None:
    look = Look.for_topic("Electroencephalography for beginners")
    width, height = 1080, 1920
    layer = CaptionLayer([], "short", look, width, height)
    long_word = Cue(0, 0.0, 1.0, (Word("Electroencephalographically,", 0.0, 1.0, 0),))
    plain = Cue(1, 1.0, 2.0, tuple(Word(w, 1.0, 2.0, 0) for w in ("Brain", "waves")))
    sprite, x, _ = layer._render(long_word, 0)
    assert x >= 0 and x + sprite.width <= width  # at the caption size it is ~1,300 px wide
    assert layer.lines(long_word) == ["Electroencephalographically,"]
    # Cues whose words fit keep the caption size: the same picture as before.
    face, stroke, _ = layer._short_face(["Brain", "waves"])
    assert (face.size, stroke) == (82, 7)
    assert layer._short_face(["Electroencephalographically,"])[0].size < 82
    assert layer._render(plain, 0)[0].width < width * 0.86


def test_looks_follow_the_topic() -> None:
    a = Look.for_topic("How solar panels turn sunlight into electricity")
    assert a == Look.for_topic("how solar  panels turn sunlight into electricity")
    looks = {Look.for_topic(t) for t in ("Sourdough for beginners", "Learn Rust in a week", "Jazz")}
    assert len({(lk.palette, lk.motif, lk.heading_font) for lk in looks | {a}}) >= 3
    assert Look.from_dict(a.to_dict()) == a


def test_shot_types_and_camera_words_choose_visuals() -> None:
    assert family_of("kinetic text") == "kinetic"
    assert family_of("Split Screen") == "split"
    assert family_of("a weird drone wide shot") == "landscape"
    import random

    rng = random.Random(1)
    assert camera_for("slow dolly in", "landscape", rng).k0 > 1.0
    assert camera_for("digital punch-in 120%", "detail", rng).ramp < 0.5
    assert camera_for("static on tripod", "presenter", rng).static
    assert style_of("cross dissolve") == "crossfade" and style_of("whip pan") == "push"
    assert style_of("dip to black") == "dip" and style_of("something new") == "crossfade"


def test_sprite_blends_exactly_at_full_opacity() -> None:
    image = Image.new("RGBA", (10, 6), (200, 30, 60, 255))
    planes = Planes.filled(20, 20, (16, 128, 128))
    Sprite(image).blend(planes, 4, 4)
    y, u, v = rgb_to_yuv((200, 30, 60))
    assert planes.y[5, 5] == y and planes.u[3, 3] == u and planes.v[3, 3] == v
    assert planes.y[0, 0] == 16
    Sprite(image).faded(0.5).blend(planes, 12, 12)
    assert 16 < planes.y[14, 14] < y or y < planes.y[14, 14] < 16


def test_narration_fills_its_segment_and_times_its_words() -> None:
    text = "Solar panels turn light into power. It happens in silicon, quietly."
    for seconds in (4.0, 7.0):
        speech = fit_segment(text, seconds)
        assert speech.seconds <= seconds
        assert speech.seconds >= 0.75 * seconds
        words = [w for w, _, _ in speech.words]
        assert words[0] == "Solar" and words[5] == "power." and words[-1] == "quietly."
        starts = [s for _, s, _ in speech.words]
        assert starts == sorted(starts) and starts[-1] < speech.seconds


def test_unknown_voice_is_a_voice_error() -> None:
    check_voice("en-us")
    check_voice("de")
    check_voice("en-us+f3")
    with pytest.raises(VoiceError, match="unknown voice 'no-such-voice'"):
        check_voice("no-such-voice")
    with pytest.raises(VoiceError, match="unknown voice variant 'nobody'"):
        check_voice("en-us+nobody")


def test_mix_is_normalised_and_the_bed_ducks_under_speech() -> None:
    rate = 22050
    speech = np.zeros(rate * 6, np.float32)
    t = np.arange(rate * 2) / rate
    speech[rate : rate * 3] = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    mix, level = soundtrack(speech, 6.0, rate, seed=1)
    assert abs(level + 14) <= 0.15 and abs(loudness(mix, rate) + 14) <= 0.15
    bed_only = generated_pad(6.0, rate, 1)
    assert bed_only.shape == (rate * 6,)
    # Under speech the bed is ducked: the mix there is dominated by the tone.
    quiet = np.abs(mix[int(4.5 * rate) : int(5.0 * rate)]).mean()
    assert quiet > 0  # the bed plays between words
    x = (0.9 * np.sin(np.arange(rate * 3) / rate * 2 * np.pi * 100)).astype(np.float32)
    assert math.isclose(normalise(x, rate), -14.0, abs_tol=0.15)


def test_cache_rejects_a_corrupt_entry(tmp_path: Path) -> None:
    cache = ClipCache(tmp_path)
    key = spec_key("clip", {"a": 1})
    assert key != spec_key("clip", {"a": 2}) and key == spec_key("clip", {"a": 1})
    src = tmp_path / "x.mp4"
    src.write_bytes(b"0" * 1000)
    entry = cache.put(key, {"clip.mp4": src}, {"frames": 3})
    assert cache.get(key) is not None and entry.meta == {"frames": 3}
    with entry.files["clip.mp4"].open("r+b") as f:
        f.write(b"1")
    assert cache.get(key) is None and cache.corrupt == 1
    assert not entry.files["clip.mp4"].exists()


def test_assets_match_shots_by_name_and_tags(tmp_path: Path) -> None:
    Image.new("RGB", (64, 48), (255, 0, 0)).save(tmp_path / "solar-panels.png")
    Image.new("RGB", (64, 48), (0, 0, 255)).save(tmp_path / "roof.jpg")
    (tmp_path / "tags.json").write_text('{"roof.jpg": ["sunlight"]}')
    (tmp_path / "notes.txt").write_text("ignored")
    assets = load_assets(tmp_path)
    assert [a.path.name for a in assets] == ["roof.jpg", "solar-panels.png"]
    chosen = match_assets(assets, ["Texture of solar panels", "Time-lapse of sunlight", "A cat"])
    assert [c.path.name if c else None for c in chosen] == ["solar-panels.png", "roof.jpg", None]
    (tmp_path / "broken.png").write_bytes(b"not a png")
    with pytest.raises(AssetError, match=r"cannot read asset .*broken\.png"):
        load_assets(tmp_path)


def test_truncated_plans_keep_their_shape() -> None:
    plan = truncate(plan_for("youtube"), 10.0)
    assert plan.duration == 10.0
    assert math.isclose(sum(s.duration for s in plan.script.segments), 10.0)
    assert math.isclose(sum(s.duration for s in plan.storyboard.shots), 10.0)


async def test_a_segment_speaks_the_same_every_time(tmp_path: Path) -> None:
    """eSpeak NG carries state between utterances; a fresh process per segment does not."""
    from vgkit.video.narration import speak_segments

    text = "Solar panels turn light into power. It happens in silicon, quietly."
    segments = [{"text": text, "seconds": 5.0, "out": str(tmp_path / f"{i}.pcm")} for i in range(3)]
    infos = await speak_segments(segments, "en-us", concurrency=2)
    assert infos[0] == infos[1] == infos[2]
    data = [(tmp_path / f"{i}.pcm").read_bytes() for i in range(3)]
    assert data[0] == data[1] == data[2] and len(data[0]) > 2 * 22050 * 3
    # In one process the same text drifts (which is why each segment gets a process).
    first, second = fit_segment(text, 5.0), fit_segment(text, 5.0)
    assert first.pcm.tobytes() != second.pcm.tobytes()
