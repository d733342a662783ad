"""Transition planner: how every scene hands over to the next (and loops back)."""

from __future__ import annotations

import itertools

from vgkit.agents._text import seconds, to_ms
from vgkit.agents.base import AgentCall, AgentSpec, call_rng
from vgkit.agents.prompts import PROMPTS
from vgkit.models import SceneList, TimingPlan, Transition, TransitionPlan
from vgkit.platforms import preset
from vgkit.templates import TemplateSource, pick

SPEC = AgentSpec(
    name="transition_planner",
    step="transitions",
    version="1.0.0",
    output=TransitionPlan,
    needs=("scenes", "timing"),
    kind="storyboard",
    description="Chooses a transition for every scene boundary, matched to the pacing.",
    skills=("editing", "transitions"),
    port=10302,
    seconds=4.0,
    prompt=PROMPTS["transition_planner"],
)

#: Longest transition for a pacing, in seconds (fast edits hide their cuts).
_MAX_FOR_PACING = {"fast": 0.3, "medium": 0.8, "slow": 1.0}


async def run(call: AgentCall, templates: TemplateSource) -> TransitionPlan:
    assert call.platform is not None
    scenes = call.input("scenes", SceneList).scenes
    timing = call.input("timing", TimingPlan)
    p = preset(call.platform)
    rng = call_rng(call)
    catalogue = list(templates.candidates("transition", platform=call.platform.value))
    transitions: list[Transition] = []
    previous = ""
    for before, after in itertools.pairwise(scenes):
        where = "within" if before.segment_index == after.segment_index else "section"
        pool = [t for t in catalogue if where in t.tags and timing.pacing in t.tags]
        pool = (
            [t for t in pool if t["name"] != previous] or pool or [templates.get("transition.cut")]
        )
        template = pick(pool, rng)
        previous = str(template["name"])
        limit_ms = min(
            to_ms(_MAX_FOR_PACING[timing.pacing]),
            to_ms(before.duration) // 2,
            to_ms(after.duration) // 2,
        )
        duration_ms = min(to_ms(float(template["duration"])), limit_ms)
        transitions.append(
            Transition(
                index=len(transitions),
                at=after.start,
                from_scene=before.index,
                to_scene=after.index,
                kind=previous,
                duration=seconds(duration_ms),
                note=str(template["note"]),
                template_id=template.id,
            )
        )
    if p.loop_ending and len(scenes) > 1:
        loop = templates.get("transition.loop")
        transitions.append(
            Transition(
                index=len(transitions),
                at=scenes[-1].end,
                from_scene=scenes[-1].index,
                to_scene=scenes[0].index,
                kind=str(loop["name"]),
                duration=0.0,
                note=str(loop["note"]),
                template_id=loop.id,
            )
        )
    return TransitionPlan(
        platform=call.platform, transitions=tuple(transitions), loop=p.loop_ending
    )
