"""A quality score that can fail: it spreads over a grid, and plans made worse score lower and fail.

The grid here is the template half (40 bundled topics x 3 platforms); the
figures over 50 topics and the llm half are in the notebook and the report.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from vgkit.agents.quality import score_plan
from vgkit.api import agenerate
from vgkit.cli import main
from vgkit.errors import InvalidRequestError
from vgkit.loadtest import load_topics
from vgkit.models import Provenance, VideoPlan
from vgkit.platforms import Platform
from vgkit.quality import (
    DEGRADATIONS,
    degrade,
    quality_grid,
    spread,
    template_learning,
    with_provenance,
)

TOPICS = [t.text for t in load_topics()][::6][:40]
#: Which check each degradation must fail.
FAILS = {
    "duplicate_sentences": "coherence",
    "remove_topic_words": "coherence",
    "double_pace": "feasibility",
}


async def test_template_scores_spread_and_some_plans_fail() -> None:
    frame = await quality_grid(TOPICS)
    assert len(frame) == 3 * len(TOPICS)
    stats = spread(frame).loc["template"]
    # The library's structures write differently (topic-focused, filler-heavy, rushed,
    # a teaser before the hook), the seeded choice varies per topic, and the criteria
    # measure what that does to the plan: the scores spread and some plans fail.
    assert stats["overall_std"] >= 0.05  # measured 0.052 on this grid
    assert stats["coherence_std"] >= 0.1
    assert stats["engagement_std"] >= 0.05
    assert stats["feasibility_std"] >= 0.05
    assert 0.5 < stats["passed_share"] < 1.0
    assert frame["overall"].nunique() > 50


async def test_the_structures_that_write_worse_score_worse() -> None:
    frame = await quality_grid(TOPICS[::2], seed=1)
    plans: list[VideoPlan] = []
    for topic in TOPICS[::2]:
        result = await agenerate(topic, seed=1)
        plans.extend(result.plans.values())
    frame["structure"] = [p.script.structure_id.rsplit(".", 1)[1] for p in plans]
    means = frame.groupby("structure")["overall"].mean()
    # Topic-focused writing beats filler (coherence, the narration drifting off topic)
    # and a writer that crams 40 % more words in (pace, captions too fast to read).
    assert means["keyword_first"] > means["chatty"] + 0.05, means
    assert means["keyword_first"] > means["rapid_fire"] + 0.03, means
    passed = frame.groupby("structure")["passed"].mean()
    assert passed["keyword_first"] == 1.0 and passed["chatty"] < 0.5, passed


@pytest.mark.parametrize("how", list(DEGRADATIONS))
async def test_degraded_plans_score_lower_and_fail(how: str) -> None:
    passing = 0
    for topic in TOPICS[::4]:
        result = await agenerate(topic)
        for platform, plan in result.plans.items():
            assert plan.quality is not None
            worse = degrade(plan, how)
            assert worse.quality is not None
            assert worse.quality.overall < plan.quality.overall, (topic, platform)
            assert not worse.quality.passed, (topic, platform)
            if not plan.quality.passed:
                # A plan that already fails (a filler-heavy writer's, which hardly names
                # the topic) has less to lose: lower and failing is all there is to see.
                continue
            passing += 1
            assert worse.quality.overall < plan.quality.overall - 0.05, (topic, platform)
            failed = {c.name for c in worse.quality.checks() if not c.passed}
            assert FAILS[how] in failed, (topic, platform, failed)
    assert passing >= 20


async def test_degradations_do_what_they_say() -> None:
    plan = (await agenerate("How solar panels turn sunlight into electricity")).plans[
        Platform.YOUTUBE
    ]
    assert plan.quality is not None
    dup = degrade(plan, "duplicate_sentences").quality
    assert dup is not None and any("said more than once" in r for r in dup.coherence.reasons)
    gone = degrade(plan, "remove_topic_words")
    assert "solar" not in " ".join(s.text for s in gone.script.segments).lower()
    fast = degrade(plan, "double_pace")
    assert fast.duration == plan.duration / 2
    assert fast.quality is not None
    assert any("pace" in r for r in fast.quality.feasibility.reasons)
    with pytest.raises(InvalidRequestError, match="unknown degradation"):
        degrade(plan, "louder")


async def test_repairs_and_fallbacks_lower_coherence() -> None:
    plan = (await agenerate("How tides work", platforms=["tiktok"])).plans[Platform.TIKTOK]
    clean = score_plan(plan.model_copy(update={"provenance": Provenance(backend="llm", agents=7)}))
    messy = score_plan(
        plan.model_copy(
            update={
                "provenance": Provenance(
                    backend="llm", agents=7, repairs=3, fallbacks=4, fallback_agents=("script",)
                )
            }
        )
    )
    assert messy.coherence.score < clean.coherence.score
    assert any("fell back to templates" in r for r in messy.coherence.reasons)


async def test_template_learning_moves_towards_templates_that_score_higher() -> None:
    learning = await template_learning(TOPICS[:30], rounds=6)
    assert learning.kind == "structure" and len(learning.rounds) == 6
    rows = learning.templates
    assert abs(rows["p_after"].sum() - 1) < 1e-9
    rounds = learning.rounds
    # Measured: 0.60 -> 0.87 (the better 3 of 5 TikTok structures), correlation +0.94.
    assert rounds["p_better_half"].iloc[-1] >= rounds["p_better_half_before"].iloc[0] + 0.15
    assert rounds["mean_overall"].iloc[-1] > rounds["mean_overall"].iloc[0]
    assert learning.correlation() > 0.7
    best, worst = rows.iloc[0], rows.iloc[-1]
    assert best["p_after"] > best["p_before"] and worst["p_after"] < worst["p_before"]


def test_cli_scores_a_plan_file_and_fails_a_degraded_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["generate", "How tides work", "-p", "tiktok", "--out", str(tmp_path)]) == 0
    plan = tmp_path / "tiktok.json"
    capsys.readouterr()
    assert main(["quality", str(plan), "--strict"]) == 0
    assert "passes" in capsys.readouterr().out
    assert main(["quality", str(plan), "--degrade", "double_pace", "--strict"]) == 1
    out = capsys.readouterr().out
    assert "FAILS" in out and "LOW feasibility" in out and "narration pace" in out
    assert main(["quality", str(tmp_path / "missing.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vgkit: error: cannot read plan file") and "Traceback" not in err


async def test_notes_of_a_model_backed_run_become_the_plans_provenance() -> None:
    @dataclass
    class Note:
        source: str
        repairs: int = 0

    @dataclass
    class Noted:  # what a model-backed run returns: plans and a note per node
        plans: dict[Platform, VideoPlan]
        notes: dict[str, Note]

    result = await agenerate("How tides work", platforms=["tiktok", "youtube"])
    noted = Noted(
        plans=result.plans,
        notes={
            "topic_analysis": Note("model", repairs=1),
            "script:tiktok": Note("fallback", repairs=2),
            "hooks:tiktok": Note("model"),
            "script:youtube": Note("model"),
            "timing:tiktok": Note("computed"),
        },
    )
    plan = with_provenance(noted, Platform.TIKTOK, "llm")
    assert plan.provenance == Provenance(
        backend="llm", agents=3, repairs=3, fallbacks=1, fallback_agents=("script:tiktok",)
    )
    assert plan.quality is not None
    assert any("fell back to templates" in r for r in plan.quality.coherence.reasons)
    plain = await agenerate("How tides work", platforms=["tiktok"])
    assert with_provenance(plain, Platform.TIKTOK, "template").provenance is None
