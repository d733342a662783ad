"""Quality validator: coherence, engagement, feasibility and platform compliance.

Each of the four scores is a weighted mean of criteria that measure the plan as
a viewer, an editor or a narrator would meet it, not its conformance to the
template generator's own rules (a template plan can fail them):

* **coherence**: topic coverage (share of body segments that say one of the
  topic's key terms, share of key terms said at all, key points spoken),
  repetition (distinct word 4-grams of the narration, sentences said twice),
  the structure (opens with the hook, closes with a call to action, outro or
  loop), and for model-written plans the repairs and fallbacks it took;
* **engagement**: hook length (the hook's words spoken at the platform's pace
  fit its hook window) and position (the narration opens with the hook),
  repeated sentences (a listener hears them), the longest stretch of narration
  that never names the topic (viewers drift), shot rhythm, a late main call
  to action;
* **feasibility**: speaking pace per segment against the platform's norm
  (words per minute of the preset), on-screen text that stays long enough to
  read, shots long enough to shoot, transitions shorter than half of the
  scenes they join;
* **platform compliance**: duration, aspect ratio, section lengths, platform
  features, caption cue lengths (no cue under 0.7 s or over 7 s, at most 20
  characters a second to read).

Every criterion scores in 0..1 and says why when it is below 1. The measures
live in :mod:`vgkit.agents.measures`; the thresholds in :data:`THRESHOLDS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vgkit.agents.base import AgentCall, AgentSpec
from vgkit.agents.measures import (
    distinct_ngram_fraction,
    repeat_share,
    sentences,
    term_present,
    words,
)
from vgkit.models import QualityCheck, QualityReport, VideoPlan
from vgkit.platforms import PlatformPreset, preset
from vgkit.templates import TemplateSource

__all__ = ["THRESHOLDS", "score_plan"]

SPEC = AgentSpec(
    name="quality_validator",
    step="quality",
    version="2.0.0",
    output=QualityReport,
    needs=("assemble",),
    kind="quality",
    description="Scores a plan on coherence, engagement, feasibility and platform compliance.",
    skills=("quality", "validation"),
    port=10306,
    seconds=1.5,
)

THRESHOLDS = {
    "coherence": 0.7,
    "engagement": 0.6,
    "feasibility": 0.7,
    "platform_compliance": 0.8,
}
MIN_SHOT_SECONDS = 0.8
#: Speaking pace, as a share of the platform's words per minute, that scores 1 ...
PACE_GOOD = (0.8, 1.15)
#: ... and that scores 0 (linear in between).
PACE_ZERO = (0.4, 1.6)
#: Distinct word 4-grams: 1 at or above the first, 0 at or below the second.
DISTINCT_GOOD, DISTINCT_ZERO = 0.9, 0.6
#: Share of body sentences that name a key term of the topic: 1 from the first, 0 at the second.
SPECIFIC_GOOD, SPECIFIC_ZERO = 0.5, 0.1
#: Seconds of narration without naming the topic: 1 up to the first, 0 from the second.
DRIFT_GOOD, DRIFT_ZERO = 20.0, 60.0
#: A share of repeated sentences this large scores 0.
REPEAT_ZERO = 0.25
#: Caption cues: shortest and longest time on screen (seconds).
CUE_SECONDS = (0.7, 7.0)
#: Fastest comfortable reading of captions and on-screen text (subtitle guides: 17-20).
READING_CHARS_PER_SECOND = 20.0
_BODY = ("intro", "chapter", "point", "value")


@dataclass
class _Score:
    """Weighted parts of one check; each part scores in 0..1 and may give a reason."""

    name: str
    parts: list[tuple[float, float]] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    def add(self, weight: float, score: float, reason: str | None = None) -> None:
        score = max(0.0, min(1.0, score))
        self.parts.append((weight, score))
        if reason and score < 1.0 - 1e-9:
            self.reasons.append(reason)

    def check(self) -> QualityCheck:
        total = sum(w for w, _ in self.parts) or 1.0
        score = round(sum(w * s for w, s in self.parts) / total, 4)
        threshold = THRESHOLDS[self.name]
        return QualityCheck(
            name=self.name,
            score=score,
            threshold=threshold,
            passed=score >= threshold,
            reasons=tuple(self.reasons),
        )


def _ramp(value: float, good: float, zero: float) -> float:
    """1 at ``good``, 0 at ``zero``, linear between (either direction)."""
    if good == zero:
        return 1.0 if value == good else 0.0
    return max(0.0, min(1.0, (value - zero) / (good - zero)))


def pace_score(ratio: float, *, upper_only: bool = False) -> float:
    """Score of a speaking pace given as a share of the platform's norm."""
    if ratio > PACE_GOOD[1]:
        return _ramp(ratio, PACE_GOOD[1], PACE_ZERO[1])
    if ratio < PACE_GOOD[0] and not upper_only:
        return _ramp(ratio, PACE_GOOD[0], PACE_ZERO[0])
    return 1.0


def _coherence(plan: VideoPlan, repeated: float) -> QualityCheck:
    s = _Score("coherence")
    segments = plan.script.segments
    tokens = [words(seg.text) for seg in segments]
    terms = [k for k in plan.topic.keywords if words(k)]
    body = [i for i, seg in enumerate(segments) if seg.kind in _BODY]
    if body and terms:
        silent = [i for i in body if not any(term_present(t, tokens[i]) for t in terms)]
        s.add(
            0.15,
            1 - len(silent) / len(body),
            f"segments {', '.join(str(segments[i].index) for i in silent)} never say a key "
            f"term of the topic ({', '.join(terms)})",
        )
        everything = [w for ws in tokens for w in ws]
        unsaid = [t for t in terms if not term_present(t, everything)]
        s.add(
            0.1,
            1 - len(unsaid) / len(terms),
            f"the narration never says {', '.join(repr(t) for t in unsaid)}",
        )
        said = [words(sentence) for i in body for sentence in sentences(segments[i].text)]
        specific = sum(1 for ws in said if any(term_present(t, ws) for t in terms))
        share = specific / len(said) if said else 0.0
        s.add(
            0.2,
            _ramp(share, SPECIFIC_GOOD, SPECIFIC_ZERO),
            f"only {share:.0%} of the body's sentences name the topic; the rest could be "
            f"said in any video (good from {SPECIFIC_GOOD:.0%})",
        )
    text = " ".join(seg.text.lower() for seg in segments)
    content = [seg for seg in segments if seg.kind in ("chapter", "point", "value")]
    expected = max(1, min(len(plan.topic.key_points), len(content)))
    covered_points = sum(1 for kp in plan.topic.key_points if kp.lower() in text)
    s.add(
        0.1,
        covered_points / expected,
        f"only {covered_points} of {expected} key points are spoken in the script",
    )
    all_words = [w for ws in tokens for w in ws]
    distinct = distinct_ngram_fraction(all_words, 4)
    s.add(
        0.15,
        _ramp(distinct, DISTINCT_GOOD, DISTINCT_ZERO),
        f"only {distinct:.0%} of the narration's word 4-grams are distinct "
        f"(repetitive below {DISTINCT_GOOD:.0%})",
    )
    s.add(
        0.25,
        1 - repeated / REPEAT_ZERO,
        f"{repeated:.0%} of the sentences are said more than once",
    )
    kinds = [seg.kind for seg in segments]
    s.add(0.025, 1.0 if kinds[0] == "hook" else 0.0, "the script does not open with the hook")
    closing = {"cta", "outro", "loop"}
    s.add(
        0.025,
        1.0 if closing & set(kinds[-2:]) else 0.0,
        "the script does not close with a call to action, outro or loop",
    )
    made = plan.provenance
    if made is not None and made.agents:
        fell_back = made.fallbacks / made.agents
        repaired = made.repairs / made.agents
        s.add(
            0.15,
            1 - fell_back - 0.5 * repaired,
            f"{made.fallbacks} of {made.agents} model-written artifacts fell back to "
            f"templates and {made.repairs} answers needed a repair",
        )
    return s.check()


def off_topic_stretch(plan: VideoPlan, terms: list[str]) -> float:
    """The longest stretch of narration, in seconds, whose sentences name no key term.

    A sentence's time is its segment's time shared out by words.
    """
    longest = run = 0.0
    for seg in plan.script.segments:
        said = [words(sentence) for sentence in sentences(seg.text)]
        total = sum(len(tokens) for tokens in said) or 1
        for tokens in said:
            if any(term_present(t, tokens) for t in terms):
                run = 0.0
            else:
                run += seg.duration * len(tokens) / total
                longest = max(longest, run)
    return longest


def _engagement(plan: VideoPlan, p: PlatformPreset, repeated: float) -> QualityCheck:
    s = _Score("engagement")
    first = plan.script.segments[0]
    lo, hi = p.hook_bounds
    hook_words = len(words(plan.hooks.primary.text))
    norm = p.words_per_minute / 60
    spoken = hook_words / norm
    s.add(
        0.15,
        1.0 if spoken <= hi + 1e-9 else hi / spoken,
        f"the hook takes {spoken:.1f} s to say ({hook_words} words); "
        f"{p.name} hooks land within {hi:g} s",
    )
    inside = lo - 1e-9 <= first.duration <= hi + 1e-9
    s.add(
        0.1,
        1.0 if inside else 0.5,
        f"the hook segment lasts {first.duration:g} s; {p.name} hooks work best at {lo:g}-{hi:g} s",
    )
    opens = (
        first.kind == "hook" and first.start == 0 and first.text.startswith(plan.hooks.primary.text)
    )
    s.add(0.1, 1.0 if opens else 0.0, "the narration does not open with the hook")
    s.add(
        0.2,
        1 - repeated / REPEAT_ZERO,
        f"a listener hears {repeated:.0%} of the sentences twice",
    )
    terms = [k for k in plan.topic.keywords if words(k)]
    stretch = off_topic_stretch(plan, terms)
    s.add(
        0.2,
        _ramp(stretch, DRIFT_GOOD, DRIFT_ZERO),
        f"the narration goes {stretch:.0f} s without naming the topic "
        f"(viewers drift after {DRIFT_GOOD:g} s)",
    )
    shots = plan.storyboard.shots
    mean_shot = plan.duration / len(shots)
    lo_shot, hi_shot = p.shot_length
    rhythm = (
        1.0 if lo_shot <= mean_shot <= hi_shot else min(mean_shot / lo_shot, hi_shot / mean_shot)
    )
    s.add(
        0.15,
        rhythm,
        f"shots last {mean_shot:.1f} s on average; "
        f"{p.name} viewers expect {lo_shot:g}-{hi_shot:g} s",
    )
    late = plan.cta.primary.at >= plan.duration * 2 / 3 - 1e-9
    s.add(0.1, 1.0 if late else 0.5, "the main call to action comes before the final third")
    return s.check()


def _feasibility(plan: VideoPlan, p: PlatformPreset) -> QualityCheck:
    s = _Score("feasibility")
    segments = plan.script.segments
    norm = p.words_per_minute / 60
    total = sum(seg.duration for seg in segments) or 1.0
    pace = 0.0
    odd = []
    for seg in segments:
        rate = len(words(seg.text)) / seg.duration
        # Hooks and loop endings may be mostly visual: only their upper bound applies.
        score = pace_score(rate / norm, upper_only=seg.kind in ("hook", "loop"))
        pace += score * seg.duration / total
        if score < 1.0:
            odd.append(f"{seg.index} ({rate:.1f})")
    s.add(
        0.45,
        pace,
        f"narration pace is off {p.name}'s {norm:.1f} words/s in segments " + ", ".join(odd),
    )
    shots = plan.storyboard.shots
    short = [shot for shot in shots if shot.duration < MIN_SHOT_SECONDS]
    s.add(
        0.2,
        1 - len(short) / len(shots),
        f"{len(short)} shots are shorter than {MIN_SHOT_SECONDS} s and hard to shoot",
    )
    overlays = [shot for shot in shots if shot.text_overlay]
    if overlays:
        hurried = [
            shot
            for shot in overlays
            if len(shot.text_overlay or "") / shot.duration > READING_CHARS_PER_SECOND
        ]
        s.add(
            0.15,
            1 - len(hurried) / len(overlays),
            f"{len(hurried)} of {len(overlays)} on-screen texts are gone before they can be "
            f"read (over {READING_CHARS_PER_SECOND:g} characters/s)",
        )
    scenes = {scene.index: scene for scene in plan.storyboard.scenes}
    transitions = plan.transitions.transitions
    too_long = [
        t
        for t in transitions
        if t.duration > min(scenes[t.from_scene].duration, scenes[t.to_scene].duration) / 2
    ]
    s.add(
        0.2,
        1 - len(too_long) / max(1, len(transitions)),
        f"{len(too_long)} transitions last longer than half of a scene they join",
    )
    return s.check()


def _compliance(plan: VideoPlan, p: PlatformPreset) -> QualityCheck:
    s = _Score("platform_compliance")
    s.add(
        0.25,
        1.0 if p.contains(plan.duration) else 0.0,
        f"duration {plan.duration:g} s is outside {p.min_duration:g}-{p.max_duration:g} s",
    )
    s.add(
        0.15,
        1.0 if plan.aspect_ratio == p.aspect_ratio else 0.0,
        f"aspect ratio {plan.aspect_ratio} is not {p.aspect_ratio}",
    )
    outside = []
    for seg in plan.script.segments:
        spec = p.section(seg.kind)
        if not spec.min - 1e-9 <= seg.duration <= spec.max + 1e-9:
            outside.append(
                f"{seg.kind} {seg.duration:g} s (recommended {spec.min:g}-{spec.max:g} s)"
            )
    s.add(
        0.2,
        1 - len(outside) / len(plan.script.segments),
        "sections outside their recommended length: " + "; ".join(outside),
    )
    features: list[str] = []
    if p.loop_ending and not plan.transitions.loop:
        features.append("no loop ending")
    if p.text_overlays and not any(shot.text_overlay for shot in plan.storyboard.shots):
        features.append("no text overlays")
    if (
        p.end_screen
        and not any(c.kind == "watch_next" for c in plan.cta.secondary)
        and plan.cta.primary.kind != "watch_next"
    ):
        features.append("no end screen")
    wrong_aspect = [
        shot.index for shot in plan.storyboard.shots if shot.aspect_ratio != p.aspect_ratio
    ]
    if wrong_aspect:
        features.append(f"{len(wrong_aspect)} shots framed for another aspect ratio")
    s.add(0.15, 1.0 if not features else 0.0, f"{p.name} features missing: " + ", ".join(features))
    cues = plan.captions
    if cues:
        short = sum(1 for c in cues if c.end - c.start < CUE_SECONDS[0] - 1e-9)
        long = sum(1 for c in cues if c.end - c.start > CUE_SECONDS[1] + 1e-9)
        fast = sum(
            1 for c in cues if len(c.text) / max(c.end - c.start, 1e-3) > READING_CHARS_PER_SECOND
        )
        bad = sum(
            1
            for c in cues
            if not CUE_SECONDS[0] - 1e-9 <= c.end - c.start <= CUE_SECONDS[1] + 1e-9
            or len(c.text) / max(c.end - c.start, 1e-3) > READING_CHARS_PER_SECOND
        )
        s.add(
            0.25,
            1 - bad / len(cues),
            f"{bad} of {len(cues)} caption cues are hard to read: {short} under "
            f"{CUE_SECONDS[0]:g} s, {long} over {CUE_SECONDS[1]:g} s, {fast} faster than "
            f"{READING_CHARS_PER_SECOND:g} characters/s",
        )
    return s.check()


def score_plan(plan: VideoPlan) -> QualityReport:
    """The quality report of ``plan`` (what the validator agent returns)."""
    p = preset(plan.platform)
    # The share of sentences heard before: both coherence and engagement score it.
    repeated = repeat_share(seg.text for seg in plan.script.segments)
    checks = (
        _coherence(plan, repeated),
        _engagement(plan, p, repeated),
        _feasibility(plan, p),
        _compliance(plan, p),
    )
    overall = round(sum(c.score for c in checks) / len(checks), 4)
    return QualityReport(
        platform=plan.platform,
        coherence=checks[0],
        engagement=checks[1],
        feasibility=checks[2],
        platform_compliance=checks[3],
        overall=overall,
        passed=all(c.passed for c in checks),
    )


async def run(call: AgentCall, templates: TemplateSource) -> QualityReport:
    assert call.platform is not None
    return score_plan(call.input("assemble", VideoPlan))
