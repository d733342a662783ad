"""Assembler: puts every artifact together into one VideoPlan, with captions."""

from __future__ import annotations

import re

from vgkit.agents._text import seconds, to_ms
from vgkit.agents.base import AgentCall, AgentSpec
from vgkit.errors import AgentError
from vgkit.models import (
    Caption,
    CTAPlan,
    HookSet,
    SceneList,
    Script,
    ScriptSegment,
    ShotList,
    Storyboard,
    TimingPlan,
    TopicAnalysis,
    TransitionPlan,
    VideoPlan,
    content_hash,
)
from vgkit.platforms import preset
from vgkit.templates import TemplateSource

SPEC = AgentSpec(
    name="assembler",
    step="assemble",
    version="1.0.0",
    output=VideoPlan,
    needs=("topic_analysis", "hooks", "script", "timing", "scenes", "shots", "transitions", "cta"),
    kind="result",
    description="Assembles script, storyboard, transitions, CTAs and captions into a plan.",
    skills=("assembly", "captions"),
    port=10305,
    seconds=0.5,
)

_CAPTION_GRAIN_MS = 10
_NON_WORD = re.compile(r"[^0-9A-Za-z]+")


def caption_chunks(text: str, max_words: int, max_chars: int) -> list[list[str]]:
    """Greedy split of ``text`` into caption lines within both limits."""
    chunks: list[list[str]] = []
    line: list[str] = []
    for word in text.split():
        candidate = " ".join([*line, word])
        if line and (len(line) >= max_words or len(candidate) > max_chars):
            chunks.append(line)
            line = []
        line.append(word)
        if word[-1:] in ".!?" and len(line) >= 2:
            chunks.append(line)
            line = []
    if line:
        chunks.append(line)
    return chunks


def segment_captions(
    seg: ScriptSegment, max_words: int, max_chars: int, first_index: int
) -> list[Caption]:
    """Cues that tile the segment, each timed by its share of the words."""
    chunks = caption_chunks(seg.text, max_words, max_chars)
    start_ms, end_ms = to_ms(seg.start), to_ms(seg.start + seg.duration)
    total = sum(len(c) for c in chunks) or 1
    cues: list[Caption] = []
    spoken = 0
    cursor = start_ms
    for i, chunk in enumerate(chunks):
        spoken += len(chunk)
        if i == len(chunks) - 1:
            stop = end_ms
        else:
            share = start_ms + (end_ms - start_ms) * spoken // total
            stop = share // _CAPTION_GRAIN_MS * _CAPTION_GRAIN_MS
        if stop <= cursor:
            continue
        cues.append(
            Caption(
                index=first_index + len(cues),
                start=seconds(cursor),
                end=seconds(stop),
                text=" ".join(chunk),
            )
        )
        cursor = stop
    return cues


def hashtag(phrase: str) -> str:
    words = [w for w in _NON_WORD.split(phrase) if w]
    return "#" + "".join(w[:1].upper() + w[1:] for w in words)


def _check_tiling(name: str, spans: list[tuple[float, float]], total: float) -> None:
    cursor = 0
    for start, duration in spans:
        if to_ms(start) != cursor:
            raise AgentError("assembler", f"{name} do not tile the timeline at {seconds(cursor)} s")
        cursor += to_ms(duration)
    if cursor != to_ms(total):
        raise AgentError("assembler", f"{name} end at {seconds(cursor)} s, not {total} s")


async def run(call: AgentCall, templates: TemplateSource) -> VideoPlan:
    assert call.platform is not None
    p = preset(call.platform)
    analysis = call.input("topic_analysis", TopicAnalysis)
    hooks = call.input("hooks", HookSet)
    script = call.input("script", Script)
    timing = call.input("timing", TimingPlan)
    scenes = call.input("scenes", SceneList)
    shots = call.input("shots", ShotList)
    transitions = call.input("transitions", TransitionPlan)
    cta = call.input("cta", CTAPlan)
    total = script.duration
    _check_tiling("script segments", [(s.start, s.duration) for s in script.segments], total)
    _check_tiling("scenes", [(s.start, s.duration) for s in scenes.scenes], total)
    _check_tiling("shots", [(s.start, s.duration) for s in shots.shots], total)
    captions: list[Caption] = []
    for seg in script.segments:
        captions.extend(
            segment_captions(seg, p.caption_max_words, p.caption_max_chars, len(captions))
        )
    tags = [hashtag(k) for k in analysis.keywords[: max(0, p.hashtags - 1)]]
    tags.append(hashtag(analysis.category))
    hashtags = tuple(dict.fromkeys(tags))
    storyboard = Storyboard(aspect_ratio=p.aspect_ratio, scenes=scenes.scenes, shots=shots.shots)
    plan_id = content_hash(
        {
            "platform": call.platform.value,
            "script": script.script_id,
            "shots": [s.model_dump(mode="json") for s in shots.shots],
            "transitions": transitions.model_dump(mode="json"),
            "cta": cta.model_dump(mode="json"),
        }
    )
    return VideoPlan(
        plan_id=plan_id,
        platform=call.platform,
        request=call.request,
        title=script.title,
        duration=total,
        aspect_ratio=p.aspect_ratio,
        resolution=p.resolution,
        topic=analysis,
        hooks=hooks,
        script=script,
        timing=timing,
        storyboard=storyboard,
        transitions=transitions,
        cta=cta,
        captions=tuple(captions),
        hashtags=hashtags,
    )
