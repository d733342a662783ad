"""Quality validator: coherence, engagement, feasibility and platform compliance."""

from __future__ import annotations

from dataclasses import dataclass, field

from vgkit.agents.base import AgentCall, AgentSpec
from vgkit.models import QualityCheck, QualityReport, VideoPlan
from vgkit.platforms import PlatformPreset, preset
from vgkit.templates import TemplateSource

SPEC = AgentSpec(
    name="quality_validator",
    step="quality",
    version="1.0.0",
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
#: Comfortable narration speed, words per second.
SPEECH_RATE = (1.5, 3.3)
MIN_SHOT_SECONDS = 0.8


@dataclass
class _Score:
    """Weighted parts of one check; each part scores in 0..1 and may give a reason."""

    name: str
    parts: list[tuple[float, float]] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    def add(self, weight: float, score: float, reason: str | None = None) -> None:
        score = max(0.0, min(1.0, score))
        self.parts.append((weight, score))
        if reason and score < 1.0:
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


def _coherence(plan: VideoPlan) -> QualityCheck:
    s = _Score("coherence")
    keywords = [k.lower() for k in plan.topic.keywords]
    body = [seg for seg in plan.script.segments if seg.kind not in ("hook", "loop")]
    if body:
        covered = [seg for seg in body if any(k in seg.text.lower() for k in keywords)]
        missing = [str(seg.index) for seg in body if seg not in covered]
        s.add(
            0.4,
            len(covered) / len(body),
            f"segments {', '.join(missing)} never mention the topic's keywords",
        )
    text = " ".join(seg.text.lower() for seg in plan.script.segments)
    content = [seg for seg in plan.script.segments if seg.kind in ("chapter", "point", "value")]
    expected = max(1, min(len(plan.topic.key_points), len(content)))
    covered_points = sum(1 for kp in plan.topic.key_points if kp.lower() in text)
    s.add(
        0.3,
        covered_points / expected,
        f"only {covered_points} of {expected} key points are spoken in the script",
    )
    kinds = [seg.kind for seg in plan.script.segments]
    s.add(0.15, 1.0 if kinds[0] == "hook" else 0.0, "the script does not open with the hook")
    closing = {"cta", "outro", "loop"}
    s.add(
        0.15,
        1.0 if closing & set(kinds[-2:]) else 0.0,
        "the script does not close with a call to action, outro or loop",
    )
    return s.check()


def _engagement(plan: VideoPlan, p: PlatformPreset) -> QualityCheck:
    s = _Score("engagement")
    hook = plan.script.segments[0]
    lo, hi = p.hook_bounds
    inside = lo - 1e-9 <= hook.duration <= hi + 1e-9
    s.add(
        0.3,
        1.0 if inside else 0.5,
        f"the hook lasts {hook.duration:g} s; {p.name} hooks work best at {lo:g}-{hi:g} s",
    )
    rate = hook.word_count / hook.duration
    s.add(
        0.2,
        1.0 if rate <= SPEECH_RATE[1] else SPEECH_RATE[1] / rate,
        f"the hook is spoken at {rate:.1f} words/s, too fast to land",
    )
    shots = plan.storyboard.shots
    mean_shot = plan.duration / len(shots)
    lo_shot, hi_shot = p.shot_length
    rhythm = (
        1.0 if lo_shot <= mean_shot <= hi_shot else min(mean_shot / lo_shot, hi_shot / mean_shot)
    )
    s.add(
        0.3,
        rhythm,
        f"shots last {mean_shot:.1f} s on average; "
        f"{p.name} viewers expect {lo_shot:g}-{hi_shot:g} s",
    )
    late = plan.cta.primary.at >= plan.duration * 2 / 3 - 1e-9
    s.add(0.2, 1.0 if late else 0.5, "the main call to action comes before the final third")
    return s.check()


def _feasibility(plan: VideoPlan) -> QualityCheck:
    s = _Score("feasibility")
    segments = plan.script.segments
    lo, hi = SPEECH_RATE
    # Hooks and loop endings may be mostly visual: only their upper bound applies.
    odd = [
        seg
        for seg in segments
        if seg.word_count / seg.duration > hi
        or (seg.kind not in ("hook", "loop") and seg.word_count / seg.duration < lo)
    ]
    s.add(
        0.4,
        1 - len(odd) / len(segments),
        "narration speed is outside 1.5-3.3 words/s in segments "
        + ", ".join(f"{seg.index} ({seg.word_count / seg.duration:.1f})" for seg in odd),
    )
    shots = plan.storyboard.shots
    short = [shot for shot in shots if shot.duration < MIN_SHOT_SECONDS]
    s.add(
        0.3,
        1 - len(short) / len(shots),
        f"{len(short)} shots are shorter than {MIN_SHOT_SECONDS} s and hard to shoot",
    )
    scenes = {scene.index: scene for scene in plan.storyboard.scenes}
    transitions = plan.transitions.transitions
    too_long = [
        t
        for t in transitions
        if t.duration > min(scenes[t.from_scene].duration, scenes[t.to_scene].duration) / 2
    ]
    s.add(
        0.3,
        1 - len(too_long) / max(1, len(transitions)),
        f"{len(too_long)} transitions last longer than half of a scene they join",
    )
    return s.check()


def _compliance(plan: VideoPlan, p: PlatformPreset) -> QualityCheck:
    s = _Score("platform_compliance")
    s.add(
        0.3,
        1.0 if p.contains(plan.duration) else 0.0,
        f"duration {plan.duration:g} s is outside {p.min_duration:g}-{p.max_duration:g} s",
    )
    s.add(
        0.2,
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
        0.3,
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
    s.add(0.2, 1.0 if not features else 0.0, f"{p.name} features missing: " + ", ".join(features))
    return s.check()


async def run(call: AgentCall, templates: TemplateSource) -> QualityReport:
    assert call.platform is not None
    plan = call.input("assemble", VideoPlan)
    p = preset(call.platform)
    checks = (_coherence(plan), _engagement(plan, p), _feasibility(plan), _compliance(plan, p))
    overall = round(sum(c.score for c in checks) / len(checks), 4)
    return QualityReport(
        platform=call.platform,
        coherence=checks[0],
        engagement=checks[1],
        feasibility=checks[2],
        platform_compliance=checks[3],
        overall=overall,
        passed=all(c.passed for c in checks),
    )
