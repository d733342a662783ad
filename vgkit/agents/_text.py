"""Text helpers shared by the template agents: slot filling, casing, timing units."""

from __future__ import annotations

import re
from collections.abc import Mapping

from vgkit.errors import TemplateError
from vgkit.models import TopicAnalysis, VideoRequest

_SLOT = re.compile(r"\{(\w+)\}")
_SMALL_WORDS = frozenset(
    "a an and as at but by for from in into nor of on or the to vs with".split()
)
#: A last word ending in s is plural unless it ends in one of these (glass, virus, analysis).
_SINGULAR_ENDINGS = ("ss", "us", "is", "'s")
#: Singular nouns that end in s all the same: fields of study ("physics is"), and the
#: uncountable or same-in-both-numbers ones a topic is likely to name.
_SINGULAR_WORDS = frozenset(
    """news series species means lens gas bias canvas atlas chaos diabetes measles
    physics mathematics economics statistics politics ethics genetics linguistics
    robotics electronics athletics gymnastics logistics analytics acoustics optics
    aerobics ceramics""".split()
)
#: An acronym with a plural s (CDs, APIs, LLMs).
_PLURAL_ACRONYM = re.compile(r"[A-Z][A-Z0-9]+s")
#: The pieces of a name in camel case: capitals in a row, or a word (iOS: i, OS).
_CAMEL_PIECE = re.compile(r"[A-Z0-9]+(?![a-z])|[A-Z]?[a-z]+")
#: Plural nouns that do not end in s.
_PLURAL_WORDS = frozenset(
    "people children men women feet teeth mice geese police cattle media criteria "
    "phenomena bacteria".split()
)


def upper_first(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def title_case(text: str) -> str:
    """Headline casing that leaves small words and existing capitals alone."""
    words = text.split(" ")
    out = []
    for i, word in enumerate(words):
        if i and word.lower() in _SMALL_WORDS:
            out.append(word.lower())
        elif word[:1].islower():
            out.append(upper_first(word))
        else:
            out.append(word)
    return " ".join(out)


def is_plural(phrase: str) -> bool:
    """Whether a verb after ``phrase`` takes the plural: a rough English rule on its last
    word (good enough for agreement). An acronym in capitals (GPS, DNS) is singular, and
    so is a name that ends in one (iOS, macOS); a plural acronym (CDs, APIs) is plural.
    A name that ends in a plain s (James, Paris) is still read as a plural."""
    words = phrase.split()
    if not words:
        return False
    shown = words[-1]
    if _PLURAL_ACRONYM.fullmatch(shown):
        return True
    last = shown.lower()
    if last in _PLURAL_WORDS:
        return True
    if last in _SINGULAR_WORDS or shown.isupper():
        return False
    pieces = _CAMEL_PIECE.findall(shown)
    if pieces and len(pieces[-1]) > 1 and pieces[-1].isupper():
        return False  # the acronym at the end of a name (iOS, macOS)
    return last.endswith("s") and not last.endswith(_SINGULAR_ENDINGS)


def agreeing(phrase: str, prefix: str = "") -> dict[str, str]:
    """The slots that agree with ``phrase`` as the subject of a sentence: ``{is}``,
    ``{was}``, ``{does}``, ``{has}``, ``{s}`` (``work{s}``) and ``{it}`` (the object
    pronoun), each named with ``prefix`` first (``{keyword_is}``)."""
    plural = is_plural(phrase)
    forms = {
        "is": ("are", "is"),
        "was": ("were", "was"),
        "does": ("do", "does"),
        "has": ("have", "has"),
        "s": ("", "s"),
        "it": ("them", "it"),
    }
    return {prefix + name: pair[0] if plural else pair[1] for name, pair in forms.items()}


def keyword_slots(keyword: str) -> dict[str, str]:
    """The slots that name ``keyword``: ``{keyword}``, ``{Keyword}``, and the verbs and
    pronoun that agree with it (``{keyword} shine{keyword_s}``, ``{keyword_is}``, ...)."""
    return {"keyword": keyword, "Keyword": upper_first(keyword), **agreeing(keyword, "keyword_")}


def fill(pattern: str, slots: Mapping[str, str]) -> str:
    """Replace ``{name}`` slots; an unknown slot is a bug in the library."""

    def sub(match: re.Match[str]) -> str:
        key = match.group(1)
        try:
            return slots[key]
        except KeyError:
            raise TemplateError(f"unknown slot {{{key}}} in template text {pattern!r}") from None

    return _SLOT.sub(sub, pattern)


def slots_for(
    request: VideoRequest,
    analysis: TopicAnalysis,
    *,
    speaker: str = "the host",
    point: str | None = None,
    keyword_index: int = 0,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The slot values templates may use, for one request and topic."""
    subject = analysis.keywords[0]
    keyword = analysis.keywords[keyword_index % len(analysis.keywords)]
    chosen_point = point if point is not None else analysis.key_points[0]
    slots = {
        "topic": request.topic,
        "subject": subject,
        "Subject": upper_first(subject),
        **keyword_slots(keyword),
        "point": chosen_point,
        "Point": upper_first(chosen_point),
        "focus": subject,
        "audience": request.audience,
        "Audience": title_case(request.audience),
        "tone": request.tone,
        "speaker": speaker,
        "Speaker": upper_first(speaker),
        **agreeing(subject),
        "n": "1",
        "seconds": "30",
        "setting": "the set",
    }
    if extra:
        slots.update(extra)
    return slots


def word_count(text: str) -> int:
    return len(text.split())


def seconds(ms: int) -> float:
    """Milliseconds to seconds for models (exact decimal repr for whole ms)."""
    return ms / 1000


def to_ms(value: float) -> int:
    return round(value * 1000)


def split_ms(total_ms: int, parts: int, grain: int = 100) -> list[int]:
    """Split ``total_ms`` into ``parts`` near-equal pieces on a grain; they sum exactly."""
    parts = max(1, parts)
    each = (total_ms // parts // grain) * grain
    if each == 0:
        each = total_ms // parts
    pieces = [each] * (parts - 1)
    pieces.append(total_ms - each * (parts - 1))
    return pieces


def clip(text: str, limit: int) -> str:
    """Shorten to ``limit`` characters on a word boundary, with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: max(1, limit - 1)].rsplit(" ", 1)[0].rstrip(",.;:")
    return cut + "…"
