"""Platform presets (YouTube, TikTok, Instagram Reels) and section allocation.

The presets live in the template library (``vgkit/templates/platforms.json``) so
the template cache can index and version them like any other template; this
module turns them into typed, frozen values and owns the arithmetic that splits
a target duration into the platform's sections.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any

__all__ = [
    "Platform",
    "PlatformPreset",
    "SectionSlot",
    "SectionSpec",
    "allocate_sections",
    "preset",
    "presets",
]


class Platform(StrEnum):
    """A publishing platform. The declaration order is the canonical order."""

    YOUTUBE = "youtube"
    TIKTOK = "tiktok"
    INSTAGRAM_REELS = "instagram_reels"


@dataclass(frozen=True, slots=True, kw_only=True)
class SectionSpec:
    """One section of a platform's structure, with its duration bounds in seconds."""

    kind: str
    label: str
    min: float
    max: float
    ideal: float
    optional: bool = False
    repeat: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PlatformPreset:
    """Everything the agents need to know about a platform."""

    platform: Platform
    template_id: str
    version: int
    name: str
    aspect_ratio: str
    resolution: tuple[int, int]
    min_duration: float
    max_duration: float
    optimal_duration: float
    words_per_minute: int
    shot_length: tuple[float, float]
    max_scene_length: float
    chapters: bool
    quick_cuts: bool
    text_overlays: bool
    loop_ending: bool
    end_screen: bool
    sections: tuple[SectionSpec, ...]
    caption_max_chars: int
    caption_max_words: int
    hashtags: int

    def section(self, kind: str) -> SectionSpec:
        """The section spec of ``kind`` (KeyError if the platform has none)."""
        for spec in self.sections:
            if spec.kind == kind:
                return spec
        raise KeyError(f"{self.platform.value} has no section {kind!r}")

    def has_section(self, kind: str) -> bool:
        return any(spec.kind == kind for spec in self.sections)

    @property
    def hook_bounds(self) -> tuple[float, float]:
        spec = self.section("hook")
        return (spec.min, spec.max)

    def contains(self, seconds: float) -> bool:
        """Whether a total duration lies inside the platform's bounds."""
        return self.min_duration <= seconds <= self.max_duration


@dataclass(frozen=True, slots=True, kw_only=True)
class SectionSlot:
    """A section placed on the timeline (milliseconds, so slots tile exactly)."""

    kind: str
    label: str
    index: int
    start_ms: int
    duration_ms: int
    min: float
    max: float

    @property
    def end_ms(self) -> int:
        return self.start_ms + self.duration_ms

    @property
    def within_bounds(self) -> bool:
        seconds = self.duration_ms / 1000
        return self.min - 1e-9 <= seconds <= self.max + 1e-9


def _parse_preset(raw: dict[str, Any]) -> PlatformPreset:
    sections = tuple(
        SectionSpec(
            kind=s["kind"],
            label=s["label"],
            min=float(s["min"]),
            max=float(s["max"]),
            ideal=float(s["ideal"]),
            optional=bool(s.get("optional", False)),
            repeat=(int(s["repeat"][0]), int(s["repeat"][1])) if "repeat" in s else None,
        )
        for s in raw["sections"]
    )
    features = raw["features"]
    return PlatformPreset(
        platform=Platform(raw["platform"]),
        template_id=raw["id"],
        version=int(raw["version"]),
        name=raw["name"],
        aspect_ratio=raw["aspect_ratio"],
        resolution=(int(raw["resolution"][0]), int(raw["resolution"][1])),
        min_duration=float(raw["duration"]["min"]),
        max_duration=float(raw["duration"]["max"]),
        optimal_duration=float(raw["duration"]["optimal"]),
        words_per_minute=int(raw["words_per_minute"]),
        shot_length=(float(raw["shot_length"]["min"]), float(raw["shot_length"]["max"])),
        max_scene_length=float(raw["max_scene_length"]),
        chapters=bool(features["chapters"]),
        quick_cuts=bool(features["quick_cuts"]),
        text_overlays=bool(features["text_overlays"]),
        loop_ending=bool(features["loop_ending"]),
        end_screen=bool(features["end_screen"]),
        sections=sections,
        caption_max_chars=int(raw["captions"]["max_chars"]),
        caption_max_words=int(raw["captions"]["max_words"]),
        hashtags=int(raw["hashtags"]),
    )


@cache
def presets() -> dict[Platform, PlatformPreset]:
    """All platform presets, read once from the packaged template library."""
    text = resources.files("vgkit").joinpath("templates/platforms.json").read_text("utf-8")
    data = json.loads(text)
    parsed = (_parse_preset(raw) for raw in data["templates"])
    by_platform = {p.platform: p for p in parsed}
    return {platform: by_platform[platform] for platform in Platform}


def preset(platform: Platform | str) -> PlatformPreset:
    """The preset of one platform."""
    return presets()[Platform(platform)]


_GRAIN_MS = 100  # section boundaries land on tenths of a second


def _round_grain(ms: float) -> int:
    return round(ms / _GRAIN_MS) * _GRAIN_MS


def _flexible(specs: list[SectionSpec]) -> SectionSpec:
    repeating = [s for s in specs if s.repeat is not None]
    if repeating:
        return repeating[0]
    return max(specs, key=lambda s: s.max - s.min)


def allocate_sections(p: PlatformPreset, total_seconds: float) -> tuple[SectionSlot, ...]:
    """Split ``total_seconds`` into the platform's sections.

    Optional sections are dropped (largest first) when the minimums do not fit;
    fixed sections start at their ideal length; the flexible section (the
    repeating one, or the one with the widest range) takes the rest, split into
    as many instances as its ideal length suggests. If the flexible part is
    still out of its bounds, fixed sections give or take time within their own
    bounds. Durations that cannot be honoured (a 15 s Reel cannot hold a 20 s
    value section) are kept as close as possible; ``SectionSlot.within_bounds``
    says so and the quality validator reports it.
    """
    total_ms = _round_grain(total_seconds * 1000)
    kept = list(p.sections)

    def min_total(specs: list[SectionSpec]) -> float:
        return sum(s.min * (s.repeat[0] if s.repeat else 1) for s in specs)

    while min_total(kept) * 1000 > total_ms:
        optional = [s for s in kept if s.optional]
        if not optional:
            break
        kept.remove(max(optional, key=lambda s: s.min))

    flex = _flexible(kept)
    fixed = [s for s in kept if s is not flex]
    fixed_ms = {s.kind: _round_grain(s.ideal * 1000) for s in fixed}
    flex_ms = total_ms - sum(fixed_ms.values())
    lo, hi = flex.repeat or (1, 1)
    count = min(max(round(flex_ms / (flex.ideal * 1000)), lo), hi)
    # Prefer a count whose per-instance length lies inside the bounds.
    while count > lo and flex_ms / count < flex.min * 1000:
        count -= 1
    while count < hi and flex_ms / count > flex.max * 1000:
        count += 1

    def rebalance(target_each_ms: float, toward_min: bool) -> None:
        nonlocal flex_ms
        need = target_each_ms * count - flex_ms  # >0: flex needs more time
        for s in fixed:
            if abs(need) < _GRAIN_MS:
                break
            bound = s.min if toward_min else s.max
            room = fixed_ms[s.kind] - _round_grain(bound * 1000)
            give = min(room, need) if toward_min else max(room, need)
            give = _round_grain(give)
            fixed_ms[s.kind] -= give
            flex_ms += give
            need -= give

    if flex_ms / count < flex.min * 1000:
        rebalance(flex.min * 1000, toward_min=True)
    elif flex_ms / count > flex.max * 1000:
        rebalance(flex.max * 1000, toward_min=False)

    if flex_ms < count * _GRAIN_MS:
        # Degenerate: even the minimums of the fixed sections leave no room.
        # Scale everything down proportionally so the timeline still tiles.
        scale = total_ms / max(1, sum(fixed_ms.values()) + count * _GRAIN_MS)
        for kind in fixed_ms:
            fixed_ms[kind] = max(_GRAIN_MS, _round_grain(fixed_ms[kind] * scale))
        flex_ms = total_ms - sum(fixed_ms.values())

    each = (flex_ms // count // _GRAIN_MS) * _GRAIN_MS
    flex_parts = [each] * (count - 1) + [flex_ms - each * (count - 1)]

    slots: list[SectionSlot] = []
    cursor = 0
    for spec in kept:
        parts = flex_parts if spec is flex else [fixed_ms[spec.kind]]
        for part in parts:
            slots.append(
                SectionSlot(
                    kind=spec.kind,
                    label=spec.label,
                    index=len(slots),
                    start_ms=cursor,
                    duration_ms=part,
                    min=spec.min,
                    max=spec.max,
                )
            )
            cursor += part
    return tuple(slots)
