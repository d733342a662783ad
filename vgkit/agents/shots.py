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
    version="1.1.0",
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


#: Longest on-screen text per frame shape: one line of the overlay's type across 80 % of
#: the frame (the renderer's 62 px bold on a 1080 px wide 9:16 frame holds 20-23 characters).
OVERLAY_MAX_CHARS = {"9:16": 20, "16:9": 32, "1:1": 24}
#: Characters a viewer reads per second (the quality validator's reading speed).
OVERLAY_CHARS_PER_SECOND = 20.0


def overlay_text(scene: Scene, aspect_ratio: str, seconds_on_screen: float) -> str:
    """On-screen text: the chapter's headline, or the topic's focus (or its head, the last
    words of it: "Language Models" of "large language models"), whichever is the first to
    fit the frame and be read in the time the shot is on screen (clipped if none does)."""
    limit = min(
        OVERLAY_MAX_CHARS.get(aspect_ratio, 20),
        int(OVERLAY_CHARS_PER_SECOND * seconds_on_screen),
    )
    words = scene.focus.split()
    choices = [title_case(" ".join(words[i:])) for i in range(len(words))] or [scene.focus]
    if scene.segment_kind in ("chapter", "point") and ": " in scene.title:
        choices.insert(0, scene.title.split(": ", 1)[1])
    return next((text for text in choices if len(text) <= limit), clip(choices[-1], limit))


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
            overlay = (
                overlay_text(scene, p.aspect_ratio, length / 1000)
                if p.text_overlays and k == 0
                else None
            )
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
