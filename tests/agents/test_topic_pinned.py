"""Topic analysis outputs pinned byte for byte (it is optimised for speed; it must not drift)."""

from __future__ import annotations

import hashlib

import pytest

from vgkit.agents import SPECS, AgentCall, TemplateBackend
from vgkit.loadtest import load_topics
from vgkit.models import VideoRequest

#: (topic, style) -> (sha256 prefix of the artifact's JSON, category, keywords).
PINNED = {
    ("How solar panels turn sunlight into electricity", "educational"): (
        "277eeea9bb5a48df", "energy", ("solar panels", "sunlight", "electricity"),
    ),
    ("Sourdough bread for beginners", "tutorial"): (
        "e9460c6df065cabc", "food", ("sourdough bread", "beginners"),
    ),
    ("The history of the Roman Empire", "storytelling"): (
        "ea8307defa7c5433", "history", ("Roman Empire", "history"),
    ),
    ("Why do cats purr?", "entertainment"): ("22b7ed0c8ba3df8f", "lifestyle", ("cats purr",)),
    ("iPhone 15 vs Pixel 8: which camera wins", "viral"): (
        "fed97bfa90fe16cb", "arts", ("iPhone 15", "Pixel 8", "camera wins"),
    ),
    ("Marketing your Etsy shop on TikTok", "marketing"): (
        "f9dead41e4a17e11", "business", ("marketing", "Etsy shop", "TikTok"),
    ),
}  # fmt: skip
#: sha256 of every bundled topic's artifact JSON, in educational then viral style (changed
#: on purpose when the lexicon learned more verbs and adverbs, runs of three words became
#: one keyword and punctuation ended them: "models predict" and "large" were keywords of
#: "How large language models predict the next word", now "large language models" is).
ALL_TOPICS = "1f7e8ebf4e79468d90dd2566245e36a2973bf61876ba64c34d6f08d71609b0b3"


async def analyse(topic: str, style: str) -> str:
    request = VideoRequest(topic=topic, platforms=["tiktok"], style=style)
    artifact = await TemplateBackend().run(AgentCall(SPECS["topic_analysis"], request))
    return artifact.to_json()


@pytest.mark.parametrize(("topic", "style"), list(PINNED))
async def test_pinned_topics_give_the_same_bytes(topic: str, style: str) -> None:
    digest, category, keywords = PINNED[(topic, style)]
    text = await analyse(topic, style)
    assert hashlib.sha256(text.encode()).hexdigest()[:16] == digest, text
    assert f'"category": "{category}"' in text
    assert all(f'"{k}"' in text for k in keywords)


async def test_every_bundled_topic_gives_the_same_bytes() -> None:
    digest = hashlib.sha256()
    for topic in load_topics():
        for style in ("educational", "viral"):
            digest.update((await analyse(topic.text, style)).encode())
    assert digest.hexdigest() == ALL_TOPICS
