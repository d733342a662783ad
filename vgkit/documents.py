"""Plans as documents: Markdown production notes, SubRip captions, DataFrames."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vgkit.platforms import preset

if TYPE_CHECKING:
    import pandas as pd

    from vgkit.models import VideoPlan

__all__ = ["format_timestamp", "plan_markdown", "plan_srt", "storyboard_frame"]


def format_timestamp(seconds: float, *, srt: bool = False) -> str:
    """``mm:ss.s`` for documents, ``HH:MM:SS,mmm`` for SubRip."""
    ms = round(seconds * 1000)
    if srt:
        h, rest = divmod(ms, 3_600_000)
        m, rest = divmod(rest, 60_000)
        s, ms = divmod(rest, 1000)
        return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"
    m, rest = divmod(ms, 60_000)
    return f"{m:02d}:{rest / 1000:04.1f}"


def plan_srt(plan: VideoPlan) -> str:
    blocks = []
    for i, cue in enumerate(plan.captions, start=1):
        start = format_timestamp(cue.start, srt=True)
        end = format_timestamp(cue.end, srt=True)
        blocks.append(f"{i}\n{start} --> {end}\n{cue.text}\n")
    return "\n".join(blocks)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def plan_markdown(plan: VideoPlan) -> str:
    p = preset(plan.platform)
    lines = [
        f"# {plan.title}",
        "",
        f"*{p.name} · {plan.duration:g} s · {plan.aspect_ratio} · "
        f"{plan.request.style.value} · plan {plan.plan_id}*",
        "",
        f"**Topic:** {plan.topic.topic}  ",
        f"**Angle:** {plan.topic.angle}  ",
        f"**Keywords:** {', '.join(plan.topic.keywords)}  ",
        f"**Hashtags:** {' '.join(plan.hashtags)}",
        "",
        "## Hook",
        "",
        f"> {plan.hooks.primary.text}",
        "",
        f"On screen: **{plan.hooks.primary.on_screen_text}** · Visual: {plan.hooks.primary.visual}",
    ]
    if plan.hooks.alternatives:
        lines += ["", "Alternatives:"]
        lines += [f"- {h.text}" for h in plan.hooks.alternatives]
    lines += ["", "## Script", ""]
    for seg in plan.script.segments:
        lines += [
            f"### {format_timestamp(seg.start)}-{format_timestamp(seg.end)} · {seg.title}",
            "",
            f"*{seg.kind} · {seg.speaker} · {seg.word_count} words · visual: {seg.visual_cue}*",
            "",
            seg.text,
            "",
        ]
    lines += [
        "## Storyboard",
        "",
        "| # | time | scene | shot | camera | description | overlay |",
        "|---|---|---|---|---|---|---|",
    ]
    scenes = {s.index: s for s in plan.storyboard.scenes}
    for shot in plan.storyboard.shots:
        scene = scenes[shot.scene_index]
        lines.append(
            f"| {shot.index + 1} | {format_timestamp(shot.start)} ({shot.duration:g} s) "
            f"| {_cell(scene.title)} | {shot.shot_type} | {_cell(shot.camera)} "
            f"| {_cell(shot.description)} | {_cell(shot.text_overlay or '')} |"
        )
    lines += ["", "## Transitions", ""]
    for t in plan.transitions.transitions:
        lines.append(
            f"- {format_timestamp(t.at)} scene {t.from_scene + 1} → {t.to_scene + 1}: "
            f"**{t.kind}** ({t.duration:g} s). {t.note}"
        )
    lines += ["", "## Calls to action", ""]
    for action in (plan.cta.primary, *plan.cta.secondary):
        lines.append(
            f"- {format_timestamp(action.at)} for {action.duration:g} s · **{action.kind}**: "
            f"{action.text} (on screen: {action.on_screen_text})"
        )
    if plan.quality is not None:
        q = plan.quality
        lines += [
            "",
            "## Quality",
            "",
            f"Overall **{q.overall:.2f}** · {'passed' if q.passed else 'failed'}",
            "",
            "| check | score | threshold | result | notes |",
            "|---|---|---|---|---|",
        ]
        for c in q.checks():
            notes = "; ".join(c.reasons) or "-"
            verdict = "pass" if c.passed else "FAIL"
            lines.append(
                f"| {c.name} | {c.score:.2f} | {c.threshold:.2f} | {verdict} | {_cell(notes)} |"
            )
    return "\n".join(lines) + "\n"


def storyboard_frame(plan: VideoPlan) -> pd.DataFrame:
    import pandas as pd

    scenes = {s.index: s for s in plan.storyboard.scenes}
    segments = {s.index: s for s in plan.script.segments}
    rows = []
    for shot in plan.storyboard.shots:
        scene = scenes[shot.scene_index]
        rows.append(
            {
                "shot": shot.index,
                "start": shot.start,
                "end": shot.end,
                "duration": shot.duration,
                "scene": scene.index,
                "scene_title": scene.title,
                "segment": segments[scene.segment_index].kind,
                "setting": scene.setting,
                "mood": scene.mood,
                "shot_type": shot.shot_type,
                "camera": shot.camera,
                "composition": shot.composition,
                "description": shot.description,
                "text_overlay": shot.text_overlay,
            }
        )
    return pd.DataFrame(rows)
