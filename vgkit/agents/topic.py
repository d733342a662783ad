"""Topic analysis: keywords, key points, category and angle of the topic."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from vgkit.agents._text import slots_for, upper_first
from vgkit.agents.base import AgentCall, AgentSpec
from vgkit.agents.prompts import PROMPTS
from vgkit.errors import TemplateError
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
    port=10304,
    seconds=3.0,
    prompt=PROMPTS["topic_analysis"],
)

#: A number with its separators (10,000; 50/30/20; 3.5), or a word.
_TOKEN = re.compile(r"\d+(?:[,./]\d+)+|[A-Za-z0-9][A-Za-z0-9'+#\-]*")
#: Punctuation that ends a phrase (a colon, a comma, a question mark, ...).
_CLAUSE = re.compile(r"[:;!?()\u2013\u2014]|,(?!\d)|\.(?!\d)|\s-\s")
_SLOT = re.compile(r"\{(\w+)\}")
MAX_KEYWORDS = 8

_T = TypeVar("_T")
#: (id of a template value, what was derived from it) -> (the value, the derived object).
_DERIVED: dict[tuple[int, str], tuple[object, Any]] = {}


def _derived(source: object, what: str, make: Callable[[Any], _T]) -> _T:
    """``make(source)``, computed once per template value.

    Topic analysis runs on every request an agent server gets, and rebuilding
    word sets and the category index from the library's lists each time was
    most of its cost. Template values are never mutated, so their identity is
    a sound key (the entry keeps the value alive, so its id is never reused).
    """
    key = (id(source), what)
    hit = _DERIVED.get(key)
    if hit is not None and hit[0] is source:
        value: _T = hit[1]
        return value
    if len(_DERIVED) >= 256:  # bounded: template sources that learn may hand out new lists
        _DERIVED.clear()
    value = make(source)
    _DERIVED[key] = (source, value)
    return value


def _tokens(topic: str) -> list[tuple[str, str]]:
    """(display form, lowercase form) of each word; proper nouns keep their case."""
    out = []
    for i, token in enumerate(_TOKEN.findall(topic)):
        word = token.strip("'-")
        if not word:
            continue
        lower = word.lower()
        # A word keeps its case if it has a capital after the first letter, or starts
        # with one anywhere but at the start of the topic. Tokens are ASCII, so a word
        # with no capital at all is its own lower case.
        if word == lower:
            keep_case = False
        elif i > 0:
            keep_case = True
        else:
            tail = word[1:]
            keep_case = tail != tail.lower()
        out.append((word if keep_case else lower, lower))
    return out


def keywords_of(
    topic: str,
    stopwords: frozenset[str],
    verbs: frozenset[str],
    frames: frozenset[str] = frozenset(),
) -> list[str]:
    """Noun-ish phrases of the topic: adjacent content words join up to three (the last
    three of a longer run; the words before them stand alone), verbs split them."""
    phrases: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            phrases.append(" ".join(run[-3:]))
            phrases.extend(run[:-3])
        run.clear()

    for clause in _CLAUSE.split(topic):
        for shown, low in _tokens(clause):
            if low in stopwords or low in verbs:
                flush()
            else:
                run.append(shown)
        flush()
    if not phrases:  # nothing but stopwords and verbs: the topic itself
        phrases = [" ".join(shown for shown, _ in _tokens(topic)) or topic.lower()]
    seen: list[str] = []
    seen_lower: set[str] = set()
    for phrase in phrases:
        lower = phrase.lower()
        if lower not in seen_lower:
            seen_lower.add(lower)
            seen.append(phrase)
    # The first phrase usually names the subject, unless it is a frame such as
    # "the history of ..." or "the basics of ...": then the framed phrase leads.
    ordered = sorted(seen, key=lambda p: p.lower() in frames)
    return ordered[:MAX_KEYWORDS]


def category_index(
    categories: dict[str, list[str]],
) -> tuple[tuple[str, ...], dict[str, tuple[int, ...]]]:
    """Category names in sorted order, and word -> the positions of the categories
    listing it (once per listing, so a word listed twice counts twice)."""
    names = tuple(sorted(categories))
    index: dict[str, list[int]] = {}
    for position, name in enumerate(names):
        for word in categories[name]:
            index.setdefault(word, []).append(position)
    return names, {word: tuple(positions) for word, positions in index.items()}


def category_of(keywords: Sequence[str], categories: dict[str, list[str]]) -> str:
    """The category whose vocabulary the keywords use most (ties: the first by name)."""
    # The subject (first keyword) counts double: it decides close calls.
    words = Counter(w.lower() for k in keywords for w in k.split())
    for w in keywords[0].split() if keywords else ():
        words[w.lower()] += 1
    # Score from the keywords' side through an inverted index: a handful of
    # lookups instead of one per vocabulary word of every category.
    names, index = _derived(categories, "category_index", category_index)
    scores = [0] * len(names)
    for word, count in words.items():
        for position in index.get(word, ()):
            scores[position] += count
    best = max(range(len(names)), key=scores.__getitem__, default=None)
    return names[best] if best is not None and scores[best] > 0 else "general"


def _pieces(pattern: str) -> list[str]:
    """``pattern`` split at its slots: literal, slot name, literal, ..., literal."""
    return _SLOT.split(pattern)


def _fill(pattern: str, slots: dict[str, str]) -> str:
    """``vgkit.agents._text.fill`` (same text, same error) over a pre-split pattern."""
    pieces = _derived(pattern, "pieces", _pieces)
    out = [pieces[0]]
    for i in range(1, len(pieces), 2):
        try:
            out.append(slots[pieces[i]])
        except KeyError:
            raise TemplateError(
                f"unknown slot {{{pieces[i]}}} in template text {pattern!r}"
            ) from None
        out.append(pieces[i + 1])
    return "".join(out)


async def run(call: AgentCall, templates: TemplateSource) -> TopicAnalysis:
    request = call.request
    stopwords = _derived(templates.get("lexicon.stopwords")["words"], "set", frozenset)
    verbs = _derived(templates.get("lexicon.verbs")["words"], "set", frozenset)
    frames = _derived(templates.get("lexicon.frames")["words"], "set", frozenset)
    keywords = keywords_of(request.topic, stopwords, verbs, frames)
    category = category_of(keywords, templates.get("lexicon.categories")["categories"])
    # The slots only read the keywords and the first key point of the draft; the
    # result is validated once, when it is complete.
    draft = TopicAnalysis.model_construct(
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
    key_points = tuple(_fill(p, slots) for p in patterns)
    angle = _fill(templates.get("lexicon.angles")["patterns"][style], slots)
    summary = (
        f"{upper_first(keywords[0])} for {request.audience}: {len(key_points)} key points, "
        f"{category} category, {style} style."
    )
    return TopicAnalysis(
        topic=request.topic,
        keywords=tuple(keywords),
        key_points=key_points,
        category=category,
        angle=angle,
        summary=summary,
    )
