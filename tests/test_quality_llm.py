"""The llm half of the quality grid, on recorded plans.

``tests/data/llm_plans.jsonl.gz`` holds plans the local SmolLM2-135M wrote through the
llm backend (every generative agent, TikTok and Reels, styles rotating over the bundled
topics; recorded once: about 8 minutes per topic on this busy 2-core machine, so the
test scores the recordings instead of asking the model again). The plans are scored
again with today's validator: the scores spread, sit well below the template
backend's, and every degraded plan fails.
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
    assert len(plans) >= 4
    for plan in plans:
        assert plan.provenance is not None and plan.provenance.backend == "llm"
        assert plan.provenance.agents >= 6  # every generative agent asked the model


def test_llm_scores_spread_and_fall_below_the_template_plans() -> None:
    plans = recorded_plans()
    scores = [score_plan(p).overall for p in plans]
    assert statistics.pstdev(scores) >= 0.05, scores
    assert statistics.fmean(scores) < 0.85 and min(scores) < 0.75, scores
    failing = [p for p in plans if not score_plan(p).passed]
    assert len(failing) >= len(plans) // 2  # a 135M-parameter model's plans mostly fail


@pytest.mark.parametrize("how", list(DEGRADATIONS))
def test_degraded_llm_plans_fail(how: str) -> None:
    for plan in recorded_plans():
        original = score_plan(plan)
        worse = degrade(plan, how).quality
        assert worse is not None
        assert not worse.passed, (plan.request.topic, plan.platform)
        # These plans already repeat themselves, so saying every second sentence twice
        # does not always lower them further; the other two degradations always do.
        if how != "duplicate_sentences":
            assert worse.overall < original.overall, (plan.request.topic, plan.platform)
