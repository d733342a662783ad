"""Request traces: the JSON Lines format, loading errors, and recording what the cache sees."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import vgkit
from vgkit import TuningError, VideoRequest
from vgkit.plan_cache import CacheIntegration
from vgkit.platforms import Platform
from vgkit.tuning import TraceRecorder, load_trace
from vgkit.tuning.trace import Trace, paused_recording, record_trace


def _write(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_trace_round_trips_and_is_timed_from_its_first_request(tmp_path: Path) -> None:
    file = _write(
        tmp_path / "t.jsonl",
        '{"ts": 1700000100.5, "request": {"topic": "B", "platforms": ["tiktok"], "seed": 2}}',
        "",
        '{"ts": 1700000000.25, "request": {"topic": "A", "style": "viral"}}',
    )
    trace = load_trace(file)
    assert [r.t for r in trace] == [0.0, 100.25]  # sorted, re-timed
    first, second = trace
    assert first.request == VideoRequest(topic="A", style="viral")
    assert second.request.platforms == (Platform.TIKTOK,) and second.request.seed == 2
    saved = trace.save(tmp_path / "again.jsonl")
    assert load_trace(saved).dumps() == trace.dumps()
    lines = [json.loads(x) for x in saved.read_text().splitlines()]
    # Defaults stay out of the file; topic and platforms are always there.
    assert lines[0]["request"] == {
        "topic": "A",
        "platforms": ["youtube", "tiktok", "instagram_reels"],
        "style": "viral",
    }
    assert trace.describe()["distinct_requests"] == 2


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", r"t\.jsonl:2: not JSON"),
        ('{"request": {"topic": "A"}}', r't\.jsonl:2: a trace line needs "ts"'),
        ('{"ts": "noon", "request": {"topic": "A"}}', r'"ts" must be a finite number'),
        ('{"ts": 1, "request": {"topic": "A", "platforms": ["vine"]}}', r"t\.jsonl:2: invalid"),
    ],
)
def test_bad_lines_are_named_by_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    file = _write(tmp_path / "t.jsonl", '{"ts": 0, "request": {"topic": "A"}}', line)
    with pytest.raises(TuningError, match=message):
        load_trace(file)


def test_missing_and_empty_traces_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(TuningError, match=r"cannot read the trace .*record one with"):
        load_trace(tmp_path / "nope.jsonl")
    with pytest.raises(TuningError, match="holds no requests"):
        load_trace(_write(tmp_path / "empty.jsonl", ""))


def test_split_keeps_the_clock() -> None:
    trace = Trace.from_pairs((float(t), VideoRequest(topic=f"T{t}")) for t in range(10))
    fit, rest = trace.split(0.5)
    assert [r.t for r in fit] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert [r.t for r in rest] == [4.5 + x for x in (0.5, 1.5, 2.5, 3.5, 4.5)]
    with pytest.raises(TuningError):
        trace.split(1.0)


def test_the_recorder_appends_one_line_per_request(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "rec.jsonl"
    with TraceRecorder(path, clock=lambda: 123.0) as recorder:
        recorder.record(VideoRequest(topic="A"))
        recorder.record(VideoRequest(topic="B", platforms=["tiktok"]), at=130.0)
    with TraceRecorder(path, clock=lambda: 140.0) as again:  # appends, never truncates
        again.record(VideoRequest(topic="C"))
    trace = load_trace(path)
    assert [(r.t, r.request.topic) for r in trace] == [(0.0, "A"), (7.0, "B"), (17.0, "C")]
    with pytest.raises(TuningError, match="closed"):
        recorder.record(VideoRequest(topic="D"))


async def test_a_cache_integration_records_what_it_is_asked_but_not_warming(
    tmp_path: Path,
) -> None:
    path = tmp_path / "seen.jsonl"
    cache = CacheIntegration.from_settings(directory=tmp_path / "l1", learn_templates=False)
    cache.recorder = TraceRecorder(path)
    async with cache:
        await vgkit.agenerate("How tides work", platforms=["tiktok"], cache=cache)
        await vgkit.agenerate("How tides work", platforms=["tiktok"], cache=cache)  # a hit
        await cache.warm(["youtube"], ["Why cats purr"])
    cache.recorder.close()
    trace = load_trace(path)
    assert [r.request.topic for r in trace] == ["How tides work", "How tides work"]


async def test_record_trace_reaches_integrations_built_inside_it(tmp_path: Path) -> None:
    path = tmp_path / "block.jsonl"
    with record_trace(path) as recorder:
        cache = CacheIntegration.from_settings(directory=tmp_path / "l1", learn_templates=False)
        async with cache:
            await vgkit.agenerate("Sourdough basics", platforms=["youtube"], cache=cache)
            with paused_recording():
                await vgkit.agenerate("Not recorded", platforms=["youtube"], cache=cache)
    assert recorder.count == 1
    assert [r.request.topic for r in load_trace(path)] == ["Sourdough basics"]
