"""Script writer: timed narration, tiled into the platform's sections."""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from vgkit.agents._text import (
    fill,
    keyword_slots,
    seconds,
    slots_for,
    title_case,
    upper_first,
    word_count,
)
from vgkit.agents.base import AgentCall, AgentSpec, call_rng
from vgkit.agents.measures import sentences, words
from vgkit.agents.prompts import PROMPTS
from vgkit.errors import TemplateError
from vgkit.models import HookSet, Script, ScriptSegment, TopicAnalysis, content_hash
from vgkit.platforms import allocate_sections, preset
from vgkit.templates import Template, TemplateSource

SPEC = AgentSpec(
    name="script_writer",
    step="script",
    version="1.2.0",
    output=Script,
    needs=("topic_analysis", "hooks"),
    description="Writes timed narration for every section of the platform's structure.",
    skills=("scriptwriting", "narration"),
    port=10212,
    seconds=15.0,
    prompt=PROMPTS["script_writer"],
)

#: Share of a segment's time that is spoken (the rest is breath and emphasis).
SPEAKING_SHARE = 0.92
_OPENERS = {"chapter": "Part {n}: {point}.", "point": "{Point}.", "value": "{Point}."}
_BARE_OPENERS = {"chapter": "Part {n}."}
#: A value segment (Reels) says this many key points, each opening a share of it.
VALUE_POINTS = 3
#: Slots that make a sentence name the topic.
_TOPIC_SLOTS = re.compile(r"\{(subject|Subject|keyword|Keyword|topic|point|Point)\}")


@dataclass(frozen=True, slots=True)
class Writing:
    """How a structure's writer writes (the ``writing`` object of a structure template).

    ``specific``: the share of passages that name the topic the writer aims for
    (None: whatever the shuffled pools give); ``pace``: words spoken as a
    multiple of the platform's words per minute; ``points``: whether body
    segments open by saying their key point; ``hook``: ``"open"`` (the
    narration opens with the hook) or ``"late"`` (``teaser`` first).
    """

    specific: float | None = None
    pace: float = 1.0
    points: bool = True
    hook: str = "open"
    teaser: str = ""

    @classmethod
    def of(cls, structure: Template) -> Writing:
        raw = structure.get("writing") or {}
        try:
            specific = raw.get("specific")
            return cls(
                specific=None if specific is None else float(specific),
                pace=float(raw.get("pace", 1.0)),
                points=bool(raw.get("points", True)),
                hook=str(raw.get("hook", "open")),
                teaser=str(raw.get("teaser", "")),
            )
        except (TypeError, ValueError) as exc:
            raise TemplateError(f"malformed writing of {structure.id}: {exc}") from exc


def _heard(text: str) -> list[str]:
    """The sentences of ``text`` as a listener tells them apart (case and punctuation aside)."""
    return [" ".join(words(sentence)) for sentence in sentences(text)]


class _Phrasebook:
    """Sentence pools per segment kind for one script, never saying a sentence twice.

    A pool entry is a passage: one sentence, or a few that lean on each other
    ("... a closer look. It is the place where ..."), handed out whole so that
    shuffling never separates a sentence from what it refers to. Each pool is
    shuffled once per call (seeded), and a passage is handed out at most once
    per script while unused ones fit: narration makes repeats audible. Only
    when a pool runs dry (very long videos) is a passage used again, and then
    only if none of its sentences was said (another keyword fills every one). ``{keyword}``
    moves through the topic's keywords passage by passage. With a ``specific``
    share, passages that name the topic are preferred while fewer than that
    share of the passages said so far do (and avoided while more do).
    """

    def __init__(
        self,
        pools: Mapping[str, Sequence[str]],
        rng: random.Random,
        specific: float | None = None,
    ) -> None:
        self._pools = {kind: list(passages) for kind, passages in pools.items()}
        for passages in self._pools.values():
            rng.shuffle(passages)
        self._used: Counter[str] = Counter()
        self._said: set[str] = set()
        self._turn = 0
        self._specific = specific
        self._named = 0

    def compose(
        self,
        kind: str,
        budget: int,
        slots: Mapping[str, str],
        keywords: Sequence[str],
        lead: str = "",
    ) -> str:
        """Sentences for ``kind`` until about ``budget`` words are spoken."""
        parts = [lead] if lead else []
        self._said.update(_heard(lead))
        words = word_count(lead)
        tolerance = max(1, min(budget // 7, 10))
        pool = self._pools.get(kind, [])
        while words < budget:
            room = budget - words + tolerance
            if self._specific is None:
                order = sorted(range(len(pool)), key=lambda i: (self._used[pool[i]], i))
            else:
                want = self._named < self._specific * (self._turn + 1)
                order = sorted(
                    range(len(pool)),
                    key=lambda i: (
                        self._used[pool[i]],
                        bool(_TOPIC_SLOTS.search(pool[i])) != want,
                        i,
                    ),
                )
            text = ""
            for i in order:
                if word_count(pool[i]) > room:
                    continue
                keyword = keywords[self._turn % len(keywords)]
                candidate = fill(pool[i], {**slots, **keyword_slots(keyword)})
                if self._said.isdisjoint(_heard(candidate)):
                    self._used[pool[i]] += 1
                    self._named += bool(_TOPIC_SLOTS.search(pool[i]))
                    text = candidate
                    break
            if not text:
                break
            self._turn += 1
            self._said.update(_heard(text))
            parts.append(text)
            words += word_count(text)
        if not parts and pool:
            parts.append(fill(min(pool, key=word_count), {**slots, **keyword_slots(keywords[0])}))
        return " ".join(parts)


def _points(
    book: _Phrasebook,
    budget: int,
    slots: Mapping[str, str],
    analysis: TopicAnalysis,
    numbered: int,
) -> str:
    """A value segment that says its key points, each opening its share of the words."""
    count = min(VALUE_POINTS, len(analysis.key_points))
    parts = []
    for k in range(count):
        point = analysis.key_points[(max(0, numbered - 1) + k) % len(analysis.key_points)]
        lead = f"{upper_first(point)}."
        share = budget * (k + 1) // count - budget * k // count
        mine = {**slots, "point": point, "Point": upper_first(point)}
        parts.append(book.compose("value", share, mine, analysis.keywords, lead=lead))
    return " ".join(parts)


async def run(call: AgentCall, templates: TemplateSource) -> Script:
    assert call.platform is not None
    request = call.request
    platform = call.platform
    p = preset(platform)
    analysis = call.input("topic_analysis", TopicAnalysis)
    hooks = call.input("hooks", HookSet)
    rng = call_rng(call)
    structure = templates.choose(
        "structure", rng, platform=platform.value, style=request.style.value
    )
    speaker = str(structure["speaker"])
    writing = Writing.of(structure)
    sections: Mapping[str, Mapping[str, str]] = structure["sections"]
    pools: dict[str, list[str]] = {}
    for phrase in templates.candidates("phrase", style=request.style.value):
        pools.setdefault(phrase["segment"], []).extend(phrase["sentences"])
    book = _Phrasebook(pools, rng, writing.specific)

    words_per_second = p.words_per_minute / 60
    segments: list[ScriptSegment] = []
    numbered = 0
    for slot in allocate_sections(p, request.target_duration(platform)):
        if slot.kind in _OPENERS:
            numbered += 1
        point = analysis.key_points[max(0, numbered - 1) % len(analysis.key_points)]
        slots = slots_for(
            request,
            analysis,
            speaker=speaker,
            point=point,
            keyword_index=numbered,
            extra={"n": str(max(1, numbered))},
        )
        spoken = slot.duration_ms / 1000 * words_per_second * SPEAKING_SHARE * writing.pace
        budget = max(3, round(spoken))
        if slot.kind == "hook":
            lead = hooks.primary.text
            if writing.hook == "late" and writing.teaser:
                lead = f"{fill(writing.teaser, slots)} {lead}"
            text = book.compose(slot.kind, budget, slots, analysis.keywords, lead=lead)
        elif slot.kind == "value" and writing.points:
            text = _points(book, budget, slots, analysis, numbered)
        else:
            openers = _OPENERS if writing.points else _BARE_OPENERS
            lead = fill(openers[slot.kind], slots) if slot.kind in openers else ""
            text = book.compose(slot.kind, budget, slots, analysis.keywords, lead=lead)
        section = sections[slot.kind]
        segments.append(
            ScriptSegment(
                index=slot.index,
                kind=slot.kind,
                title=title_case(fill(section["title"], slots)),
                text=text,
                start=seconds(slot.start_ms),
                duration=seconds(slot.duration_ms),
                speaker=speaker,
                visual_cue=fill(section["cue"], slots),
                word_count=word_count(text),
            )
        )
    title_slots = slots_for(request, analysis, speaker=speaker)
    title = title_case(fill(rng.choice(list(structure["titles"])), title_slots))
    body = [(s.kind, s.text, s.start, s.duration) for s in segments]
    return Script(
        script_id=content_hash({"platform": platform.value, "segments": body}),
        platform=platform,
        title=title,
        structure_id=structure.id,
        segments=tuple(segments),
        duration=seconds(sum(round(s.duration * 1000) for s in segments)),
        word_count=sum(s.word_count for s in segments),
    )
