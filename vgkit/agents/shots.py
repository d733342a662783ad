"""Shot describer: camera shots that tile every scene at the timing plan's rhythm."""

from __future__ import annotations

import random

from vgkit.agents._text import clip, fill, seconds, title_case, to_ms, upper_first
from vgkit.agents.base import AgentCall, AgentSpec, call_rng
from vgkit.agents.prompts import PROMPTS
from vgkit.models import Scene, SceneList, Shot, ShotList, TimingPlan
from vgkit.platforms import preset
from vgkit.templates import Template, TemplateSource, pick

SPEC = AgentSpec(
    name="shot_describer",
    step="shots",
    version="1.0.0",
    output=ShotList,
    needs=("scenes", "timing"),
    kind="storyboard",
    description="Breaks each scene into shots with type, camera move and composition.",
    skills=("storyboard", "cinematography"),
    port=10301,
    seconds=12.0,
    prompt=PROMPTS["shot_describer"],
)

_GRAIN_MS = 100
#: Shot character wanted per segment kind, cycled through within a scene.
_ROTATION = {
    "hook": ("opening", "detail", "drama"),
    "intro": ("talking", "explain", "detail"),
    "chapter": ("explain", "talking", "detail", "process", "movement"),
    "point": ("talking", "detail", "explain", "movement"),
    "value": ("detail", "explain", "talking", "process"),
    "cta": ("talking", "explain"),
    "outro": ("movement", "talking", "opening"),
    "loop": ("detail", "opening"),
}


def shot_lengths_ms(scene_ms: int, target_ms: int, min_ms: int, rng: random.Random) -> list[int]:
    """Jittered shot lengths (±25 % of the target) that sum exactly to the scene."""
    count = max(1, min(round(scene_ms / max(target_ms, 1)), scene_ms // max(min_ms, 1)))
    weights = [1 + rng.uniform(-0.25, 0.25) for _ in range(count)]
    total = sum(weights)
    pieces = [max(_GRAIN_MS, round(scene_ms * w / total / _GRAIN_MS) * _GRAIN_MS) for w in weights]
    pieces[-1] = scene_ms - sum(pieces[:-1])
    # Repair: no piece below the platform minimum (merge into a neighbour).
    while len(pieces) > 1 and min(pieces) < min_ms:
        i = pieces.index(min(pieces))
        merged = pieces.pop(i)
        pieces[max(0, i - 1)] += merged
    return pieces


def _pick(pool: list[Template], rng: random.Random, want: str, previous: str | None) -> Template:
    tagged = [t for t in pool if want in t.tags and t["shot_type"] != previous]
    fresh = tagged or [t for t in pool if t["shot_type"] != previous] or pool
    return pick(fresh, rng)


def _overlay(scene: Scene, limit: int) -> str:
    """On-screen text: the chapter's headline, or the topic's focus elsewhere."""
    if scene.segment_kind in ("chapter", "point") and ": " in scene.title:
        return clip(scene.title.split(": ", 1)[1], limit)
    return clip(title_case(scene.focus), limit)


async def run(call: AgentCall, templates: TemplateSource) -> ShotList:
    assert call.platform is not None
    scenes = call.input("scenes", SceneList)
    timing = call.input("timing", TimingPlan)
    p = preset(call.platform)
    rng = call_rng(call)
    pool = list(templates.candidates("shot", platform=call.platform.value))
    min_ms = to_ms(p.shot_length[0])
    shots: list[Shot] = []
    previous: str | None = None
    for scene in scenes.scenes:
        target_ms = to_ms(timing.shot_lengths[scene.segment_index])
        rotation = _ROTATION.get(scene.segment_kind, ("explain",))
        cursor = to_ms(scene.start)
        lengths = shot_lengths_ms(to_ms(scene.duration), target_ms, min_ms, rng)
        for k, length in enumerate(lengths):
            want = "opening" if scene.index == 0 and k == 0 else rotation[k % len(rotation)]
            template = _pick(pool, rng, want, previous)
            previous = template["shot_type"]
            slots = {
                "focus": scene.focus,
                "setting": scene.setting[:1].lower() + scene.setting[1:],
                "Speaker": "The host",
            }
            overlay = _overlay(scene, p.caption_max_chars) if p.text_overlays and k == 0 else None
            shots.append(
                Shot(
                    index=len(shots),
                    scene_index=scene.index,
                    shot_type=str(template["shot_type"]),
                    camera=str(template["camera"]),
                    composition=str(template["composition"]),
                    description=upper_first(fill(template["description"], slots)),
                    start=seconds(cursor),
                    duration=seconds(length),
                    aspect_ratio=p.aspect_ratio,
                    text_overlay=overlay,
                    template_id=template.id,
                )
            )
            cursor += length
    return ShotList(platform=call.platform, shots=tuple(shots))
