"""Platform presets from the original design, and the section arithmetic."""

from __future__ import annotations

import pytest

from vgkit.platforms import Platform, allocate_sections, preset, presets


def test_presets_match_the_original_design() -> None:
    yt, tt, ig = (preset(p) for p in Platform)
    assert (yt.aspect_ratio, yt.min_duration, yt.max_duration, yt.optimal_duration) == (
        "16:9",
        60,
        1200,
        480,
    )
    assert yt.hook_bounds == (10.0, 15.0)
    assert (yt.section("intro").min, yt.section("intro").max) == (15, 30)
    assert (yt.section("outro").min, yt.section("outro").max) == (30, 45)
    assert (yt.section("cta").min, yt.section("cta").max) == (15, 20)
    assert yt.chapters
    assert (tt.aspect_ratio, tt.min_duration, tt.max_duration, tt.optimal_duration) == (
        "9:16",
        15,
        60,
        30,
    )
    assert tt.hook_bounds == (1.0, 3.0)
    assert (tt.section("loop").min, tt.section("loop").max) == (2, 5)
    assert tt.quick_cuts and tt.text_overlays and tt.loop_ending
    assert (ig.aspect_ratio, ig.min_duration, ig.max_duration, ig.optimal_duration) == (
        "9:16",
        15,
        90,
        45,
    )
    assert ig.hook_bounds == (2.0, 5.0)
    assert (ig.section("value").min, ig.section("value").max) == (20, 70)
    assert (ig.section("cta").min, ig.section("cta").max) == (5, 10)
    assert list(presets()) == list(Platform)


@pytest.mark.parametrize("platform", list(Platform))
def test_sections_tile_every_allowed_duration(platform: Platform) -> None:
    p = preset(platform)
    seconds = p.min_duration
    while seconds <= p.max_duration:
        slots = allocate_sections(p, seconds)
        cursor = 0
        for slot in slots:
            assert slot.start_ms == cursor
            assert slot.duration_ms > 0
            cursor = slot.end_ms
        assert cursor == round(seconds * 1000)
        assert slots[0].kind == "hook"
        seconds += 0.7 if p.max_duration <= 90 else 13.3


@pytest.mark.parametrize("platform", list(Platform))
def test_optimal_duration_respects_every_section_bound(platform: Platform) -> None:
    p = preset(platform)
    slots = allocate_sections(p, p.optimal_duration)
    assert all(slot.within_bounds for slot in slots), [
        (s.kind, s.duration_ms, s.min, s.max) for s in slots
    ]


def test_short_youtube_drops_optional_sections_and_keeps_bounds() -> None:
    slots = allocate_sections(preset("youtube"), 60)
    kinds = [s.kind for s in slots]
    assert "intro" not in kinds and "outro" not in kinds
    assert kinds[0] == "hook" and "cta" in kinds and "chapter" in kinds
    assert all(s.within_bounds for s in slots)


def test_long_youtube_uses_many_chapters_within_bounds() -> None:
    slots = allocate_sections(preset("youtube"), 1200)
    chapters = [s for s in slots if s.kind == "chapter"]
    assert 6 <= len(chapters) <= 12
    assert all(s.within_bounds for s in slots)


def test_impossible_section_bounds_are_reported_not_hidden() -> None:
    # A 15 s Reel cannot hold a 20 s value section: the slot says so.
    slots = allocate_sections(preset("instagram_reels"), 15)
    value = next(s for s in slots if s.kind == "value")
    assert not value.within_bounds
    assert sum(s.duration_ms for s in slots) == 15_000
