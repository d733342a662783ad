"""The real mode: a trace through the real cache on a simulated clock, against the simulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from vgkit import VideoRequest
from vgkit.tuning import Candidate, EntryProfile, Trace, areplay, simulate
from vgkit.tuning.trace import record_trace

REQUEST = VideoRequest(topic="How tides work", platforms=["tiktok"])
KINDS_TTL = ("topic", "hooks", "script", "timing", "storyboard", "cta", "result", "quality")


def short_ttls(seconds: float) -> Candidate:
    config = Candidate(name=f"ttl {seconds:g}")
    for kind in (*KINDS_TTL, "request"):
        config = config.with_ttl(kind, "*", seconds)
    return config


async def test_ttls_are_honoured_on_the_simulated_clock(
    profile: EntryProfile, tmp_path: Path
) -> None:
    # An hour apart on the trace's clock, a few milliseconds apart on the wall clock.
    trace = Trace.from_pairs([(0.0, REQUEST), (3600.0, REQUEST)])
    expired = await areplay(trace, short_ttls(1800), profile=profile, directory=tmp_path / "a")
    assert (expired.hits, expired.request_hits, expired.expirations) == (0, 0, 11)
    kept = await areplay(trace, short_ttls(7200), profile=profile, directory=tmp_path / "b")
    assert (kept.hits, kept.request_hits) == (1, 1)
    assert kept.seconds_saved == pytest.approx(53.0)


async def test_sim_and_real_agree_exactly_without_a_size_limit(
    profile: EntryProfile, small_trace: Trace
) -> None:
    config = short_ttls(1800)  # expiries happen within the half day
    real = await areplay(small_trace, config, profile=profile, limit=None)
    sim = simulate(small_trace, config, profile=profile)
    assert real.requests == sim.requests == len(small_trace)
    assert real.expirations > 0 and real.hits > 0
    assert {k: (s.lookups, s.hits) for k, s in real.kinds.items()} == {
        k: (s.lookups, s.hits) for k, s in sim.kinds.items()
    }
    assert real.seconds_saved == pytest.approx(sim.seconds_saved)
    assert real.wall_seconds_saved == pytest.approx(sim.wall_seconds_saved)
    # Bytes are measured in real mode, modelled in the simulator: close, not equal.
    assert real.written_bytes == pytest.approx(sim.written_bytes, rel=0.25)
    assert real.peak_bytes == pytest.approx(sim.peak_bytes, rel=0.25)


@pytest.mark.parametrize("eviction", ["least-recently-used", "least-frequently-used"])
async def test_sim_and_real_agree_within_a_size_limit(
    profile: EntryProfile, small_trace: Trace, eviction: str
) -> None:
    unbounded = Candidate().with_ttl("request", "*", 604800)
    everything = simulate(small_trace, unbounded, profile=profile)
    config = unbounded.changed(l1_size=int(everything.peak_bytes / 3), eviction=eviction)
    real = await areplay(small_trace, config, profile=profile, limit=None)
    sim = simulate(small_trace, config, profile=profile)
    assert real.evictions > 0 and sim.evictions > 0
    assert sim.hit_ratio < everything.hit_ratio - 0.01  # the limit costs hits
    # diskcache's volume counts SQLite pages, the model bytes plus a measured overhead:
    # the two evict at slightly different moments, so agreement is close, not exact.
    assert real.hit_ratio == pytest.approx(sim.hit_ratio, abs=0.01)
    assert real.seconds_saved == pytest.approx(sim.seconds_saved, rel=0.05)


async def test_a_replay_never_records_into_an_active_trace(
    profile: EntryProfile, tmp_path: Path
) -> None:
    trace = Trace.from_pairs([(0.0, REQUEST)])
    with record_trace(tmp_path / "rec.jsonl") as recorder:
        await areplay(trace, Candidate(), profile=profile)
    assert recorder.count == 0
