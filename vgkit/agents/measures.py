"""Measures of narration text: words, sentences, repetition, coverage of key terms.

The quality validator scores plans with these, and the tests and notebooks
measure the template backend's scripts with the same functions, so a figure in
a report and a threshold in a test mean the same thing.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterable, Sequence

__all__ = [
    "REPEAT_OPENING",
    "distinct_ngram_fraction",
    "refers_back",
    "repeat_share",
    "repeated_sentences",
    "sentences",
    "term_present",
    "words",
]

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def words(text: str) -> list[str]:
    """Lower-case words of ``text`` (punctuation dropped, apostrophes kept inside words)."""
    return _WORD.findall(text.lower())


def sentences(text: str) -> list[str]:
    """The sentences of ``text``: split after ``.``, ``!`` or ``?`` followed by a space."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def distinct_ngram_fraction(tokens: Sequence[str], n: int = 4) -> float:
    """Distinct word ``n``-grams over all ``n``-grams (1.0: nothing repeats).

    A text shorter than ``n`` words has no n-gram to repeat and scores 1.0.
    """
    total = len(tokens) - n + 1
    if total <= 0:
        return 1.0
    grams = {tuple(tokens[i : i + n]) for i in range(total)}
    return len(grams) / total


def repeated_sentences(texts: Iterable[str]) -> list[str]:
    """Sentences said more than once across ``texts`` (compared case- and space-insensitively)."""
    seen: Counter[str] = Counter()
    for text in texts:
        for sentence in sentences(text):
            seen[" ".join(words(sentence))] += 1
    return [s for s, count in seen.items() if count > 1 and s]


#: Sentences that open with this many of the same words count as said again.
REPEAT_OPENING = 6


def repeat_share(texts: Iterable[str]) -> float:
    """The share of the sentences of ``texts`` a listener has heard before: said again
    word for word (as :func:`repeated_sentences` finds them), or opening with the same
    :data:`REPEAT_OPENING` words as an earlier one (a sentence cut short, or one that
    says the same again with a different ending)."""
    said = [ws for text in texts for x in sentences(text) if (ws := words(x))]
    if not said:
        return 0.0
    heard: set[tuple[str, ...]] = set()
    again = 0
    for ws in said:
        whole = tuple(ws)
        opening = tuple(ws[:REPEAT_OPENING]) if len(ws) >= REPEAT_OPENING else None
        if whole in heard or (opening is not None and opening in heard):
            again += 1
        heard.add(whole)
        if opening is not None:
            heard.add(opening)
    return again / len(said)


def term_present(term: str, tokens: Sequence[str]) -> bool:
    """Whether every word of ``term`` occurs, in order and adjacent, in ``tokens``."""
    parts = _term_words(term)
    if not parts:
        return False
    first, k = parts[0], len(parts)
    if k == 1:
        return first in tokens
    # Only where the first word occurs (found in C by ``index``), compare the rest: the
    # quality validator asks this for every key term of every sentence of a plan.
    stop = len(tokens) - k + 1
    at = 0
    while at < stop:
        try:
            at = tokens.index(first, at, stop)
        except ValueError:
            return False
        if tuple(tokens[at : at + k]) == parts:
            return True
        at += 1
    return False


@functools.lru_cache(maxsize=1024)
def _term_words(term: str) -> tuple[str, ...]:
    return tuple(words(term))


#: Opening words that lean on the sentence before (connectives, pronouns, demonstratives).
_LEANING_OPENERS = frozenset(
    "and but so then that this these those it its they their them others other still yet "
    "also finally suddenly after even like instead neither both such each which same now "
    "because however meanwhile besides otherwise thus hence therefore".split()
)
#: Words that, second or third in a sentence, point back at something said before.
_LEANING_EARLY = frozenset(
    "that this these those it they them their such then there though".split()
)
#: Openings that answer or continue the sentence before.
_LEANING_PHRASES = ("the short answer", "the answer", "you would probably", "up close")


def refers_back(sentence: str) -> bool:
    """Whether ``sentence`` leans on the one before it (a heuristic, erring towards yes).

    True when it opens with a connective or pronoun ("And ...", "That is why ...",
    "It also ..."), has a pronoun or demonstrative second or third ("Keep that
    picture ...", "Think of it ..."), or opens with an answer to a question
    ("The short answer ..."). Said without what it refers to, such a sentence
    loses its sense; the template library keeps each one with the sentence it
    was written after.
    """
    tokens = words(sentence)
    if not tokens:
        return False
    if tokens[0] in _LEANING_OPENERS or any(t in _LEANING_EARLY for t in tokens[1:3]):
        return True
    opening = " ".join(tokens[:4])
    return any(opening.startswith(p) for p in _LEANING_PHRASES)
