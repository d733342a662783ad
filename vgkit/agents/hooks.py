"""Hook creator: the opening line, sized to the platform's hook window."""

from __future__ import annotations

from vgkit.agents._text import fill, seconds, slots_for, word_count
from vgkit.agents.base import AgentCall, AgentSpec, call_rng
from vgkit.agents.prompts import PROMPTS
from vgkit.models import Hook, HookSet, TopicAnalysis
from vgkit.platforms import allocate_sections, preset
from vgkit.templates import Template, TemplateSource, pick

SPEC = AgentSpec(
    name="hook_creator",
    step="hooks",
    version="1.0.0",
    output=HookSet,
    needs=("topic_analysis",),
    description="Writes the opening hook and alternatives within the platform's hook window.",
    skills=("hooks", "copywriting"),
    port=10215,
    seconds=4.0,
    prompt=PROMPTS["hook_creator"],
)

ALTERNATIVES = 2
#: Below this many words per second a hook reads comfortably aloud.
_COMFORTABLE_WPS = 3.0


def hook_seconds(call: AgentCall) -> float:
    """The hook section's length: the same arithmetic the script writer uses."""
    assert call.platform is not None
    p = preset(call.platform)
    slots = allocate_sections(p, call.request.target_duration(call.platform))
    return seconds(next(s.duration_ms for s in slots if s.kind == "hook"))


def _render(template: Template, slots: dict[str, str], duration: float) -> Hook:
    text = fill(template["text"], slots)
    if word_count(text) / duration > _COMFORTABLE_WPS:
        text = fill(template["short"], slots)
    return Hook(
        template_id=template.id,
        kind=template["kind"],
        text=text,
        on_screen_text=fill(template["on_screen"], slots),
        visual=fill(template["visual"], slots),
        duration=duration,
    )


async def run(call: AgentCall, templates: TemplateSource) -> HookSet:
    assert call.platform is not None
    analysis = call.input("topic_analysis", TopicAnalysis)
    duration = hook_seconds(call)
    rng = call_rng(call)
    pool = list(
        templates.candidates("hook", platform=call.platform.value, style=call.request.style.value)
    )
    chosen: list[Template] = []
    while pool and len(chosen) < 1 + ALTERNATIVES:
        template = pick(pool, rng)
        chosen.append(template)
        pool.remove(template)
    if not chosen:
        chosen = [templates.choose("hook", rng, platform=call.platform.value)]
    slots = slots_for(
        call.request,
        analysis,
        extra={"seconds": str(round(call.request.target_duration(call.platform)))},
    )
    hooks = [_render(t, slots, duration) for t in chosen]
    return HookSet(platform=call.platform, primary=hooks[0], alternatives=tuple(hooks[1:]))
