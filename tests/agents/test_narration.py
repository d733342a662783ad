"""Narration-ready scripts: no sentence said twice in a plan, long scripts varied.

Over many bundled topics, every style and every platform at its default length,
no plan repeats a sentence; a YouTube script at its default length (8 minutes,
about 1,100 words) and at the longest YouTube allows (20 minutes, about 2,700
words) has at least 90 % distinct word 4-grams. Same request and
seed, same script in another process.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from vgkit.agents.measures import (
    distinct_ngram_fraction,
    repeated_sentences,
    term_present,
    words,
)
from vgkit.api import agenerate
from vgkit.loadtest import load_topics
from vgkit.models import Style
from vgkit.platforms import Platform

#: Every sixth bundled topic: 46 topics across every category of the list.
TOPICS = [t.text for t in load_topics()][::6]
MIN_DISTINCT_4GRAMS = 0.9


def _styles() -> list[Style]:
    return list(Style)


@pytest.mark.parametrize("style", _styles())
async def test_no_plan_repeats_a_sentence(style: Style) -> None:
    assert len(TOPICS) >= 40
    for topic in TOPICS:
        result = await agenerate(topic, style=style)
        for platform, plan in result.plans.items():
            texts = [seg.text for seg in plan.script.segments]
            assert repeated_sentences(texts) == [], (topic, platform)


@pytest.mark.parametrize("style", _styles())
async def test_long_youtube_scripts_are_varied(style: Style) -> None:
    fractions = []
    for topic in TOPICS:
        result = await agenerate(topic, platforms=["youtube"], style=style)
        plan = result.plans[Platform.YOUTUBE]
        tokens = words(" ".join(seg.text for seg in plan.script.segments))
        assert len(tokens) > 1000, topic
        fractions.append(distinct_ngram_fraction(tokens, 4))
    assert min(fractions) >= MIN_DISTINCT_4GRAMS, min(fractions)


@pytest.mark.parametrize("style", [Style.EDUCATIONAL, Style.VIRAL])
async def test_youtube_scripts_at_the_longest_length_are_varied(style: Style) -> None:
    fractions = []
    for topic in TOPICS[::4]:
        result = await agenerate(topic, platforms=["youtube"], style=style, duration=1200)
        plan = result.plans[Platform.YOUTUBE]
        texts = [seg.text for seg in plan.script.segments]
        assert repeated_sentences(texts) == [], topic
        tokens = words(" ".join(texts))
        assert len(tokens) > 2500, topic  # the pool does not run dry: pace stays near the norm
        fractions.append(distinct_ngram_fraction(tokens, 4))
    assert min(fractions) >= MIN_DISTINCT_4GRAMS, min(fractions)


def test_the_same_request_and_seed_write_the_same_script_in_another_process() -> None:
    code = (
        "import vgkit; r = vgkit.generate('How tides work', platforms=['youtube'], seed=7); "
        "print(r.plans['youtube'].script.to_json())"
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
        ).stdout
        for _ in range(2)
    ]
    assert runs[0] == runs[1]
    assert len(runs[0]) > 5000


def test_measures_count_repeats() -> None:
    assert repeated_sentences(["One two three. Four five!", "one  two THREE."]) == ["one two three"]
    assert distinct_ngram_fraction("a b c d a b c d".split(), 4) == 4 / 5
    assert distinct_ngram_fraction(["a", "b"], 4) == 1.0


@pytest.mark.parametrize(
    ("term", "text", "present"),
    [
        ("solar panels", "how solar panels work", True),
        ("solar panels", "solar power and panels", False),  # both words, not adjacent
        ("solar panels", "solar solar panels", True),  # the first word seen twice
        ("Solar-Panels!", "solar panels", True),  # the term's words, as tokenized
        ("panels", "solar panels", True),
        ("panel", "solar panels", False),  # whole words only
        ("large language models", "large language", False),  # longer than the text
        ("walking 10,000 steps", "walking 10 000 steps a day", True),
        ("...", "anything at all", False),  # no words: never present
        ("rate", "", False),
    ],
)
def test_term_present_finds_the_words_in_order_and_adjacent(
    term: str, text: str, present: bool
) -> None:
    tokens = words(text)
    assert term_present(term, tokens) is present
    assert term_present(term, tuple(tokens)) is present  # any sequence of tokens
