"""Rendering as part of the orchestrator's run: one graph, one event stream, one Gantt chart."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.video.conftest import decode
from vgkit import Orchestrator, VoiceError
from vgkit.events import Event, NodeFinished, NodeStarted, Progress, RunFinished, VideoReady
from vgkit.video import RenderConfig

pytestmark = pytest.mark.timeout(300)


async def test_render_nodes_join_the_pipeline_graph(tmp_path: Path) -> None:
    config = RenderConfig(preset="preview", out_dir=tmp_path / "out", cache_dir=tmp_path / "c")
    events: list[Event] = []
    async with Orchestrator(render=config) as orchestrator:
        result = await orchestrator.run(
            topic="Sourdough for beginners",
            platforms=["tiktok"],
            duration=15,
            on_event=events.append,
        )
    video = result.videos["tiktok"]  # type: ignore[index]
    assert video.path == tmp_path / "out" / "tiktok.mp4" and video.path.exists()
    assert len(decode(video.path, keep_frames=False).frame_times) == 450
    # The SRT beside it carries the spoken word times, not the plan's estimate.
    assert (tmp_path / "out" / "tiktok.srt").read_text().startswith("1\n00:00:00,040 --> ")

    graph, records = result.graph, result.schedule.records
    plan = result.plan("tiktok")
    shots = [f"shot:tiktok:{s.index}" for s in plan.storyboard.shots]
    assert set(graph.parents("narration:tiktok")) == {"assemble:tiktok"}
    for shot in shots:
        assert set(graph.parents(shot)) == {"assemble:tiktok", "narration:tiktok"}
        assert records[shot].status == "ok"
        start = records[shot].start
        assert start is not None and start >= (records["assemble:tiktok"].end or 0.0)
    transitions = [n for n in graph if n.startswith("transition:tiktok:")]
    for node in transitions:
        assert all(p.startswith("shot:tiktok:") for p in graph.parents(node))
    assert set(graph.parents("mux:tiktok")) == {*shots, *transitions, "soundtrack:tiktok"}
    assert not any(n.startswith("video:") for n in graph)
    frame = result.timings_frame()
    assert set(frame["node"]) >= {"mux:tiktok", "narration:tiktok", *shots}
    assert "mux:tiktok" in result.critical_path[0]
    result.gantt()

    started = {e.node for e in events if isinstance(e, NodeStarted)}
    finished = {e.node: e for e in events if isinstance(e, NodeFinished)}
    assert {"narration:tiktok", "mux:tiktok", *shots} <= started
    assert finished["mux:tiktok"].agent == "render" and finished["mux:tiktok"].status == "ok"
    ready = [e for e in events if isinstance(e, VideoReady)]
    assert len(ready) == 1 and ready[0].path == str(video.path) and ready[0].frames == 450
    progress = [e for e in events if isinstance(e, Progress)]
    assert progress[-1].done == progress[-1].total == len(graph)
    assert isinstance(events[-1], RunFinished)


async def test_bad_render_options_fail_before_any_agent_runs(tmp_path: Path) -> None:
    config = RenderConfig(voice="no-such-voice", out_dir=tmp_path / "out")
    events: list[Event] = []
    async with Orchestrator(render=config) as orchestrator:
        with pytest.raises(VoiceError):
            await orchestrator.run(topic="Solar", platforms=["tiktok"], on_event=events.append)
    assert events == []
