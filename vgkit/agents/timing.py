"""Timing coordinator: pacing, cut rhythm, speech rates and beats of a script."""

from __future__ import annotations

import re

from vgkit.agents._text import seconds, to_ms, word_count
from vgkit.agents.base import AgentCall, AgentSpec
from vgkit.models import Beat, Script, Style, TimingPlan
from vgkit.platforms import preset
from vgkit.templates import TemplateSource

SPEC = AgentSpec(
    name="timing_coordinator",
    step="timing",
    version="1.0.0",
    output=TimingPlan,
    needs=("script",),
    description="Plans pacing, shot rhythm and beats from the script's segments.",
    skills=("timing", "pacing"),
    port=10214,
    seconds=2.0,
)

#: Where in the platform's shot-length range each pacing sits (0 = shortest).
_PACE_POSITION = {"fast": 0.25, "medium": 0.5, "slow": 0.8}
#: Segments that want quicker or calmer cutting than the body.
_SEGMENT_FACTOR = {"hook": 0.7, "loop": 0.8, "point": 0.9, "cta": 1.2, "outro": 1.2}
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def pacing_for(quick_cuts: bool, style: Style) -> str:
    if quick_cuts or style is Style.VIRAL:
        return "fast"
    if style is Style.STORYTELLING:
        return "slow"
    return "medium"


async def run(call: AgentCall, templates: TemplateSource) -> TimingPlan:
    assert call.platform is not None
    script = call.input("script", Script)
    p = preset(call.platform)
    pacing = pacing_for(p.quick_cuts, call.request.style)
    lo, hi = p.shot_length
    base = lo + _PACE_POSITION[pacing] * (hi - lo)

    beats: list[Beat] = []
    shot_lengths: list[float] = []
    rates: list[float] = []
    for seg in script.segments:
        factor = _SEGMENT_FACTOR.get(seg.kind, 1.0)
        shot_lengths.append(round(min(hi, max(lo, base * factor)), 1))
        rates.append(round(seg.word_count / seg.duration, 2))
        start_ms, dur_ms = to_ms(seg.start), to_ms(seg.duration)
        beats.append(
            Beat(t=seconds(start_ms), segment_index=seg.index, kind="cut", label=seg.title)
        )
        sentences = [s for s in _SENTENCE_END.split(seg.text) if s]
        total_words = max(1, seg.word_count)
        spoken = 0
        for i, sentence in enumerate(sentences[:-1]):
            spoken += word_count(sentence)
            t_ms = start_ms + (dur_ms * spoken) // total_words
            label = " ".join(sentences[i + 1].split()[:4])
            beats.append(
                Beat(
                    t=seconds(t_ms // 100 * 100),
                    segment_index=seg.index,
                    kind="emphasis",
                    label=label,
                )
            )
        if seg.kind == "hook" and seg.index + 1 < len(script.segments):
            end = to_ms(seg.start + seg.duration)
            beats.append(
                Beat(t=seconds(end), segment_index=seg.index, kind="music", label="music drop")
            )
        if seg.kind == "cta" and start_ms >= 500:
            beats.append(
                Beat(
                    t=seconds(start_ms - 500),
                    segment_index=max(0, seg.index - 1),
                    kind="pause",
                    label="breath before the ask",
                )
            )
    order = {"cut": 0, "music": 1, "pause": 2, "emphasis": 3}
    unique: dict[tuple[float, str], Beat] = {}
    for beat in sorted(beats, key=lambda b: (b.t, order[b.kind])):
        unique.setdefault((beat.t, beat.kind), beat)
    return TimingPlan(
        platform=call.platform,
        pacing=pacing,
        words_per_minute=p.words_per_minute,
        segment_starts=tuple(s.start for s in script.segments),
        segment_durations=tuple(s.duration for s in script.segments),
        shot_lengths=tuple(shot_lengths),
        speech_rates=tuple(rates),
        beats=tuple(unique.values()),
        duration=script.duration,
    )
