"""Scene designer: the places and moods of the storyboard, one or more per segment."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

from vgkit.agents._text import agreeing, fill, seconds, split_ms, to_ms, upper_first
from vgkit.agents.base import AgentCall, AgentSpec, call_rng
from vgkit.agents.prompts import PROMPTS
from vgkit.models import Scene, SceneList, Script, TopicAnalysis
from vgkit.platforms import preset
from vgkit.templates import Template, TemplateSource, pick

SPEC = AgentSpec(
    name="scene_designer",
    step="scenes",
    version="1.0.0",
    output=SceneList,
    needs=("topic_analysis", "script"),
    kind="storyboard",
    description="Designs the scenes (setting, mood, action) for every script segment.",
    skills=("storyboard", "scene-design"),
    port=10213,
    seconds=8.0,
    prompt=PROMPTS["scene_designer"],
)

#: How much more likely a template tagged with the topic's category is chosen.
CATEGORY_WEIGHT = 3.0


def _pick(
    pool: Sequence[Template], rng: random.Random, category: str, previous: str | None
) -> Template:
    fresh = [t for t in pool if t.id != previous] or list(pool)
    weights = [t.weight * (CATEGORY_WEIGHT if category in t.tags else 1.0) for t in fresh]
    return pick(fresh, rng, weights)


async def run(call: AgentCall, templates: TemplateSource) -> SceneList:
    assert call.platform is not None
    script = call.input("script", Script)
    analysis = call.input("topic_analysis", TopicAnalysis)
    p = preset(call.platform)
    rng = call_rng(call)
    keywords, category = analysis.keywords, analysis.category
    catalogue = templates.candidates("scene", style=call.request.style.value)
    scenes: list[Scene] = []
    previous: str | None = None
    for seg in script.segments:
        pool = [t for t in catalogue if seg.kind in t["segments"]]
        pool = [t for t in pool if category in t.tags or "general" in t.tags] or pool
        parts = split_ms(to_ms(seg.duration), math.ceil(seg.duration / p.max_scene_length - 1e-9))
        cursor = to_ms(seg.start)
        for k, part in enumerate(parts):
            template = _pick(pool, rng, category, previous)
            previous = template.id
            focus = keywords[len(scenes) % len(keywords)]
            slots = {
                "focus": focus,
                **agreeing(focus),
                "Speaker": upper_first(seg.speaker),
                "speaker": seg.speaker,
            }
            title = seg.title if len(parts) == 1 else f"{seg.title} ({k + 1}/{len(parts)})"
            scenes.append(
                Scene(
                    index=len(scenes),
                    segment_index=seg.index,
                    segment_kind=seg.kind,
                    title=title,
                    focus=focus,
                    setting=str(template["setting"]),
                    mood=str(template["mood"]),
                    description=fill(template["description"], slots),
                    start=seconds(cursor),
                    duration=seconds(part),
                    template_id=template.id,
                )
            )
            cursor += part
    return SceneList(platform=call.platform, aspect_ratio=p.aspect_ratio, scenes=tuple(scenes))
