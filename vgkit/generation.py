"""What one orchestrator run produced: plans, timings, failures, cache figures."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vgkit.agents.notes import CallNote
from vgkit.dag import DAG
from vgkit.errors import GenerationError
from vgkit.models import VideoPlan, VideoRequest
from vgkit.platforms import Platform
from vgkit.scheduler import ScheduleResult
from vgkit.tracing import Span, spans_frame

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from vgkit.video import RenderResult, VideoOutput

__all__ = ["GenerationResult"]


@dataclass(frozen=True)
class GenerationResult:
    """Everything one run produced: plans, timings, failures, cache figures."""

    session_id: str
    request: VideoRequest
    executor: str
    plans: dict[Platform, VideoPlan]
    schedule: ScheduleResult
    graph: DAG
    cache_hits: dict[str, int] = field(default_factory=dict)
    cache_misses: dict[str, int] = field(default_factory=dict)
    seconds_saved: float = 0.0
    cache_tiers: dict[str, str] = field(default_factory=dict)
    """Node id -> the cache tier that answered it (``request`` for a whole-run hit)."""
    notes: dict[str, CallNote] = field(default_factory=dict)
    """Node id -> how a model-backed backend answered it (model, repairs, fallback);
    empty for the template and A2A backends, and for nodes served by the cache."""
    videos: dict[Platform, VideoOutput] = field(default_factory=dict)
    """The rendered video of each platform, when the orchestrator renders
    (``Orchestrator(render=...)``); its render nodes are in ``schedule`` and ``graph``."""
    render_cache_hits: tuple[str, ...] = ()
    """Render nodes the clip cache answered."""
    render_errors: dict[Platform, BaseException] = field(default_factory=dict)
    """Platform -> the error that stopped its render (empty when every video was made)."""
    spans: tuple[Span, ...] = ()
    """The run's trace (``vgkit.tracing``): its run span, a span per agent call, and the
    spans remote agents recorded for their calls, in the order they ended."""
    trace_id: str = ""

    def trace_frame(self) -> pd.DataFrame:
        """One row per span of the run's trace, by start: ids, name, kind, host, pid,
        agent, node, cache outcome, status, start, end, duration and ``offset`` (seconds
        since the run began); remote agents' rows carry their own host and pid."""
        return spans_frame(self.spans)

    def waterfall(self, ax: Any = None, title: str | None = None) -> Figure:
        """The run's trace as a waterfall: a bar per span, nested under its parent, one
        colour per host and process (``vgkit.plots.waterfall``)."""
        from vgkit.plots import waterfall

        return waterfall(self.trace_frame(), ax=ax, title=title)

    @property
    def repairs(self) -> dict[str, int]:
        """Node id -> invalid model answers sent back to be corrected (nodes with any)."""
        return {n: note.repairs for n, note in self.notes.items() if note.repairs}

    @property
    def fallbacks(self) -> dict[str, str]:
        """Node id -> why the template agent's artifact stood in for the model's."""
        notes = self.notes.items()
        return {n: note.fallback or "" for n, note in notes if note.source == "fallback"}

    def notes_frame(self) -> pd.DataFrame:
        """One row per node a model-backed backend answered: source, calls, repairs, tokens."""
        import pandas as pd

        columns = ["node", *CallNote.__dataclass_fields__]
        rows = [{"node": node, **note.as_dict()} for node, note in self.notes.items()]
        return pd.DataFrame(rows, columns=columns)

    @property
    def ok(self) -> bool:
        """Whether every requested platform got a plan with a quality report."""
        return all(
            p in self.plans and self.plans[p].quality is not None for p in self.request.platforms
        )

    @property
    def makespan(self) -> float:
        return self.schedule.makespan

    @property
    def failures(self) -> dict[str, str]:
        """Node id -> why it failed or was skipped."""
        return {**self.schedule.failed, **self.schedule.skipped}

    @property
    def critical_path(self) -> tuple[list[str], float]:
        """The longest chain of measured node durations, and its length in seconds."""
        return self.schedule.critical_path

    def plan(self, platform: Platform | str) -> VideoPlan:
        """The plan for one platform; GenerationError says why it is missing."""
        key = Platform(platform)
        if key in self.plans:
            return self.plans[key]
        reasons = {n: r for n, r in self.failures.items() if n.endswith(f":{key.value}")}
        raise GenerationError(f"no plan for {key.value}", reasons)

    def timings_frame(self) -> pd.DataFrame:
        return self.schedule.timings_frame()

    def render(self, out: str | os.PathLike[str], **options: Any) -> RenderResult:
        """Render every plan into ``out`` (a directory: PLATFORM.mp4 each; or a ``.mp4``
        for a one-platform result); options as :func:`vgkit.video.render`."""
        from vgkit.video import render

        return render(self, out, **options)

    def gantt(self, ax: Any = None, title: str | None = None) -> Figure:
        return self.schedule.gantt(ax=ax, title=title or f"{self.executor} executor")

    def summary_frame(self) -> pd.DataFrame:
        """One row per plan: duration, counts and quality scores."""
        import pandas as pd

        rows = []
        for platform, plan in self.plans.items():
            row: dict[str, Any] = {
                "platform": platform.value,
                "title": plan.title,
                "duration": plan.duration,
                "segments": len(plan.script.segments),
                "words": plan.script.word_count,
                "scenes": len(plan.storyboard.scenes),
                "shots": len(plan.storyboard.shots),
                "captions": len(plan.captions),
            }
            if plan.quality is not None:
                row["overall"] = plan.quality.overall
                row.update({c.name: c.score for c in plan.quality.checks()})
                row["passed"] = plan.quality.passed
            rows.append(row)
        return pd.DataFrame(rows)

    def summary(self) -> str:
        """The text the CLI prints after a run."""
        path, length = self.critical_path
        lines = [
            f"session {self.session_id} · {len(self.graph)} nodes · executor {self.executor}",
            f"makespan {self.makespan:.3f} s · critical path {length:.3f} s ({' -> '.join(path)})",
        ]
        hits, misses = sum(self.cache_hits.values()), sum(self.cache_misses.values())
        if "request" in self.cache_hits:
            lines.append(f"cache: served whole from the cache, {self.seconds_saved:.2f} s saved")
        elif hits or misses:
            lines.append(f"cache: {hits} hits, {misses} misses, {self.seconds_saved:.2f} s saved")
        if self.notes:
            model = sum(1 for n in self.notes.values() if n.source == "model")
            calls = sum(n.model_calls for n in self.notes.values())
            tokens = sum(n.completion_tokens for n in self.notes.values())
            fallbacks = self.fallbacks
            line = (
                f"llm: {model} agent calls written by the model ({calls} completions, "
                f"{tokens} tokens), {sum(self.repairs.values())} repairs, "
                f"{len(fallbacks)} fallbacks to the template agents"
            )
            lines.append(line + (f" ({', '.join(fallbacks)})" if fallbacks else ""))
        for platform in self.request.platforms:
            plan = self.plans.get(platform)
            if plan is None:
                lines.append(f"{platform.value:<16} FAILED")
                continue
            q = plan.quality
            verdict = (
                f"quality {q.overall:.2f} ({'pass' if q.passed else 'FAIL'})" if q else "no quality"
            )
            lines.append(
                f"{platform.value:<16} {plan.duration:>7g} s · {len(plan.script.segments):>2} "
                f"segments · {len(plan.storyboard.shots):>3} shots · {verdict} · {plan.title}"
            )
        for platform, video in self.videos.items():
            loud = f", {video.loudness:.1f} LUFS" if video.loudness is not None else ""
            lines.append(
                f"{platform.value:<16} video {video.width}x{video.height} · {video.frames} frames"
                f"{loud} -> {video.path}"
            )
        for node, reason in self.failures.items():
            lines.append(f"  {node}: {reason}")
        return "\n".join(lines)
