"""Topic analysis: keywords, key points, category and angle of the topic."""

from __future__ import annotations

import re
from collections import Counter

from vgkit.agents._text import fill, slots_for, upper_first
from vgkit.agents.base import AgentCall, AgentSpec
from vgkit.models import TopicAnalysis
from vgkit.templates import TemplateSource

SPEC = AgentSpec(
    name="topic_analysis",
    step="topic_analysis",
    version="1.0.0",
    output=TopicAnalysis,
    kind="topic",
    per_platform=False,
    description="Extracts keywords, key points, category and angle from a topic.",
    skills=("topic-analysis", "keyword-extraction"),
)

_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9'+#\-]*")
MAX_KEYWORDS = 8


def _tokens(topic: str) -> list[tuple[str, str]]:
    """(display form, lowercase form) of each word; proper nouns keep their case."""
    out = []
    for i, match in enumerate(_TOKEN.finditer(topic)):
        word = match.group(0).strip("'-")
        if not word:
            continue
        lower = word.lower()
        keep_case = any(c.isupper() for c in word[1:]) or (i > 0 and word[0].isupper())
        out.append((word if keep_case else lower, lower))
    return out


def keywords_of(
    topic: str,
    stopwords: frozenset[str],
    verbs: frozenset[str],
    frames: frozenset[str] = frozenset(),
) -> list[str]:
    """Noun-ish phrases of the topic: adjacent content words pair up, verbs split them."""
    words = _tokens(topic)
    content = [(shown, low) for shown, low in words if low not in stopwords]
    phrases: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if len(run) >= 2:
            phrases.append(" ".join(run[-2:]))
            phrases.extend(run[:-2])
        elif run:
            phrases.append(run[0])
        run.clear()

    for shown, low in words:
        if low in stopwords or low in verbs:
            flush()
        else:
            run.append(shown)
    flush()
    if not phrases:
        phrases = [shown for shown, low in content if low not in verbs] or [
            " ".join(shown for shown, _ in words) or topic.lower()
        ]
    seen: list[str] = []
    for phrase in phrases:
        if phrase.lower() not in {s.lower() for s in seen}:
            seen.append(phrase)
    # The first phrase usually names the subject, unless it is a frame such as
    # "the history of ..." or "the basics of ...": then the framed phrase leads.
    ordered = sorted(seen, key=lambda p: p.lower() in frames)
    return ordered[:MAX_KEYWORDS]


def category_of(keywords: list[str], categories: dict[str, list[str]]) -> str:
    # The subject (first keyword) counts double: it decides close calls.
    words = Counter(w.lower() for k in keywords for w in k.split())
    for w in keywords[0].split() if keywords else ():
        words[w.lower()] += 1
    scores = {
        name: sum(words[w] for w in vocabulary) for name, vocabulary in sorted(categories.items())
    }
    best = max(scores.items(), key=lambda kv: kv[1], default=("general", 0))
    return best[0] if best[1] > 0 else "general"


async def run(call: AgentCall, templates: TemplateSource) -> TopicAnalysis:
    request = call.request
    stopwords = frozenset(templates.get("lexicon.stopwords")["words"])
    verbs = frozenset(templates.get("lexicon.verbs")["words"])
    frames = frozenset(templates.get("lexicon.frames")["words"])
    keywords = keywords_of(request.topic, stopwords, verbs, frames)
    category = category_of(keywords, templates.get("lexicon.categories")["categories"])
    draft = TopicAnalysis(
        topic=request.topic,
        keywords=tuple(keywords),
        key_points=("-",),
        category=category,
        angle="-",
        summary="-",
    )
    slots = slots_for(request, draft)
    style = request.style.value
    patterns = templates.get("lexicon.key_points")["patterns"][style]
    key_points = tuple(fill(p, slots) for p in patterns)
    angle = fill(templates.get("lexicon.angles")["patterns"][style], slots)
    summary = (
        f"{upper_first(keywords[0])} for {request.audience}: {len(key_points)} key points, "
        f"{category} category, {style} style."
    )
    return draft.model_copy(update={"key_points": key_points, "angle": angle, "summary": summary})
