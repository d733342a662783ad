"""The llm half of the quality grid, on recorded plans.

``tests/data/llm_plans.jsonl.gz`` holds plans the local SmolLM2-135M wrote through the
llm backend (every generative agent asked; TikTok and Reels for every fifth bundled
topic, YouTube for every seventh, styles rotating), recorded with
``scripts/record_llm_plans.py`` (2-8 minutes per topic on this 2-core machine, so the
test scores the recordings instead of asking the model again). The plans are scored
again with today's validator: the scores spread on every platform, sit well below the
template backend's, and every degraded plan fails.
"""

from __future__ import annotations

import gzip
import statistics
from pathlib import Path

import pytest

from vgkit.models import VideoPlan
from vgkit.quality import DEGRADATIONS, degrade, score_plan

RECORDED = Path(__file__).parent / "data" / "llm_plans.jsonl.gz"


def recorded_plans() -> list[VideoPlan]:
    with gzip.open(RECORDED, "rt", encoding="utf-8") as lines:
        return [VideoPlan.from_json(line) for line in lines if line.strip()]


def test_recorded_llm_plans_are_valid_and_noted() -> None:
    plans = recorded_plans()
    assert len(plans) >= 40
    assert {p.platform.value for p in plans} == {"tiktok", "instagram_reels", "youtube"}
    for plan in plans:
        assert plan.provenance is not None and plan.provenance.backend == "llm"
        assert plan.provenance.agents >= 6  # every generative agent asked the model


def test_llm_scores_spread_and_fall_below_the_template_plans() -> None:
    plans = recorded_plans()
    scores = [score_plan(p).overall for p in plans]
    assert statistics.pstdev(scores) >= 0.05, scores
    for platform in ("tiktok", "instagram_reels", "youtube"):  # not one platform's offset
        mine = [score_plan(p).overall for p in plans if p.platform.value == platform]
        assert statistics.pstdev(mine) >= 0.03, (platform, mine)
    assert statistics.fmean(scores) < 0.85 and min(scores) < 0.75, scores
    failing = [p for p in plans if not score_plan(p).passed]
    assert len(failing) >= len(plans) // 2  # a 135M-parameter model's plans mostly fail


@pytest.mark.parametrize("how", list(DEGRADATIONS))
def test_degraded_llm_plans_score_lower_and_fail(how: str) -> None:
    """Made worse on purpose, the model's plans fail and score lower, on the whole.

    Not every single plan scores lower: the small model's plans are often too slow, so
    halving their time (the pace doubled) brings some closer to the platform's pace; plans
    that already repeat themselves or hardly name the topic have little left to lose to
    repeating sentences or deleting topic words (measured over 140 plans: 106, 119 and 124
    score lower; one duplicated plan still passes). The template backend's plans, which
    start out good, always score lower and fail (tests/test_quality.py).
    """
    plans = recorded_plans()
    before = [score_plan(p) for p in plans]
    after = [degrade(p, how).quality for p in plans]
    assert all(q is not None for q in after)
    worse = [q for q in after if q is not None]
    passing = [(p.request.topic, p.platform.value) for p, q in zip(plans, worse, strict=True)
               if q.passed]  # fmt: skip
    assert len(passing) <= len(plans) // 50, passing
    lower = sum(w.overall < b.overall for w, b in zip(worse, before, strict=True))
    assert lower >= 0.75 * len(plans), (lower, len(plans))
    mean_before = statistics.fmean(b.overall for b in before)
    assert statistics.fmean(w.overall for w in worse) <= mean_before - 0.04
