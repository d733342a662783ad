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
    version="1.1.0",
    output=VideoPlan,
    needs=("topic_analysis", "hooks", "script", "timing", "scenes", "shots", "transitions", "cta"),
    kind="result",
    description="Assembles script, storyboard, transitions, CTAs and captions into a plan.",
    skills=("assembly", "captions"),
    port=10305,
    seconds=0.5,
)

_CAPTION_GRAIN_MS = 10
#: The shortest time a caption cue stays on screen (a shorter one flashes by unread).
MIN_CUE_MS = 700
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


def _fits(chunk: list[str], max_words: int, max_chars: int) -> bool:
    return (len(chunk) <= max_words and len(" ".join(chunk)) <= max_chars) or len(chunk) == 1


def _rebalance(
    chunks: list[list[str]], span_ms: int, max_words: int, max_chars: int
) -> list[list[str]]:
    """Chunks whose share of ``span_ms`` (by words) is at least :data:`MIN_CUE_MS` where
    the limits allow: a chunk too short to read joins a neighbour in its sentence (in the
    next one only when the span is crowded), or takes words from it (the pair split where
    the shorter half is longest)."""
    chunks = [list(c) for c in chunks if c]
    total = sum(len(c) for c in chunks) or 1
    least = -(-MIN_CUE_MS * total // max(span_ms, 1))  # words a cue needs
    # Across the end of a sentence only when the span cannot give every cue its time.
    crowded = (MIN_CUE_MS + _CAPTION_GRAIN_MS) * len(chunks) > span_ms
    for _ in range(4 * len(chunks)):
        short = [i for i, c in enumerate(chunks) if len(c) < least]
        if not short or len(chunks) == 1:
            break
        moved = False
        for i in short:
            sides = [j for j in (i - 1, i + 1) if 0 <= j < len(chunks)]
            for j in sorted(sides, key=lambda j: len(chunks[j])):
                a, b = min(i, j), max(i, j)
                if chunks[a][-1][-1:] in ".!?" and not crowded:
                    continue
                pair = chunks[a] + chunks[b]
                if _fits(pair, max_words, max_chars):
                    chunks[a : b + 1] = [pair]
                    moved = True
                    break
                cuts = [
                    k
                    for k in range(1, len(pair))
                    if _fits(pair[:k], max_words, max_chars)
                    and _fits(pair[k:], max_words, max_chars)
                ]
                best = max(cuts, key=lambda k: min(k, len(pair) - k), default=None)
                if best is not None and min(best, len(pair) - best) > len(chunks[i]):
                    chunks[a : b + 1] = [pair[:best], pair[best:]]
                    moved = True
                    break
            if moved:
                break
        if not moved:
            break
        crowded = (MIN_CUE_MS + _CAPTION_GRAIN_MS) * len(chunks) > span_ms
    return chunks


def _cue_lengths(counts: list[int], span_ms: int) -> list[float]:
    """Each cue's time: its share of the words, but no less than :data:`MIN_CUE_MS` (the
    longer cues give up the difference) when the span holds that many."""
    total = sum(counts) or 1
    floor = MIN_CUE_MS + _CAPTION_GRAIN_MS  # margin for the grain the cue ends snap to
    if floor * len(counts) > span_ms:
        return [span_ms * c / total for c in counts]
    held: set[int] = set()
    while True:
        rest = span_ms - floor * len(held)
        free = sum(c for i, c in enumerate(counts) if i not in held) or 1
        lengths = [floor if i in held else rest * c / free for i, c in enumerate(counts)]
        short = {i for i, length in enumerate(lengths) if length < floor} - held
        if not short:
            return lengths
        held |= short


def segment_captions(
    seg: ScriptSegment, max_words: int, max_chars: int, first_index: int
) -> list[Caption]:
    """Cues that tile the segment, each timed by its share of the words and, where the
    limits allow, on screen for at least :data:`MIN_CUE_MS`."""
    start_ms, end_ms = to_ms(seg.start), to_ms(seg.start + seg.duration)
    chunks = _rebalance(
        caption_chunks(seg.text, max_words, max_chars), end_ms - start_ms, max_words, max_chars
    )
    lengths = _cue_lengths([len(c) for c in chunks], end_ms - start_ms)
    cues: list[Caption] = []
    elapsed = 0.0
    cursor = start_ms
    for i, chunk in enumerate(chunks):
        elapsed += lengths[i]
        if i == len(chunks) - 1:
            stop = end_ms
        else:
            stop = start_ms + round(elapsed / _CAPTION_GRAIN_MS) * _CAPTION_GRAIN_MS
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
