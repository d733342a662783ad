"""Script writer: timed narration, tiled into the platform's sections."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping, Sequence

from vgkit.agents._text import fill, seconds, slots_for, title_case, upper_first, word_count
from vgkit.agents.base import AgentCall, AgentSpec, call_rng
from vgkit.agents.prompts import PROMPTS
from vgkit.models import HookSet, Script, ScriptSegment, TopicAnalysis, content_hash
from vgkit.platforms import allocate_sections, preset
from vgkit.templates import TemplateSource

SPEC = AgentSpec(
    name="script_writer",
    step="script",
    version="1.1.0",
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
_OPENERS = {"chapter": "Part {n}: {point}.", "point": "{Point}."}


class _Phrasebook:
    """Sentence pools per segment kind for one script, never saying a sentence twice.

    Each pool is shuffled once per call (seeded), and a sentence template is
    handed out at most once per script while unused ones fit: narration makes
    repeats audible. Only when a pool runs dry (very long videos) is a template
    used again, and then only if it reads differently (another keyword fills it).
    ``{keyword}`` moves through the topic's keywords sentence by sentence.
    """

    def __init__(self, pools: Mapping[str, Sequence[str]], rng: random.Random) -> None:
        self._pools = {kind: list(sentences) for kind, sentences in pools.items()}
        for sentences in self._pools.values():
            rng.shuffle(sentences)
        self._used: Counter[str] = Counter()
        self._said: set[str] = set()
        self._turn = 0

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
        self._said.add(lead)
        words = word_count(lead)
        tolerance = max(1, budget // 7)
        pool = self._pools.get(kind, [])
        while words < budget:
            room = budget - words + tolerance
            order = sorted(range(len(pool)), key=lambda i: (self._used[pool[i]], i))
            text = ""
            for i in order:
                if word_count(pool[i]) > room:
                    continue
                keyword = keywords[self._turn % len(keywords)]
                candidate = fill(
                    pool[i], {**slots, "keyword": keyword, "Keyword": upper_first(keyword)}
                )
                if candidate not in self._said:
                    self._used[pool[i]] += 1
                    text = candidate
                    break
            if not text:
                break
            self._turn += 1
            self._said.add(text)
            parts.append(text)
            words += word_count(text)
        if not parts and pool:
            parts.append(fill(min(pool, key=word_count), {**slots, "keyword": keywords[0]}))
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
    sections: Mapping[str, Mapping[str, str]] = structure["sections"]
    pools: dict[str, list[str]] = {}
    for phrase in templates.candidates("phrase", style=request.style.value):
        pools.setdefault(phrase["segment"], []).extend(phrase["sentences"])
    book = _Phrasebook(pools, rng)

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
        budget = max(3, round(slot.duration_ms / 1000 * words_per_second * SPEAKING_SHARE))
        if slot.kind == "hook":
            lead = hooks.primary.text
        else:
            lead = fill(_OPENERS[slot.kind], slots) if slot.kind in _OPENERS else ""
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
