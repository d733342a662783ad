"""CTA generator: what the viewer is asked to do, placed on the timeline."""

from __future__ import annotations

from vgkit.agents._text import clip, fill, seconds, slots_for, to_ms
from vgkit.agents.base import AgentCall, AgentSpec, call_rng
from vgkit.agents.prompts import PROMPTS
from vgkit.models import CallToAction, CTAPlan, Script, ScriptSegment, TopicAnalysis
from vgkit.platforms import preset
from vgkit.templates import Template, TemplateSource

SPEC = AgentSpec(
    name="cta_generator",
    step="cta",
    version="1.0.0",
    output=CTAPlan,
    needs=("topic_analysis", "script"),
    description="Writes the calls to action and places them where the platform expects them.",
    skills=("cta", "copywriting"),
    port=10303,
    seconds=3.0,
    prompt=PROMPTS["cta_generator"],
)

#: A CTA overlaid on a platform without a CTA section lasts at most this long.
OVERLAY_SECONDS = 3.0
MID_ROLL_SECONDS = 5.0


def _action(
    template: Template,
    slots: dict[str, str],
    seg: ScriptSegment,
    start_ms: int,
    dur_ms: int,
    limit: int,
) -> CallToAction:
    return CallToAction(
        kind=str(template["action"]),
        text=fill(template["text"], slots),
        on_screen_text=clip(fill(template["on_screen"], slots), limit),
        at=seconds(start_ms),
        duration=seconds(dur_ms),
        segment_index=seg.index,
        template_id=template.id,
    )


async def run(call: AgentCall, templates: TemplateSource) -> CTAPlan:
    assert call.platform is not None
    platform = call.platform.value
    script = call.input("script", Script)
    analysis = call.input("topic_analysis", TopicAnalysis)
    p = preset(call.platform)
    rng = call_rng(call)
    slots = slots_for(call.request, analysis)
    style = call.request.style.value
    limit = max(p.caption_max_chars, 32)
    segments = script.segments
    cta_segment = next((s for s in segments if s.kind == "cta"), None)
    primary_template = templates.choose(
        "cta", rng, platform=platform, style=style, tags=("primary",)
    )
    if cta_segment is not None:
        primary = _action(
            primary_template,
            slots,
            cta_segment,
            to_ms(cta_segment.start),
            to_ms(cta_segment.duration),
            limit,
        )
    else:
        # No CTA section (TikTok): overlay the ask on the closing seconds.
        last = segments[-1]
        dur_ms = min(to_ms(last.duration), to_ms(OVERLAY_SECONDS))
        primary = _action(primary_template, slots, last, to_ms(last.end) - dur_ms, dur_ms, limit)
    secondary: list[CallToAction] = []
    chapters = [s for s in segments if s.kind == "chapter"]
    if len(chapters) >= 2:
        mid = chapters[1]
        template = templates.choose("cta", rng, platform=platform, tags=("mid_roll",))
        dur_ms = min(to_ms(MID_ROLL_SECONDS), to_ms(mid.duration))
        secondary.append(_action(template, slots, mid, to_ms(mid.start), dur_ms, limit))
    outro = next((s for s in segments if s.kind == "outro"), None)
    if outro is not None and p.end_screen:
        template = templates.choose("cta", rng, platform=platform, tags=("end_screen",))
        secondary.append(
            _action(template, slots, outro, to_ms(outro.start), to_ms(outro.duration), limit)
        )
    return CTAPlan(platform=call.platform, primary=primary, secondary=tuple(secondary))
