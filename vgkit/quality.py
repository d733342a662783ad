"""Plan quality as a measurement: score plans, degrade them on purpose, watch templates learn.

::

    from vgkit.quality import degrade, quality_grid, score_plan, spread, template_learning

    score_plan(plan)                                 # the validator's report for any plan
    worse = degrade(plan, "duplicate_sentences")     # or remove_topic_words, double_pace
    frame = await quality_grid(topics, backends={"template": TemplateBackend()})
    spread(frame)                                    # std of each score per backend
    learning = await template_learning(topics, rounds=6)
    learning.rounds; learning.templates              # quality per round; p before/after

The criteria (repetition, topic coverage, speaking pace, hook length and
position, caption cues, on-screen text, a model's repairs and fallbacks) are
those of :mod:`vgkit.agents.quality`; this module is what experiments and
notebooks use to check that the score measures the plan: plans made worse on
purpose score lower and fail, scores spread over a grid, and the template
cache's effectiveness learning, fed these scores, moves its choices towards
the templates whose plans score higher.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vgkit.agents.assembler import segment_captions
from vgkit.agents.measures import sentences, words
from vgkit.agents.notes import provenance
from vgkit.agents.quality import THRESHOLDS, score_plan
from vgkit.errors import InvalidRequestError
from vgkit.models import Caption, ScriptSegment, VideoPlan
from vgkit.platforms import Platform, preset

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from vgkit.agents.base import Backend

__all__ = [
    "DEGRADATIONS",
    "THRESHOLDS",
    "LearningResult",
    "degrade",
    "degraded_table",
    "quality_grid",
    "score_plan",
    "spread",
    "template_learning",
    "with_provenance",
]

SCORES = ("overall", "coherence", "engagement", "feasibility", "platform_compliance")


def _with_texts(plan: VideoPlan, texts: Sequence[str], hook_text: str | None = None) -> VideoPlan:
    """``plan`` with new narration per segment (word counts and captions follow)."""
    segments = tuple(
        seg.model_copy(update={"text": text, "word_count": len(text.split())})
        for seg, text in zip(plan.script.segments, texts, strict=True)
    )
    script = plan.script.model_copy(
        update={"segments": segments, "word_count": sum(s.word_count for s in segments)}
    )
    hooks = plan.hooks
    if hook_text is not None:
        hooks = hooks.model_copy(
            update={"primary": hooks.primary.model_copy(update={"text": hook_text})}
        )
    return plan.model_copy(
        update={"script": script, "hooks": hooks, "captions": _captions(plan, segments)}
    )


def _captions(plan: VideoPlan, segments: Sequence[ScriptSegment]) -> tuple[Caption, ...]:
    p = preset(plan.platform)
    cues: list[Caption] = []
    for seg in segments:
        cues.extend(segment_captions(seg, p.caption_max_words, p.caption_max_chars, len(cues)))
    return tuple(cues)


def _duplicate_sentences(plan: VideoPlan) -> VideoPlan:
    """Every second sentence of the narration replaced by the one before it, each
    segment kept at its number of words (so the pace does not move)."""
    said = [sentences(seg.text) for seg in plan.script.segments]
    flat = [s for group in said for s in group]
    doubled = [flat[i - i % 2] for i in range(len(flat))]
    texts, at = [], 0
    for seg, group in zip(plan.script.segments, said, strict=True):
        size = len(seg.text.split())
        pool = doubled[at : at + len(group)] or [seg.text]
        tokens: list[str] = []
        while len(tokens) < size:
            for sentence in pool:
                tokens.extend(sentence.split())
        texts.append(" ".join(tokens[:size]))
        at += len(group)
    return _with_texts(plan, texts)


def _remove_topic_words(plan: VideoPlan) -> VideoPlan:
    """The words of the topic's keywords deleted from the narration and the hook."""
    banned = {w for k in plan.topic.keywords for w in words(k)}

    def scrub(text: str) -> str:
        kept = [t for t in text.split() if not set(words(t)) & banned]
        return " ".join(kept) or "..."

    hook = scrub(plan.hooks.primary.text)
    texts = []
    for seg in plan.script.segments:
        text = seg.text
        if seg.index == 0 and text.startswith(plan.hooks.primary.text):
            text = hook + text[len(plan.hooks.primary.text) :]
        texts.append(scrub(text))
    return _with_texts(plan, texts, hook_text=hook)


def _half(value: float) -> float:
    return round(value / 2, 3)


def _double_pace(plan: VideoPlan) -> VideoPlan:
    """The same narration, shots and captions in half the time (every time halved)."""

    def halved(item: Any, *names: str) -> Any:
        return item.model_copy(update={n: _half(getattr(item, n)) for n in names})

    script = plan.script.model_copy(
        update={
            "segments": tuple(halved(s, "start", "duration") for s in plan.script.segments),
            "duration": _half(plan.script.duration),
        }
    )
    storyboard = plan.storyboard.model_copy(
        update={
            "scenes": tuple(halved(s, "start", "duration") for s in plan.storyboard.scenes),
            "shots": tuple(halved(s, "start", "duration") for s in plan.storyboard.shots),
        }
    )
    transitions = plan.transitions.model_copy(
        update={
            "transitions": tuple(halved(t, "at", "duration") for t in plan.transitions.transitions)
        }
    )
    cta = plan.cta.model_copy(
        update={
            "primary": halved(plan.cta.primary, "at", "duration"),
            "secondary": tuple(halved(c, "at", "duration") for c in plan.cta.secondary),
        }
    )
    hooks = plan.hooks.model_copy(update={"primary": halved(plan.hooks.primary, "duration")})
    return plan.model_copy(
        update={
            "duration": _half(plan.duration),
            "script": script,
            "storyboard": storyboard,
            "transitions": transitions,
            "cta": cta,
            "hooks": hooks,
            "captions": tuple(halved(c, "start", "end") for c in plan.captions),
        }
    )


#: Ways to make a plan worse on purpose, by name.
DEGRADATIONS: Mapping[str, Callable[[VideoPlan], VideoPlan]] = {
    "duplicate_sentences": _duplicate_sentences,
    "remove_topic_words": _remove_topic_words,
    "double_pace": _double_pace,
}


def degrade(plan: VideoPlan, how: str) -> VideoPlan:
    """``plan`` made worse on purpose (see :data:`DEGRADATIONS`), scored again.

    ``duplicate_sentences``: every second sentence is the one before it said
    again (each segment keeps its number of words); ``remove_topic_words``: the words of the topic's
    keywords deleted from the narration and the hook; ``double_pace``: every
    time in the plan halved, so the same words are spoken twice as fast.
    """
    try:
        change = DEGRADATIONS[how]
    except KeyError:
        raise InvalidRequestError(
            f"unknown degradation {how!r}; choose from {', '.join(DEGRADATIONS)}"
        ) from None
    worse = change(plan)
    return worse.model_copy(update={"quality": score_plan(worse)})


def degraded_table(plans: Iterable[VideoPlan]) -> pd.DataFrame:
    """Each plan and each of its degradations (:data:`DEGRADATIONS`): one row each,
    with the overall score, whether it passes and the checks it fails."""
    import pandas as pd

    rows = []
    for plan in plans:
        base = {"topic": plan.request.topic}
        rows.append(plan_row(plan, **base, version="original"))
        for how in DEGRADATIONS:
            rows.append(plan_row(degrade(plan, how), **base, version=how))
    return pd.DataFrame(rows)


def plan_row(plan: VideoPlan, **columns: Any) -> dict[str, Any]:
    """One table row of a plan's scores (``columns`` first)."""
    q = plan.quality if plan.quality is not None else score_plan(plan)
    row: dict[str, Any] = {**columns, "platform": plan.platform.value}
    row["overall"] = q.overall
    for check in q.checks():
        row[check.name] = check.score
    row["passed"] = q.passed
    row["failed_checks"] = ",".join(c.name for c in q.checks() if not c.passed)
    row["reasons"] = sum(len(c.reasons) for c in q.checks())
    return row


async def quality_grid(
    topics: Sequence[str],
    *,
    platforms: Sequence[str | Platform] = tuple(Platform),
    backends: Mapping[str, Backend] | None = None,
    style: str = "educational",
    styles: Sequence[str] | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Quality scores of every topic x platform x backend: one row per plan.

    ``backends``: name -> backend (default: the template backend). ``styles``:
    the i-th topic gets ``styles[i % len(styles)]`` (default: ``style`` for
    all). Runs fail loudly: a backend that cannot make a plan raises.
    """
    import pandas as pd

    from vgkit.agents.template import TemplateBackend
    from vgkit.orchestrator import Orchestrator

    chosen = dict(backends) if backends is not None else {"template": TemplateBackend()}
    wanted = tuple(Platform(p) for p in platforms)
    rows = []
    for name, backend in chosen.items():
        orchestrator = Orchestrator(backend=backend)
        for i, topic in enumerate(topics):
            chosen_style = styles[i % len(styles)] if styles else style
            result = await orchestrator.run(
                topic=topic, platforms=wanted, style=chosen_style, seed=seed
            )
            for platform in wanted:
                plan = with_provenance(result, platform, name)
                rows.append(plan_row(plan, backend=name, topic=topic, style=chosen_style))
    return pd.DataFrame(rows)


def with_provenance(result: Any, platform: Platform, backend: str) -> VideoPlan:
    """The plan of ``platform``, with the repairs and fallbacks a model-backed backend
    noted for its nodes (``result.notes``, node -> note) and scored with them; the plan
    as it is when nothing was noted."""
    plan: VideoPlan = result.plans[platform]
    if plan.provenance is not None:  # the orchestrator's run noted and scored it already
        return plan
    made = provenance(getattr(result, "notes", None) or {}, platform.value, backend)
    if made is None:
        return plan
    scored = plan.model_copy(update={"provenance": made})
    return scored.model_copy(update={"quality": score_plan(scored)})


def spread(frame: pd.DataFrame) -> pd.DataFrame:
    """Standard deviation (population) of each score per backend, with the mean and
    the share of plans that pass."""
    grouped = frame.groupby("backend")
    out = grouped[list(SCORES)].std(ddof=0).add_suffix("_std")
    out["overall_mean"] = grouped["overall"].mean()
    out["passed_share"] = grouped["passed"].mean()
    out["plans"] = grouped.size()
    return out


@dataclass(frozen=True)
class LearningResult:
    """What :func:`template_learning` saw.

    ``rounds``: one row per round (mean overall score of its plans, share
    passing, and after the round the probability of choosing a template from
    the better-scoring half of the watched kind; ``p_better_half_before``: the
    same before learning). ``templates``: one row per template of the watched kind: the mean
    overall score of the plans that used it in the first round, its choice
    probability before learning and after the last round, and the change.
    """

    rounds: pd.DataFrame
    templates: pd.DataFrame
    kind: str
    platform: str

    def plot(self) -> Figure:
        """Two panels: mean overall score per round, and each template's change of
        choice probability against the mean score of the plans that used it."""
        from matplotlib.figure import Figure

        fig = Figure(figsize=(11, 4), layout="constrained")
        left, right = fig.subplots(1, 2)
        rounds = self.rounds
        xs = [-1, *rounds["round"]]
        ys = [rounds["p_better_half_before"].iloc[0], *rounds["p_better_half"]]
        left.plot(xs, ys, marker="o")
        left.set_xlabel("after round (-1: before learning)")
        left.set_ylabel("probability of a better-half template")
        left.set_title(f"{self.kind} templates on {self.platform}: choices after each round")
        left.grid(alpha=0.3)
        rows = self.templates.dropna(subset=["quality"])
        right.scatter(rows["quality"], rows["p_change"] * 100, s=12 + rows["plans"])
        right.axhline(0, color="grey", lw=0.8)
        right.set_xlabel("mean overall score of the plans that used it")
        right.set_ylabel("change of choice probability (points; size: plans)")
        right.set_title(f"correlation {self.correlation():+.2f}")
        right.grid(alpha=0.3)
        return fig

    def correlation(self) -> float:
        """Correlation of a template's first-round quality with its change of probability."""
        rows = self.templates.dropna(subset=["quality"])
        if len(rows) < 3:
            return float("nan")
        return float(rows["quality"].corr(rows["p_change"]))


async def template_learning(
    topics: Sequence[str],
    *,
    rounds: int = 6,
    platform: str = "tiktok",
    kind: str = "structure",
    style: str = "educational",
    boost: float = 20.0,
    quantum: float = 0.01,
    pseudo: float = 5.0,
) -> LearningResult:
    """Generate ``topics`` for ``rounds`` rounds through a learning template cache.

    Each round uses a new seed (so choices explore), credits every plan's
    overall quality to the templates it used (as the cache integration does),
    then flushes, which re-weights the next round's choices. The first round
    runs without evidence; from then on the prior is the mean score recorded
    (the template cache's default), so a template gains weight for scoring
    above the typical plan, not for being used. The
    watched ``kind`` of template (structures by default: their writers differ in
    how much of the narration names the topic, its pace, whether sections say
    their key points and where the hook lands) is tabulated: each template's
    mean score over every plan that used it, and its choice probability before
    and after.
    """
    import pandas as pd

    from vgkit.agents.template import TemplateBackend
    from vgkit.cache.templates import TemplateCache
    from vgkit.orchestrator import Orchestrator
    from vgkit.plan_cache import plan_template_ids

    if rounds < 2 or not topics:
        raise InvalidRequestError("template learning needs at least 2 rounds and one topic")
    target = Platform(platform)
    # The prior is the mean score of everything recorded (the cache's default), so a
    # template gains weight for beating the typical plan; finer buckets and a stronger
    # boost than the cache's defaults make a few rounds of evidence visible.
    cache = TemplateCache(boost=boost, quantum=quantum, pseudo=pseudo)
    used_by: dict[str, list[float]] = defaultdict(list)
    per_round = []
    chances: list[dict[str, float]] = []
    before: dict[str, float] = {}
    for r in range(rounds):
        orchestrator = Orchestrator(backend=TemplateBackend(cache))
        plans = []
        for topic in topics:
            result = await orchestrator.run(topic=topic, platforms=(target,), style=style, seed=r)
            plans.append(result.plans[target])
        scores = [p.quality.overall for p in plans if p.quality is not None]
        if r == 0:
            before = _probabilities(cache, kind, target.value, style)
        for plan, score in zip(plans, scores, strict=True):
            used = plan_template_ids(plan)
            cache.record(used, score)
            for template_id in used:
                used_by[template_id].append(score)
        await cache.flush()
        chances.append(_probabilities(cache, kind, target.value, style))
        per_round.append(
            {
                "round": r,
                "mean_overall": statistics.fmean(scores),
                "min_overall": min(scores),
                "passed_share": statistics.fmean(
                    1.0 if p.quality is not None and p.quality.passed else 0.0 for p in plans
                ),
                "plans": len(scores),
            }
        )
    after = _probabilities(cache, kind, target.value, style)
    rows = [
        {
            "template": tid,
            "quality": statistics.fmean(used_by[tid]) if used_by.get(tid) else float("nan"),
            "plans": len(used_by.get(tid, [])),
            "p_before": before[tid],
            "p_after": after.get(tid, 0.0),
        }
        for tid in before
    ]
    templates = pd.DataFrame(rows)
    known = templates.dropna(subset=["quality"])
    better = set(known[known["quality"] >= known["quality"].median()]["template"])
    frame = pd.DataFrame(per_round)
    frame["p_better_half"] = [sum(p for t, p in c.items() if t in better) for c in chances]
    frame.insert(1, "p_better_half_before", sum(p for t, p in before.items() if t in better))
    templates["p_change"] = templates["p_after"] - templates["p_before"]
    templates = templates.sort_values("quality", ascending=False, ignore_index=True)
    return LearningResult(rounds=frame, templates=templates, kind=kind, platform=target.value)


def _probabilities(cache: Any, kind: str, platform: str, style: str) -> dict[str, float]:
    pool = cache.candidates(kind, platform=platform, style=style)
    total = sum(t.weight for t in pool) or 1.0
    return {t.id: t.weight / total for t in pool}
